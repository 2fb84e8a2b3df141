#include <doctest/doctest.h>
#include <unistd.h>

#include "flags.h"
#include "measure.h"

using csp::bench::Flags;

TEST_SUITE("bench.flags") {
  TEST_CASE("both spellings, repeats, and the last value wins") {
    auto f = Flags::Parse({"--count", "10", "--pid=a=1", "--pid", "b=2", "--count", "12"}, {"count", "pid"});
    REQUIRE(f.ok());
    CHECK(*f->Int("count", 0) == 12);
    CHECK(f->All("pid") == std::vector<std::string>{"a=1", "b=2"});
    CHECK(*f->Int("threads", 4) == 4);
    CHECK(f->Missing({"count", "discovery"}) == std::vector<std::string>{"--discovery"});
  }

  TEST_CASE("bad input names the problem") {
    CHECK(Flags::Parse({"--nope", "1"}, {"count"}).error().message == "unknown flag --nope");
    CHECK(Flags::Parse({"--count"}, {"count"}).error().message == "--count: needs a value");
    CHECK(Flags::Parse({"count"}, {"count"}).error().message == "unexpected argument 'count'");
    auto f = Flags::Parse({"--count", "-3"}, {"count"});
    REQUIRE(f.ok());
    CHECK_FALSE(f->Int("count", 0).ok());
  }
}

TEST_SUITE("bench.measure") {
  TEST_CASE("nearest-rank percentiles") {
    std::vector<double> v;
    for (int i = 100; i >= 1; --i) v.push_back(i);
    CHECK(csp::bench::Percentile(v, 50) == 50);
    CHECK(csp::bench::Percentile(v, 99) == 99);
    CHECK(csp::bench::Percentile(v, 100) == 100);
    CHECK(csp::bench::Percentile({7}, 50) == 7);
    CHECK(csp::bench::Percentile({}, 50) == 0);
    auto s = csp::bench::LatencySummary({1, 2, 3, 4});
    CHECK(s.Find("p50")->AsDouble() == 2);
    CHECK(s.Find("mean")->AsDouble() == doctest::Approx(2.5));
  }

  TEST_CASE("sums a histogram's _sum series, leaving out the excluded label") {
    const char* text =
        "# TYPE http_request_duration_seconds histogram\n"
        "http_request_duration_seconds_bucket{method=\"POST\",route=\"/execute\",le=\"+Inf\"} 3\n"
        "http_request_duration_seconds_sum{method=\"POST\",route=\"/execute\"} 0.25\n"
        "http_request_duration_seconds_sum{method=\"GET\",route=\"/forms\"} 0.5\n"
        "http_request_duration_seconds_sum{method=\"GET\",route=\"/metrics\"} 9\n"
        "http_request_duration_seconds_sum_other 100\n"
        "http_request_duration_seconds_count{method=\"POST\",route=\"/execute\"} 3\n";
    CHECK(csp::bench::SumOfSeries(text, "http_request_duration_seconds", "route=\"/metrics\"") ==
          doctest::Approx(0.75));
    CHECK(csp::bench::SumOfSeries(text, "http_request_duration_seconds", "") == doctest::Approx(9.75));
  }

  TEST_CASE("name=pid flags") {
    auto p = csp::bench::ParseNamedPid("job-control=1234");
    REQUIRE(p.ok());
    CHECK(p->name == "job-control");
    CHECK(p->pid == 1234);
    CHECK_FALSE(csp::bench::ParseNamedPid("1234").ok());
    CHECK_FALSE(csp::bench::ParseNamedPid("=1").ok());
    CHECK_FALSE(csp::bench::ParseNamedPid("a=x").ok());
    auto all = csp::bench::ParseNamedPids({"engine=1", "server=22"});
    REQUIRE(all.ok());
    REQUIRE(all->size() == 2);
    CHECK((*all)[1].name == "server");
    CHECK((*all)[1].pid == 22);
    auto bad = csp::bench::ParseNamedPids({"engine=1", "oops"});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("oops") != std::string::npos);
  }

  TEST_CASE("CPU time of this process grows with work") {
    auto before = csp::bench::CpuSeconds(getpid());
    REQUIRE(before.ok());
    volatile double x = 0;
    for (int i = 0; i < 50'000'000; ++i) x = x + 1.0 / (i + 1);
    auto after = csp::bench::CpuSeconds(getpid());
    REQUIRE(after.ok());
    CHECK(*after > *before);
    CHECK_FALSE(csp::bench::CpuSeconds(-5).ok());
  }

  TEST_CASE("tally keeps the first error") {
    csp::bench::Tally t;
    t.Ok();
    t.Fail("first");
    t.Fail("second");
    CHECK(t.ok() == 1);
    CHECK(t.failed() == 2);
    CHECK(t.first_error() == "first");
  }
}
