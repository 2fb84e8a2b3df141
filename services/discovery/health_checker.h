#pragma once
// Pings every registered pingURL and expires TTLs (spec 10-discovery "Health checks").
//
// A round: Registry::ExpireTtls(), then `GET pingURL` (any 2xx passes) for every entry with a
// pingURL whose previous check is not still running, on a pool of at most `concurrency`
// threads, each result applied with Registry::RecordCheck. The background loop starts a round
// every `interval` without waiting for the previous round's slow checks, so one dead service
// never delays the others, and no entry is ever checked twice at once. Network I/O happens
// outside the registry's lock: a check never blocks a request.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "csp/http_client/client.h"
#include "csp/log/log.h"
#include "discovery/registry.h"

namespace csp::discovery {

struct HealthCheckerOptions {
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds timeout{2'000};
  int concurrency = 16;
};

// Hooks for metrics; each may be empty. Called from the checker's threads.
struct CheckObserver {
  std::function<void(bool passed)> on_check;
  std::function<void(std::string_view reason, size_t count)> on_evicted;  // "ping" or "ttl"
};

class HealthChecker {
 public:
  HealthChecker(Registry& registry, http_client::Client& client, HealthCheckerOptions options,
                CheckObserver observer = {});
  ~HealthChecker();  // Stop()
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Starts the background loop: a round at once, then one every interval.
  void Start();
  // Stops the loop, drops queued checks and waits for running ones (each bounded by the
  // timeout). Idempotent.
  void Stop();

  // One round, synchronously: returns when every check it started has been applied. Checks
  // already running (from the background loop) are not repeated. For tests and tools.
  void Tick();

 private:
  struct Round {
    size_t remaining = 0;
  };
  struct Job {
    PingTarget target;
    std::shared_ptr<Round> round;  // null for background rounds
  };

  // Expires TTLs and queues a check for every target not in flight; returns how many.
  size_t Dispatch(const std::shared_ptr<Round>& round);
  void EnsureWorkersLocked();
  void Loop();
  void Work();
  void Check(const PingTarget& target);

  Registry& registry_;
  http_client::Client& client_;
  HealthCheckerOptions options_;
  CheckObserver observer_;
  log::Logger log_{"discovery"};

  std::mutex mu_;
  std::condition_variable work_cv_;  // jobs queued, or stopping
  std::condition_variable done_cv_;  // a round finished
  std::condition_variable loop_cv_;  // stopping (wakes the loop's sleep)
  std::deque<Job> queue_;
  std::unordered_set<std::string> in_flight_;  // registry ids queued or being checked
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread loop_;
};

}  // namespace csp::discovery
