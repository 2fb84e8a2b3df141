#pragma once
// The per-job event log and its watchers (spec "History"): events are appended to the store, and
// a watcher of GET /jobs/:id/events?after=N&wait=30s is parked here — a callback, not a thread —
// until an event newer than N arrives, the job ends, the wait runs out, or the service shuts down.
// One timer thread serves every watcher's deadline.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "csp/core/clock.h"
#include "csp/json/value.h"
#include "store.h"

namespace csp::job_control {

// {"seq", "at" (ISO 8601), "type", ...data}: the wire form of one event.
json::Value EventJson(const EventRow& e);

class EventLog {
 public:
  // Called exactly once with the events to answer (possibly none).
  using Callback = std::function<void(std::vector<EventRow>)>;

  EventLog(Store& store, const Clock& clock);
  ~EventLog();  // Shutdown()
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Appends an event (committed) and wakes the job's watchers. A store error is logged, not
  // returned: the log is history, never a reason to stop a job.
  void Append(const std::string& job_id, const std::string& type, json::Object data);

  // Wakes the job's watchers for an event the caller committed through the store itself (in the
  // same transaction as a task's state change: Store::MarkDispatched / FinishTask with an event).
  void Appended(const std::string& job_id) { Wake(job_id, false); }

  // Answers at once when events after `after` exist, when the job has ended (nothing more will
  // come), or when wait is zero; otherwise parks the callback until one of those or `wait` passes.
  void Watch(const std::string& job_id, int64_t after, std::chrono::milliseconds wait, Callback callback);

  // Wakes the job's watchers because it ended (they get what is left, possibly nothing).
  void JobEnded(const std::string& job_id);

  // Answers every parked watcher now and stops the timer thread. Idempotent.
  void Shutdown();

  size_t parked() const;

  // For tests: called in Watch between its first look at the events and its look at the job, the
  // window in which a job can end unseen.
  void set_between_looks(std::function<void()> fn) { between_looks_ = std::move(fn); }

 private:
  struct Watcher {
    int64_t after;
    std::chrono::steady_clock::time_point deadline;
    Callback callback;
  };
  void Wake(const std::string& job_id, bool ended);
  void TimerLoop();
  void Answer(const std::string& job_id, Watcher w);

  Store& store_;
  std::function<void()> between_looks_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::string, Watcher> watchers_;
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace csp::job_control
