#pragma once
// The durable record of every job (SQLite, WAL): the job, each task's request and outcome, each
// revert, and the per-job event log. Every write is committed before the call returns, which is
// what lets the runner pick a job up after a crash: a task row is "dispatched" (with its
// requestId and body) before the call goes out, and its outcome is committed before anything
// depends on it.
//
// Thread-safe: one connection guarded by a mutex (writes are single-row and fast; see
// notes/stack.md §7). Times are Unix milliseconds.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"
#include "csp/sqlite/database.h"
#include "csp/sqlite/group_commit.h"

namespace csp::job_control {

// Job statuses (spec "Statuses").
inline constexpr const char* kQueued = "queued";
inline constexpr const char* kRunning = "running";
inline constexpr const char* kReverting = "reverting";
inline constexpr const char* kCompleted = "completed";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kRevertFailed = "revert-failed";
inline constexpr const char* kCancelled = "cancelled";

bool IsTerminalStatus(const std::string& status);

// Task statuses.
inline constexpr const char* kTaskPending = "pending";
inline constexpr const char* kTaskDispatched = "dispatched";
inline constexpr const char* kTaskSucceeded = "succeeded";
inline constexpr const char* kTaskFailed = "failed";
inline constexpr const char* kTaskSkipped = "skipped";

struct JobRow {
  std::string id;
  std::string name;              // "" = none
  std::string status;
  std::string document;          // the job as submitted (JSON text)
  std::string state_url;         // "" until known
  int64_t created_at = 0;
  std::optional<int64_t> started_at;
  std::optional<int64_t> completed_at;
  json::Value error;             // null, or {"status","task","error",...}
  std::string idempotency_key;
  std::optional<int64_t> deadline;
  bool seeded = false;           // sharedState merged / state document created
  bool cancel_requested = false;
  std::string end_status;        // status to end in once reverting is done (failed/cancelled)
  int step_count = 0;
};

struct TaskRow {
  int step = 0;
  int task = 0;
  std::string label;
  std::string status = kTaskPending;
  std::string request_id;
  std::string service_url;
  std::string endpoint;          // the URL of the last attempt
  json::Value request;           // the body sent (null until dispatched)
  int attempts = 0;
  bool sent = false;             // the request may have reached the service (it must be reverted)
  std::optional<int> http_status;
  json::Value result;
  std::string error;
  std::optional<int64_t> started_at;
  std::optional<int64_t> finished_at;
  std::optional<int64_t> completion_seq;
};

struct RevertRow {
  int step = 0;
  int task = 0;
  std::string request_id;
  std::string status;            // pending, succeeded, failed
  int attempts = 0;
  std::optional<int> http_status;
  std::string error;
  json::Value reply;
  int64_t at = 0;
};

struct EventRow {
  int64_t seq = 0;
  int64_t at = 0;
  std::string type;
  json::Value data;  // an object
};

// An event to append in the same transaction as a task's state change.
struct NewEvent {
  int64_t at = 0;
  std::string type;
  json::Value data;  // an object
};

struct NewJob {
  std::string id;
  std::string name;
  std::string document;
  std::string state_url;
  std::string idempotency_key;
  int64_t created_at = 0;
  int step_count = 0;
  // One entry per task of every step: (step, task, label, skipped).
  struct Task {
    int step;
    int task;
    std::string label;
    bool skipped;
  };
  std::vector<Task> tasks;
};

struct JobFilter {
  std::string status;       // exact; "" = any
  std::string name;         // substring (case-sensitive, as the original's /filter)
  std::string created_at;   // substring of the ISO 8601 text
  std::string completed_at; // substring of the ISO 8601 text
  int64_t limit = 0;        // 0 = no limit
};

// The schema steps, oldest first (append-only; tests replay a prefix to build an older file).
const std::vector<std::string>& StoreMigrations();

class Store {
 public:
  using Queued = std::function<void()>;
  // Opens (creating) the database at path (":memory:" for a private in-memory one) and migrates it.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);

  // --- jobs
  // Inserts the job (status queued) with its task rows and a "job_accepted" event. When another
  // job already holds the idempotency key, nothing is written and that job's id is returned
  // with created=false.
  struct Created {
    std::string id;
    bool created = true;
  };
  Result<Created> CreateJob(const NewJob& job);
  Result<JobRow> GetJob(const std::string& id);  // kNotFound "Job not found"
  std::optional<std::string> FindByIdempotencyKey(const std::string& key);
  Result<std::vector<JobRow>> ListJobs(const JobFilter& filter);
  // Jobs to pick up at start-up: queued, running and reverting, oldest first.
  Result<std::vector<std::string>> UnfinishedJobs();
  Result<std::map<std::string, int64_t>> CountByStatus();

