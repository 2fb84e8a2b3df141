#pragma once
// Runs one job to its end: the saga (spec/40-job-control.md "Task calls", "The saga",
// "Durability"). No HTTP server code here: calls go out through csp::http_client::Client, so
// tests drive the runner with a scripted fake.
//
// The runner is restartable at any point. Every decision is committed to the Store before
// anything depends on it, and Run() reads the job's record to know where it stands:
//   queued     -> starts it (deadline fixed now)
//   running    -> continues: finished tasks are not run again; a task recorded "dispatched"
//                 (its call was in flight) is re-sent to /repeat with the same requestId and body
//   reverting  -> finishes the reverts (succeeded ones are not re-sent)

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "csp/core/clock.h"
#include "csp/http_client/client.h"
#include "directory.h"
#include "events.h"
#include "job_model.h"
#include "store.h"

namespace csp::job_control {

struct RunnerOptions {
  std::chrono::milliseconds task_timeout{30'000};   // per attempt, unless the task says timeoutMs
  std::chrono::milliseconds job_timeout{600'000};   // the deadline, unless the job says timeoutMs
  RetryPolicy retry;                                // unless the task says retry
  RetryPolicy revert_retry{5, std::chrono::milliseconds(200), std::chrono::milliseconds(5000), 2.0};
  std::chrono::milliseconds state_timeout{10'000};  // shared-state calls
  int state_write_attempts = 10;                    // optimistic-concurrency rounds (412)
  // How long a task's result may wait for the results of its parallel step's other calls still
  // running, to go to shared-state in one PATCH with them (0: each result goes at once).
  std::chrono::milliseconds state_write_hold{5};
  Limits limits;
};

// Observability hooks (metrics), all optional.
struct RunnerHooks {
  std::function<void(double seconds, bool ok)> task_finished;
  std::function<void()> task_retried;
  std::function<void(const std::string& outcome)> revert_finished;  // succeeded, failed
  // A result PATCH sent without reading the document first, carrying `writes` tasks' results.
  std::function<void(size_t writes)> state_patch_sent;
  // A task's result waits for the PATCH on its way, to go in the next one. Called under a lock:
  // it must be quick.
  std::function<void()> state_write_waited;
};

// Signals for one run, set from other threads (cancel route, shutdown).
class RunControl {
 public:
  void RequestCancel();
  void RequestStop();
  bool cancel_requested() const { return cancel_; }
  bool stop_requested() const { return stop_; }
  // Sleeps up to d; returns early (false) when stop or cancel is requested.
  bool SleepFor(std::chrono::milliseconds d);
  // Sleeps up to d; returns early (false) only when stop is requested (reverts ignore cancel).
  bool SleepUnlessStopped(std::chrono::milliseconds d);

 private:
  std::atomic<bool> cancel_{false};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

// A bounded set of threads running closures: the per-step fan-out of parallel tasks, shared by
// every job so that the number of threads stays bounded. Threads start when work needs them
// (at most `threads`), so an idle service holds none.
class TaskPool {
 public:
  explicit TaskPool(int threads);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;
  void Post(std::function<void()> fn);

 private:
  void Work();

  const size_t max_threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> queue_;
  bool stopping_ = false;
  size_t idle_ = 0;  // threads waiting in Work() for a closure
  std::vector<std::thread> threads_;
};

class JobRunner {
 public:
  JobRunner(Store& store, EventLog& events, ServiceDirectory& directory, http_client::Client& client,
            const Clock& clock, TaskPool& pool, RunnerOptions options, RunnerHooks hooks = {});

  // Runs the job until it ends, or until control asks to stop (shutdown: the record stays as it
  // is, to be continued by the next Run). Returns the job's status afterwards ("" when the job
  // does not exist).
  std::string Run(const std::string& job_id, RunControl& control);

 private:
  class Execution;
  Store& store_;
  EventLog& events_;
  ServiceDirectory& directory_;
  http_client::Client& client_;
  const Clock& clock_;
  TaskPool& pool_;
  RunnerOptions options_;
  RunnerHooks hooks_;
};

// The delay before retry number `retry` (1 = the first retry): initial * multiplier^(retry-1),
// capped at max, then jittered into [50%, 100%] of that. `unit` is a random number in [0, 1).
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry, double unit);

}  // namespace csp::job_control
