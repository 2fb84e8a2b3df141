#include <doctest/doctest.h>

#include "csp/http/metrics.h"

using namespace csp::http;

TEST_SUITE("http") {
  TEST_CASE("prometheus text rendering") {
    MetricsRegistry reg;
    auto& c = reg.AddCounter("requests_total", "Requests");
    c.Inc({{"route", "/a"}, {"status", "200"}});
    c.Inc({{"route", "/a"}, {"status", "200"}}, 2);
    auto& g = reg.AddGauge("docs", "Documents");
    g.Set(7);
    auto& h = reg.AddHistogram("lat_seconds", "Latency", {0.1, 1});
    h.Observe(0.05);
    h.Observe(0.5);
    h.Observe(5);
    reg.AddGaugeFunction("jobs", "Jobs", [] {
      return std::vector<std::pair<Labels, double>>{{{{"status", "run\"ning"}}, 2}};
    });
    std::string text = reg.Render();
    CHECK(text.find("# TYPE requests_total counter") != std::string::npos);
    CHECK(text.find("requests_total{route=\"/a\",status=\"200\"} 3") != std::string::npos);
    CHECK(text.find("docs 7") != std::string::npos);
    CHECK(text.find("lat_seconds_bucket{le=\"0.1\"} 1") != std::string::npos);
    CHECK(text.find("lat_seconds_bucket{le=\"1\"} 2") != std::string::npos);
    CHECK(text.find("lat_seconds_bucket{le=\"+Inf\"} 3") != std::string::npos);
    CHECK(text.find("lat_seconds_count 3") != std::string::npos);
    CHECK(text.find("jobs{status=\"run\\\"ning\"} 2") != std::string::npos);
    CHECK(c.Get({{"route", "/a"}, {"status", "200"}}) == 3);
    CHECK(h.Count() == 3);
  }
}