  // These three append `events`, if any, in the same transaction (all or nothing is committed).
  // `queued` is called once the write has its place in the commit order (see
  // sqlite::GroupCommit::Write), so a caller may release its own ordering lock there.
  Status MarkRunning(const std::string& id, int64_t started_at, int64_t deadline,
                     const std::vector<NewEvent>& events = {}, const Queued& queued = {});
  Status SetStateUrl(const std::string& id, const std::string& state_url, bool seeded,
                     const std::vector<NewEvent>& events = {}, const Queued& queued = {});
  Status MarkSeeded(const std::string& id, const std::vector<NewEvent>& events = {}, const Queued& queued = {});
  Status SetCancelRequested(const std::string& id);
  // Moves queued -> cancelled, with a "job_ended" event; false when the job was not queued any more.
  Result<bool> CancelQueued(const std::string& id, int64_t at, const json::Value& error);
  Status MarkReverting(const std::string& id, const json::Value& error, const std::string& end_status);
  // Ends the job and appends its "job_ended" event ({status, error}) in one transaction, so a
  // watcher never sees an ended job without its last event.
  Status FinishJob(const std::string& id, const std::string& status, int64_t at, const json::Value& error);
  // Deletes a job and everything recorded about it. kNotFound when absent.
  Status DeleteJob(const std::string& id);
  // Deletes finished jobs that completed before `before`; returns how many.
  Result<int64_t> PruneFinished(int64_t before);

  // --- tasks
  Result<std::vector<TaskRow>> ListTasks(const std::string& job_id);
  // pending -> dispatched, with everything needed to re-send it after a crash. The events, if
  // any, are appended in the same transaction (all or nothing is committed).
  Status MarkDispatched(const std::string& job_id, const TaskRow& row, const std::vector<NewEvent>& events = {},
                        const Queued& queued = {});
  // Several tasks at once (the tasks of a parallel step), all or none.
  Status MarkDispatched(const std::string& job_id, const std::vector<const TaskRow*>& rows,
                        const std::vector<NewEvent>& events = {}, const Queued& queued = {});
  // A further attempt (attempts, service and endpoint of this attempt; sent flag so far).
  Status RecordAttempt(const std::string& job_id, int step, int task, int attempts, const std::string& service_url,
                       const std::string& endpoint, bool sent);
  // The outcome: status succeeded/failed/skipped, with the next completion_seq of the job. The
  // events, if any, are appended in the same transaction (all or nothing is committed).
  Status FinishTask(const std::string& job_id, const TaskRow& row, const std::vector<NewEvent>& events = {},
                    const Queued& queued = {});
  // Several outcomes at once (the tasks of a parallel step that ended together), in the order
  // given (their completion_seq follow it), all or none.
  Status FinishTasks(const std::string& job_id, const std::vector<const TaskRow*>& rows,
                     const std::vector<NewEvent>& events = {}, const Queued& queued = {});

  // --- reverts
  Result<std::vector<RevertRow>> ListReverts(const std::string& job_id);
  Status SaveRevert(const std::string& job_id, const RevertRow& row);

  // --- events
  // Appends with the next seq of the job; returns the stored row.
  Result<EventRow> AppendEvent(const std::string& job_id, int64_t at, const std::string& type, const json::Value& data);
  Result<std::vector<EventRow>> ListEvents(const std::string& job_id, int64_t after, int64_t limit);

  bool Healthy();

  // Writes sent through the group commit since start, and the commits they took (the difference
  // is what batching saved).
  int64_t GroupWrites() const { return group_.writes(); }
  int64_t GroupCommits() const { return group_.commits(); }

 private:
  explicit Store(sqlite::Database db);
  Result<JobRow> GetJobLocked(const std::string& id);
  Result<EventRow> AppendEventLocked(const std::string& job_id, int64_t at, const std::string& type,
                                     const json::Value& data);
  // One task outcome, with the lock held and inside the caller's transaction.
  Status FinishTaskLocked(const std::string& job_id, const TaskRow& row);
  // Runs `write` (a job or task update) and appends `events`, committed together through the
  // group commit: the writes of a job's parallel tasks and of concurrent jobs share commits.
  // Takes mu_ itself (in the group's leader); call without holding it.
  Status WriteWithEvents(const std::string& job_id, const std::vector<NewEvent>& events,
                         const std::function<Status()>& write, const Queued& queued);

  std::mutex mu_;
  sqlite::Database db_;
  sqlite::GroupCommit group_{db_, mu_};
  // The last event seq of each job with events appended since it was loaded (from MAX(seq), once):
  // saves a query per event. An entry is dropped whenever a write that appended an event may not
  // have been committed, and when the job ends or is deleted, so it never runs ahead of the table.
  std::map<std::string, int64_t> last_seq_;
};

}  // namespace csp::job_control
