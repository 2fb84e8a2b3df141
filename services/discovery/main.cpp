// discovery: the registry of running services. Wiring only; see README.md.

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>

#include "csp/config/command_line.h"
#include "csp/core/clock.h"
#include "csp/core/time.h"
#include "csp/http/metrics.h"
#include "csp/http/router.h"
#include "csp/http/server.h"
#include "csp/http_client/client.h"
#include "csp/log/log.h"
#include "discovery/health_checker.h"
#include "discovery/registry.h"
#include "discovery/routes.h"
#include "discovery/store.h"
#include "discovery/wait_list.h"

namespace po = boost::program_options;

namespace {

constexpr int64_t kMaxEvictAfter = 1000;
constexpr int64_t kMaxConcurrency = 256;
constexpr size_t kMaxPingResponseBytes = 64 * 1024;
constexpr std::chrono::seconds kLongestPoll{300};  // RouteOptions::max_wait

// One line on stderr and exit code 2, like every other bad flag.
int BadFlag(const std::string& problem) {
  std::cerr << "discovery: " << problem << "\n";
  return 2;
}

std::string DatabasePath(const std::string& data_dir) {
  if (data_dir == csp::sqlite::kInMemory) return std::string(csp::sqlite::kInMemory);
  return data_dir + "/discovery.db";
}

}  // namespace

int main(int argc, char** argv) {
  csp::http::BlockTerminationSignals();

  csp::config::CommandLine cl("discovery", "Registry of services: register, renew, find, health checks.", 4000);
  cl.AddDuration("check-interval", "10s", "how often every registered pingURL is checked");
  cl.AddDuration("check-timeout", "2s", "how long one health check may take");
  cl.Add()("evict-after", po::value<int64_t>()->default_value(3),
           "consecutive failed checks (or missed TTLs) before a service is dropped");
  cl.Add()("check-concurrency", po::value<int64_t>()->default_value(16), "health checks running at once, at most");
  if (auto code = cl.Parse(argc, argv)) return *code;
  const auto& common = cl.common();

  csp::discovery::HealthCheckerOptions check_options;
  check_options.interval = *cl.GetDuration("check-interval");
  check_options.timeout = *cl.GetDuration("check-timeout");
  int64_t evict_after = cl.GetInt("evict-after");
  int64_t concurrency = cl.GetInt("check-concurrency");
  if (check_options.interval.count() <= 0) return BadFlag("--check-interval must be more than 0");
  if (check_options.timeout.count() <= 0) return BadFlag("--check-timeout must be more than 0");
  if (evict_after < 1 || evict_after > kMaxEvictAfter) {
    return BadFlag("--evict-after must be between 1 and " + std::to_string(kMaxEvictAfter));
  }
  if (concurrency < 1 || concurrency > kMaxConcurrency) {
    return BadFlag("--check-concurrency must be between 1 and " + std::to_string(kMaxConcurrency));
  }
  check_options.concurrency = static_cast<int>(concurrency);

  if (auto level = csp::log::ParseLevel(common.log_level)) csp::log::SetLevel(*level);
  csp::log::Logger log("discovery");

  auto store = csp::discovery::Store::Open(DatabasePath(common.data_dir));
  if (!store) {
    log.Error("cannot open the store", {{"error", store.error().message}});
    return 1;
  }
  csp::SystemClock clock;
  csp::discovery::Registry registry(clock, **store, {static_cast<int>(evict_after)});
  if (auto s = registry.Load(); !s) {
    log.Error("cannot load the registry", {{"error", s.error().message}});
    return 1;
  }
  csp::discovery::WaitList waits;
  registry.SetChangeListener([&waits](uint64_t index) { waits.Notify(index); });
  waits.Notify(registry.index());

  csp::http::MetricsRegistry metrics;
  metrics.AddGaugeFunction("discovery_registrations", "Registered service instances by health status", [&registry] {
    std::vector<std::pair<csp::http::Labels, double>> out;
    for (auto [status, count] : registry.CountByStatus()) {
      out.push_back({{{"status", std::string(csp::discovery::StatusName(status))}}, static_cast<double>(count)});
    }
    return out;
  });
  metrics.AddGaugeFunction("discovery_watchers", "Blocking queries waiting for a change", [&waits] {
    return std::vector<std::pair<csp::http::Labels, double>>{{{}, static_cast<double>(waits.size())}};
  });
  auto& checks = metrics.AddCounter("discovery_health_checks_total", "Health checks by result");
  auto& evictions = metrics.AddCounter("discovery_evictions_total", "Entries dropped by failed pings or missed TTLs");

  // Pings need no body: a small response cap keeps a hostile pingURL from costing memory
  // (a larger reply fails the check).
  csp::http_client::CurlOptions curl_options;
  curl_options.max_response_bytes = kMaxPingResponseBytes;
  curl_options.user_agent = "csp-discovery";
  csp::http_client::CurlClient http_client(curl_options);
  csp::discovery::CheckObserver observer;
  observer.on_check = [&checks](bool passed) { checks.Inc({{"result", passed ? "passing" : "critical"}}); };
  observer.on_evicted = [&evictions](std::string_view reason, size_t count) {
    evictions.Inc({{"reason", std::string(reason)}}, static_cast<double>(count));
  };
  csp::discovery::HealthChecker checker(registry, http_client, check_options, observer);

  csp::http::Router router;
  csp::discovery::RouteOptions route_options;
  route_options.max_wait = kLongestPoll;
  csp::discovery::AddRoutes(router, registry, waits, route_options);
  auto server_options = csp::http::ServerOptionsFrom(common, "discovery");
  server_options.longest_reply = std::chrono::duration_cast<std::chrono::seconds>(kLongestPoll);
  server_options.health = [&registry] {
    csp::http::HealthReport report;
    auto s = registry.PingStore();
    report.ok = s.ok();
    report.details.Set("store", s.ok() ? "ok" : s.error().message);
    report.details.Set("registrations", registry.size());
    if (!s.ok()) report.details.Set("failing", "store");
    return report;
  };
  csp::http::Server server(std::move(server_options), std::move(router), metrics);
  if (auto s = server.Start(); !s) {
    log.Error("cannot start the server", {{"error", s.error().message}});
    return 1;
  }
  checker.Start();
  log.Info("ready", {{"entries", registry.size()},
                     {"checkInterval", csp::FormatDuration(check_options.interval)},
                     {"evictAfter", evict_after}});

  int sig = csp::http::WaitForTerminationSignal();
  log.Info("shutting down", {{"signal", sig}});
  server.BeginDrain();
  waits.Stop();  // parked blocking queries answer now, so the drain does not wait for them
  server.Shutdown(std::chrono::seconds(5));
  checker.Stop();
  return 0;
}
