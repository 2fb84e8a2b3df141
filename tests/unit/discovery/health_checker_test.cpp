#include "discovery/health_checker.h"

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "discovery/registry.h"
#include "discovery/store.h"
#include "fakes.h"

namespace {

using csp::discovery::CheckObserver;
using csp::discovery::HealthChecker;
using csp::discovery::HealthCheckerOptions;
using csp::discovery::HealthStatus;
using csp::discovery::Registration;
using csp::discovery::Registry;
using csp::discovery::RegistryOptions;
using csp::discovery::Store;
using csp::discovery::testing::FakeClock;
using csp::discovery::testing::FakeHttpClient;

struct Fixture {
  FakeClock clock;
  std::unique_ptr<Store> store = std::move(*Store::Open(":memory:"));
  Registry registry{clock, *store, RegistryOptions{3}};
  FakeHttpClient http;
  std::atomic<int> passed{0};
  std::atomic<int> failed{0};
  std::atomic<int> evicted_ping{0};
  std::atomic<int> evicted_ttl{0};

  CheckObserver Observer() {
    CheckObserver o;
    o.on_check = [this](bool ok) { ++(ok ? passed : failed); };
    o.on_evicted = [this](std::string_view reason, size_t n) {
      (reason == "ping" ? evicted_ping : evicted_ttl) += static_cast<int>(n);
    };
    return o;
  }

  std::string Add(const std::string& name, const std::string& ping_url, int64_t ttl = 0) {
    Registration r;
    r.service_name = name;
    r.service_url = "http://" + name;
    r.ping_url = ping_url;
    r.ttl_seconds = ttl;
    auto result = registry.Register(r);
    REQUIRE(result.ok());
    return result->registry_id;
  }
};

HealthCheckerOptions Options(int concurrency = 4) {
  HealthCheckerOptions o;
  o.interval = std::chrono::hours(1);  // the background loop is not used by these tests
  o.timeout = std::chrono::milliseconds(250);
  o.concurrency = concurrency;
  return o;
}

}  // namespace

TEST_SUITE("discovery.health_checker") {
  TEST_CASE("a 2xx ping passes - failures make an entry critical then evict it") {
    Fixture f;
    std::string good = f.Add("good", "http://good/ping");
    std::string bad = f.Add("bad", "http://bad/ping");
    std::string refused = f.Add("refused", "http://refused/ping");
    std::string quiet = f.Add("quiet", "");
    f.http.SetStatus("http://good/ping", 204);
    f.http.SetStatus("http://bad/ping", 500);
    f.http.SetStatus("http://refused/ping", 0);
    HealthChecker checker(f.registry, f.http, Options(), f.Observer());

    checker.Tick();
    CHECK(f.http.Calls("http://good/ping") == 1);
    CHECK(f.http.TotalCalls() == 3);  // nothing to ping for "quiet"
    CHECK(f.http.LastTimeout() == std::chrono::milliseconds(250));
    CHECK(f.registry.Get(good)->status == HealthStatus::kPassing);
    CHECK(f.registry.Get(bad)->status == HealthStatus::kCritical);
    CHECK(f.registry.Get(refused)->status == HealthStatus::kCritical);
    CHECK(f.registry.Get(quiet)->status == HealthStatus::kPassing);
    CHECK(f.passed == 1);
    CHECK(f.failed == 2);

    f.http.SetStatus("http://bad/ping", 200);  // recovers
    checker.Tick();
    CHECK(f.registry.Get(bad)->status == HealthStatus::kPassing);
    CHECK(f.registry.Get(bad)->failures() == 0);
    CHECK(f.registry.Get(refused)->failures() == 2);

    checker.Tick();
    CHECK_FALSE(f.registry.Get(refused).has_value());
    CHECK(f.evicted_ping == 1);
    CHECK(f.registry.Get(good).has_value());
    CHECK(f.registry.Get(bad).has_value());
    checker.Tick();
    CHECK(f.http.Calls("http://refused/ping") == 3);  // gone: no more checks
  }

  TEST_CASE("a round runs at most `concurrency` checks at once") {
    Fixture f;
    for (int i = 0; i < 10; ++i) f.Add("s" + std::to_string(i), "http://s" + std::to_string(i) + "/ping");
    HealthChecker checker(f.registry, f.http, Options(3), f.Observer());
    f.http.Hold();
    std::thread round([&] { checker.Tick(); });
    REQUIRE(f.http.WaitForRunning(3));
    CHECK(f.http.Running() == 3);
    f.http.Release();
    round.join();
    CHECK(f.http.TotalCalls() == 10);
    CHECK(f.http.MaxRunning() == 3);
    CHECK(f.passed == 10);
  }

  TEST_CASE("an entry whose check is still running is not checked again") {
    Fixture f;
    f.Add("slow", "http://slow/ping");
    HealthChecker checker(f.registry, f.http, Options(4), f.Observer());
    f.http.Hold();
    std::thread first([&] { checker.Tick(); });
    REQUIRE(f.http.WaitForRunning(1));
    // A second round while the first check hangs: nothing new to start, returns at once.
    checker.Tick();
    CHECK(f.http.Calls("http://slow/ping") == 1);
    f.http.Release();
    first.join();
    checker.Tick();
    CHECK(f.http.Calls("http://slow/ping") == 2);
  }

  TEST_CASE("each round expires TTLs on the injected clock") {
    Fixture f;
    std::string id = f.Add("ttl", "", 5);
    HealthChecker checker(f.registry, f.http, Options(), f.Observer());
    checker.Tick();
    CHECK(f.registry.Get(id)->status == HealthStatus::kPassing);
    f.clock.Advance(std::chrono::seconds(5));
    checker.Tick();
    CHECK(f.registry.Get(id)->status == HealthStatus::kCritical);
    f.clock.Advance(std::chrono::seconds(10));
    checker.Tick();
    CHECK_FALSE(f.registry.Get(id).has_value());
    CHECK(f.evicted_ttl == 1);
    CHECK(f.http.TotalCalls() == 0);
  }

  TEST_CASE("the background loop checks at once - stop waits for the running check then nothing runs") {
    Fixture f;
    f.Add("a", "http://a/ping");
    HealthChecker checker(f.registry, f.http, Options(1), f.Observer());
    f.http.Hold();
    checker.Start();
    REQUIRE(f.http.WaitForRunning(1));
    std::thread stopper([&] { checker.Stop(); });
    f.http.Release();
    stopper.join();
    CHECK(f.http.Calls("http://a/ping") == 1);
    checker.Stop();  // idempotent
    checker.Tick();  // after Stop: starts nothing
    CHECK(f.http.Calls("http://a/ping") == 1);
  }
}
