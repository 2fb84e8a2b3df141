#pragma once
// The job service: accepts jobs, queues them, runs them on a bounded pool of executors, picks up
// unfinished jobs at start-up, cancels, deletes and prunes them (spec "Submission",
// "Operations", "Durability"). No HTTP here; routes.cpp maps requests onto these calls.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "csp/core/clock.h"
#include "csp/core/result.h"
#include "csp/json/value.h"
#include "csp/log/log.h"
#include "events.h"
#include "job_model.h"
#include "runner.h"
#include "store.h"

namespace csp::job_control {

struct ServiceOptions {
  int workers = 8;                       // jobs run at once
  size_t queue_size = 1000;              // jobs waiting for an executor; more: kOverloaded
  std::chrono::milliseconds retain{std::chrono::hours(24 * 7)};  // finished jobs kept this long
  std::chrono::milliseconds prune_interval{std::chrono::minutes(1)};
};

// How a job ended, for the synchronous POST /run-job.
struct JobOutcome {
  std::string job_id;
  std::string status;    // a terminal status, or "" when the service shut down first
  json::Value error;     // the job's error record (null when completed)
};

// The store record of a newly accepted job: its document, and one task row per task (those of
// disabled steps and disabled tasks already "skipped").
NewJob BuildNewJob(std::string id, const json::Value& document, const JobSpec& spec, std::string idempotency_key,
                   int64_t created_at);

class JobService {
 public:
  using EndCallback = std::function<void(const JobOutcome&)>;

  JobService(Store& store, EventLog& events, JobRunner& runner, const Clock& clock, ServiceOptions options);
  ~JobService();  // Stop(no deadline) if still running
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  // Queues every unfinished job (queued, running, reverting) and starts the executors and the
  // pruner. Errors: the store's.
  Status Start();

  // Asks every run to stop at its next checkpoint (records stay as they are, to be continued on
  // the next start), answers waiting end callbacks with status "", and waits up to `deadline` for
  // the executors. Returns false when some executor is still inside a call after the deadline
  // (its thread is then left to the process exit; everything it did is already committed).
  bool Stop(std::chrono::milliseconds deadline);

  struct Submitted {
    std::string job_id;
    std::string status;
    bool created = true;  // false: the Idempotency-Key named an earlier job
  };
  // Records the job (status queued) and queues it. With an idempotency key already used, returns
  // the earlier job instead. on_end (optional) is called once when the job ends — at once when
  // it already has. Errors: kOverloaded when the queue is full, kUnavailable when stopping,
  // store errors.
  Result<Submitted> Submit(const json::Value& document, const JobSpec& spec, const std::string& idempotency_key,
                           EndCallback on_end = nullptr);

  // Cancels: a queued job ends "cancelled" at once; a running one stops dispatching and reverts
  // what ran. Returns the job's status after the call. Errors: kNotFound, kConflict (ended).
  Result<std::string> Cancel(const std::string& job_id);

  // Removes an ended job and its history. Errors: kNotFound, kConflict (not ended).
  Status Delete(const std::string& job_id);

  size_t queued() const;
  size_t running() const;

 private:
  void WorkerLoop();
  void PruneLoop();
  // `status`, when given, is the job's terminal status as its run just returned it: a completed
  // job (no error record) is then answered without reading the store again.
  void FireEnd(const std::string& job_id, const std::string& status = "");
  void AddEndCallback(const std::string& job_id, EndCallback cb);

  Store& store_;
  EventLog& events_;
  JobRunner& runner_;
  const Clock& clock_;
  ServiceOptions options_;
  log::Logger log_{"job-control"};

  mutable std::mutex mu_;
  std::condition_variable cv_;        // executors: queue or stopping
  std::condition_variable prune_cv_;  // the pruner: stopping (its own, so a notify_one for the queue
                                      // never wakes the pruner instead of an executor)
  std::condition_variable done_cv_;
  std::deque<std::string> queue_;
  std::map<std::string, std::shared_ptr<RunControl>> running_;
  std::map<std::string, std::vector<EndCallback>> on_end_;
  bool started_ = false;
  bool stopping_ = false;
  int live_workers_ = 0;
  std::vector<std::thread> workers_;
  std::thread pruner_;
};

}  // namespace csp::job_control
