#include "runner.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iterator>
#include <map>
#include <optional>
#include <random>

#include "csp/clients/state.h"
#include "csp/core/coalescer.h"
#include "csp/core/id.h"
#include "csp/core/time.h"
#include "csp/json/json.h"
#include "csp/log/log.h"
#include "resolve.h"

namespace csp::job_control {

namespace {

using std::chrono::milliseconds;

double RandomUnit() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// A transport error that means the request never left: nothing can have been applied, and
// another instance may be tried at once.
bool IsConnectFailure(const Error& e) {
  if (e.code != ErrorCode::kUnavailable) return false;
  const std::string& m = e.message;
  return m.find("Couldn't connect") != std::string::npos || m.find("Failed to connect") != std::string::npos ||
         m.find("Connection refused") != std::string::npos || m.find("Could not resolve") != std::string::npos;
}

bool IsRetryableStatus(int status) { return status == 502 || status == 503 || status == 504; }

// The original's message ("Request failed with status code 400"), plus the service's own error.
std::string StatusFailure(const http_client::Response& r) {
  std::string msg = "Request failed with status code " + std::to_string(r.status);
  if (auto body = r.Json(); body && body->IsObject()) {
    const json::Value* e = body->Find("error");
    if (e != nullptr && e->IsString()) msg += ": " + e->AsString();
    else if (e != nullptr && e->IsObject() && e->Find("message") && e->Find("message")->IsString()) {
      msg += ": " + e->Find("message")->AsString();
    }
  }
  return msg;
}

json::Value JobError(const std::string& status, const json::Value& task, const std::string& message) {
  return json::Object{{"status", status}, {"task", task}, {"error", message}};
}

std::string Key(int step, int task) { return std::to_string(step) + "/" + std::to_string(task); }

bool WritesState(const StepSpec& step) {
  return std::any_of(step.tasks.begin(), step.tasks.end(), [](const TaskSpec& t) { return t.enabled && !t.store.empty(); });
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void RunControl::RequestCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancel_ = true;
  cv_.notify_all();
}

void RunControl::RequestStop() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = true;
  cv_.notify_all();
}

bool RunControl::SleepFor(milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stop_.load() || cancel_.load(); });
}

bool RunControl::SleepUnlessStopped(milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stop_.load(); });
}

TaskPool::TaskPool(int threads) : max_threads_(static_cast<size_t>(std::max(1, threads))) {}

TaskPool::~TaskPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  // No Post() adds a thread once stopping_ is set, so threads_ is stable here.
  for (auto& t : threads_) t.join();
}

void TaskPool::Post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(fn));
  // Threads start on demand: one more whenever the queued closures outnumber the threads
  // waiting for work, up to the bound. They are kept once started.
  if (!stopping_ && idle_ < queue_.size() && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { Work(); });
  }
  cv_.notify_one();
}

void TaskPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ++idle_;
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;
    std::function<void()> fn = std::move(queue_.front());
    queue_.erase(queue_.begin());
    lock.unlock();
    fn();
    fn = nullptr;  // destroy the closure's captures outside the lock, as before
    lock.lock();
  }
}

milliseconds BackoffDelay(const RetryPolicy& policy, int retry, double unit) {
  double base = static_cast<double>(policy.initial_delay.count()) * std::pow(policy.multiplier, std::max(0, retry - 1));
  base = std::min(base, static_cast<double>(policy.max_delay.count()));
  double jittered = base * (0.5 + 0.5 * std::clamp(unit, 0.0, 1.0));
  return milliseconds(static_cast<int64_t>(std::llround(jittered)));
}

// How old the document from a write's reply may be to serve as the next step's snapshot.
constexpr int64_t kCarriedFreshMs = 100;

// ---------------------------------------------------------------------------------------------
// One run of one job. Lives for the duration of JobRunner::Run.

class JobRunner::Execution {
 public:
  Execution(JobRunner& r, JobRow job, JobSpec spec, RunControl& control)
      : r_(r),
        job_(std::move(job)),
        spec_(std::move(spec)),
        ctl_(control),
        state_(r.client_, r.options_.state_timeout),
        fast_writes_([this](const std::vector<json::Value>& patches) { return SendPatches(patches); },
                     r.hooks_.state_write_waited) {
    state_.set_request_id(job_.id);
    fast_writes_.set_hold([this] { return open_calls_.load() > 0; }, r.options_.state_write_hold);
  }

  std::string Run();

 private:
  enum class Forward { kDone, kFail, kStop };
  enum class RevertOutcome { kReverted, kNotReverted, kStop };

  int64_t NowMs() const { return ToUnixMillis(r_.clock_.Now()); }
  // Appends an event on its own (after any deferred one).
  void Event(const std::string& type, json::Object data) {
    std::lock_guard<std::mutex> lock(record_mu_);
    FlushDeferredLocked();
    r_.events_.Append(job_.id, type, std::move(data));
  }
  // Defers an event to the next Record, to be committed with the next state change rather than
  // on its own; FlushDeferred writes it alone if no change came.
  void Defer(NewEvent e) {
    std::lock_guard<std::mutex> lock(record_mu_);
    deferred_.push_back(std::move(e));
  }
  void FlushDeferred() {
    std::lock_guard<std::mutex> lock(record_mu_);
    FlushDeferredLocked();
  }
  void FlushDeferredLocked();
  NewEvent MakeEvent(const std::string& type, json::Object data) const {
    return NewEvent{NowMs(), type, json::Value(std::move(data))};
  }
  // A task's state change (write) and its events in one transaction; see the definition. The
  // write passes `q` on to the Store, which calls it once the write has its commit slot.
  using TaskWrite = std::function<Status(const std::vector<NewEvent>&, const Store::Queued& q)>;
  Status Record(const TaskWrite& write, std::vector<NewEvent> events);
  bool Cancelled() const { return ctl_.cancel_requested() || job_.cancel_requested; }
  bool DeadlinePassed() const { return job_.deadline && NowMs() >= *job_.deadline; }
  milliseconds Remaining() const {
    return job_.deadline ? milliseconds(*job_.deadline - NowMs()) : milliseconds(INT64_MAX / 4);
  }
  std::string DeadlineMessage() const {
    return "job deadline of " + std::to_string(JobTimeout().count()) + "ms exceeded";
  }
  milliseconds JobTimeout() const { return spec_.timeout.value_or(r_.options_.job_timeout); }
  const RetryPolicy& PolicyOf(const TaskSpec& t) const { return t.retry ? *t.retry : r_.options_.retry; }
  milliseconds TimeoutOf(const TaskSpec& t) const { return t.timeout.value_or(r_.options_.task_timeout); }

  Forward RunForward();
  Forward Fail(json::Value error) {
    error_ = std::move(error);
    return Forward::kFail;
  }
  bool EnsureState();
  Result<json::Value> ReadState();
  void RunStep(int step, const json::Value& snapshot);
  void RunTask(int step, int task, const json::Value& snapshot);
  void Dispatch(int step, int task, const json::Value& snapshot);
  // Where a prepared task goes: the instances of its service and the one chosen.
  struct Target {
    std::vector<std::string> instances;
    size_t index = 0;
  };
  // Looks a pending task up and fills its row for dispatch (requestId, service, endpoint,
  // request). nullopt when the task was settled here (failed, skipped) or the run is stopping.
  std::optional<Target> Prepare(int step, int task, const json::Value& snapshot);
  // Records prepared tasks as dispatched, with their events, in one commit; when that fails each
  // task fails. Returns whether they were recorded.
  bool RecordDispatch(int step, const std::vector<int>& tasks);
  void Call(int step, int task, std::vector<std::string> instances, size_t index, bool resumed);
  std::string RepeatUrl(const std::string& service_url, const TaskRow& row, const StepSpec& step, const TaskSpec& t);
  void Succeed(int step, int task, const http_client::Response& reply, int64_t started_ms);
  void FailTask(int step, int task, const std::string& message, std::optional<int> http_status, bool sent);
  Status WriteState(const TaskSpec& t, int status, const json::Value& result, int step, int task,
                    std::vector<NewEvent>& events);
  // One unconditional PATCH carrying the operations of every patch given (see fast_writes_).
  Status SendPatches(const std::vector<json::Value>& patches);
  bool RunSaga(json::Array& failures);
  RevertOutcome RevertOne(const TaskRow& row, int previous_attempts, std::string& error);

  JobRunner& r_;
  JobRow job_;
  JobSpec spec_;
  RunControl& ctl_;
  clients::StateClient state_;
  std::string state_url_;
  std::vector<std::vector<TaskRow>> tasks_;  // [step][task]; each entry written by one thread
  // The state document as read when the running step started (nullptr when not read): the base
  // of WriteState's fast path.
  const json::Value* snapshot_ = nullptr;
  // WriteState's fast-path patches: one that comes while another is on its way to shared-state
  // goes in the next PATCH, together with the others that came meanwhile. The parallel tasks of a
  // step finishing close together then share PATCHes; a task alone sends at once.
  // A result's PATCH also waits (up to RunnerOptions::state_write_hold) while other calls of its
  // parallel step are still running, so that results of tasks ending close together share one
  // PATCH. open_calls_ counts the step's calls that have not yet reached their write or their
  // end; call_open_[task] marks them (each entry touched only by its task's thread).
  Coalescer<json::Value, Status> fast_writes_;
  std::atomic<int> open_calls_{0};
  std::vector<char> call_open_;
  // Outcomes of a parallel step's tasks left to the step's end (see Settle).
  struct Settled {
    int task;
    std::vector<NewEvent> events;
  };
  bool Settle(int task, std::vector<NewEvent>& events);
  void RecordSettled(int step);
  std::mutex settled_mu_;
  std::vector<Settled> settled_;
  // Ends task's part in open_calls_ (once; a no-op outside a parallel step). ReleaseCall also
  // nudges a result PATCH held for it; the quiet form is for under the coalescer's lock.
  bool ReleaseCallQuiet(int task) {
    if (static_cast<size_t>(task) >= call_open_.size() || call_open_[task] == 0) return false;
    call_open_[task] = 0;
    open_calls_.fetch_sub(1);
    return true;
  }
  void ReleaseCall(int task) {
    if (ReleaseCallQuiet(task)) fast_writes_.Nudge();
  }
  // The document as the job's latest write left it (from the write's reply), to serve as the
  // next step's snapshot instead of a GET: see TakeCarried.
  void Carry(json::Value document);
  void SpoilCarried();
  std::optional<json::Value> TakeCarried();
  std::mutex carried_mu_;
  std::optional<json::Value> carried_;
  int64_t carried_at_ms_ = 0;
  bool carried_spoiled_ = false;
  json::Value error_;
  bool fresh_ = false;
  // Serialises Record and Event (the store serialises their writes anyway), so that deferred
  // events keep their place in the job's event order across the step's parallel tasks.
  std::mutex record_mu_;
  std::vector<NewEvent> deferred_;
};

std::string JobRunner::Execution::Run() {
  if (job_.status == kQueued) {
    if (ctl_.stop_requested()) return job_.status;
    int64_t now = NowMs();
    job_.started_at = now;
    job_.deadline = now + JobTimeout().count();
    // The status change and its event in one commit.
    Status marked =
        Record([&](const auto& e, const auto& q) { return r_.store_.MarkRunning(job_.id, now, *job_.deadline, e, q); },
               {MakeEvent("job_started", {{"deadline", FormatIso8601(FromUnixMillis(*job_.deadline))}})});
    if (!marked) return job_.status;
    job_.status = kRunning;
    fresh_ = true;
  }
  if (job_.status == kRunning) {
    Forward f = RunForward();
    if (f == Forward::kStop) return job_.status;
    if (f == Forward::kDone) {
      if (auto s = r_.store_.FinishJob(job_.id, kCompleted, NowMs(), json::Value()); !s) return job_.status;
      r_.events_.JobEnded(job_.id);
      return kCompleted;
    }
    std::string end = Cancelled() ? kCancelled : kFailed;
    if (auto s = r_.store_.MarkReverting(job_.id, error_, end); !s) return job_.status;
    job_.status = kReverting;
    job_.error = error_;
    job_.end_status = end;
    Event("job_reverting", {{"error", error_}});
  }
  if (job_.status == kReverting) {
    json::Array failures;
    if (!RunSaga(failures)) return job_.status;
    std::string status = failures.empty() ? (job_.end_status.empty() ? std::string(kFailed) : job_.end_status)
                                          : std::string(kRevertFailed);
    json::Value error = job_.error.IsObject() ? job_.error : JobError("error", json::Value(), "job failed");
    if (!failures.empty()) error.Set("revertFailures", json::Value(std::move(failures)));
    if (auto s = r_.store_.FinishJob(job_.id, status, NowMs(), error); !s) return job_.status;
    r_.events_.JobEnded(job_.id);
    return status;
  }
  return job_.status;
}

JobRunner::Execution::Forward JobRunner::Execution::RunForward() {
  if (!EnsureState()) return ctl_.stop_requested() ? Forward::kStop : Forward::kFail;
  auto rows = r_.store_.ListTasks(job_.id);
  if (!rows) return Fail(JobError("error", json::Value(), "cannot read the job's tasks: " + rows.error().message));
  tasks_.assign(spec_.steps.size(), {});
  for (size_t i = 0; i < spec_.steps.size(); ++i) tasks_[i].resize(spec_.steps[i].tasks.size());
  for (auto& row : *rows) {
    if (row.step < static_cast<int>(tasks_.size()) && row.task < static_cast<int>(tasks_[row.step].size())) {
      tasks_[row.step][row.task] = std::move(row);
    }
  }
  for (size_t i = 0; i < spec_.steps.size(); ++i) {
    const StepSpec& step = spec_.steps[i];
    int si = static_cast<int>(i);
    if (ctl_.stop_requested()) return Forward::kStop;
    if (Cancelled()) return Fail(JobError("cancelled", json::Value(), "cancelled by request"));
    if (DeadlinePassed()) return Fail(JobError("error", json::Value(), DeadlineMessage()));
    if (step.Skipped()) {
      if (fresh_) Event("step_skipped", {{"step", si}, {"name", step.name}});
      continue;
    }
    bool open = std::any_of(tasks_[i].begin(), tasks_[i].end(), [](const TaskRow& t) {
      return t.status == kTaskPending || t.status == kTaskDispatched;
    });
    if (open) {
      // Committed with the step's first task change (its dispatch, usually), not on its own.
      Defer(MakeEvent("step_started", {{"step", si}, {"name", step.name}}));
      struct FlushOnExit {
        Execution* e;
        ~FlushOnExit() { e->FlushDeferred(); }
      } flush_on_exit{this};
      json::Value snapshot = json::Object{};
      bool have_snapshot = false;
      std::optional<json::Value> carried = TakeCarried();
      if (carried && (step.ReadsState() || (WritesState(step) && !state_url_.empty()))) {
        snapshot = std::move(*carried);
        have_snapshot = true;
      } else if (step.ReadsState()) {
        auto s = ReadState();
        if (!s && ctl_.stop_requested()) return Forward::kStop;
        if (!s) return Fail(JobError("error", json::Value(), s.error().message));
        snapshot = std::move(*s);
        have_snapshot = true;
      } else if (WritesState(step) && !state_url_.empty()) {
        // Only for WriteState's fast path: one read per step saves a read (and 412 rounds) per
        // task. A failed read just leaves the fast path off.
        if (auto s = ReadState(); s) {
          snapshot = std::move(*s);
          have_snapshot = true;
        }
      }
      snapshot_ = have_snapshot ? &snapshot : nullptr;
      RunStep(si, snapshot);
      snapshot_ = nullptr;
      fresh_ = true;  // later steps run for the first time in this run
    }
    for (size_t j = 0; j < tasks_[i].size(); ++j) {
      const TaskRow& t = tasks_[i][j];
      if (t.status != kTaskFailed) continue;
      json::Value error = JobError("error", json::Value(step.tasks[j].Label()), t.error);
      error.Set("step", si);
      error.Set("taskIndex", static_cast<int>(j));
      return Fail(std::move(error));
    }
    bool unfinished = std::any_of(tasks_[i].begin(), tasks_[i].end(), [](const TaskRow& t) {
      return t.status == kTaskPending || t.status == kTaskDispatched;
    });
    if (unfinished) {
      if (ctl_.stop_requested()) return Forward::kStop;
      if (Cancelled()) return Fail(JobError("cancelled", json::Value(), "cancelled by request"));
      return Fail(JobError("error", json::Value(), DeadlineMessage()));
    }
  }
  return Forward::kDone;
}

bool JobRunner::Execution::EnsureState() {
  state_url_ = !job_.state_url.empty() ? job_.state_url : spec_.shared_state_url;
  if (job_.seeded) return true;
  if (state_url_.empty()) {
    if (!spec_.UsesState()) {
      // The original ignores sharedState without a URL; so do we when no task needs state.
      (void)r_.store_.MarkSeeded(job_.id);
      job_.seeded = true;
      return true;
    }
    auto base = r_.directory_.SharedStateUrl();
    if (!base) {
      error_ = JobError("error", json::Value(), "cannot create a state document for the job: " + base.error().message);
      return false;
    }
    std::string id = "job-" + job_.id;
    json::Value content = spec_.shared_state ? *spec_.shared_state : json::Value(json::Object{});
    auto created = state_.Create(*base, id, content);
    std::string url;
    if (created) {
      url = *created;
    } else if (created.error().code == ErrorCode::kAlreadyExists) {
      // Created by an earlier run that crashed before recording it: seed it again (idempotent).
      url = *base + "/state/" + id;
      if (spec_.shared_state) {
        if (auto s = state_.Merge(url, *spec_.shared_state); !s) {
          error_ = JobError("error", json::Value(), "cannot seed the state document: " + s.error().message);
          return false;
        }
      }
    } else {
      error_ = JobError("error", json::Value(), "cannot create a state document for the job: " + created.error().message);
      return false;
    }
    if (auto s = Record([&](const auto& e, const auto& q) { return r_.store_.SetStateUrl(job_.id, url, true, e, q); },
                        {MakeEvent("state_created", {{"stateURL", url}})});
        !s) {
      error_ = JobError("error", json::Value(), "cannot record the state document: " + s.error().message);
      return false;
    }
    state_url_ = url;
    job_.state_url = url;
    job_.seeded = true;
    return true;
  }
  if (!spec_.UsesState() && !spec_.shared_state) {
    // Named but never read or written: nothing to check or call.
    job_.seeded = true;
    return true;
  }
  Status allowed = Ok();
  for (int attempt = 1; attempt <= r_.options_.retry.max_attempts; ++attempt) {
    allowed = r_.directory_.CheckAllowed(state_url_);
    if (allowed || allowed.error().code != ErrorCode::kUnavailable) break;
    if (!ctl_.SleepUnlessStopped(BackoffDelay(r_.options_.retry, attempt, RandomUnit()))) break;
  }
  if (!allowed) {
    error_ = JobError("error", json::Value(), "sharedStateURL: " + allowed.error().message);
    return false;
  }
  std::vector<NewEvent> seeded;  // committed with the record of the seeding
  if (spec_.shared_state) {
    Status merged = Ok();
    json::Value document;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      merged = state_.Merge(state_url_, *spec_.shared_state, &document);
      if (merged || merged.error().code != ErrorCode::kUnavailable) break;
      if (!ctl_.SleepUnlessStopped(BackoffDelay(r_.options_.retry, attempt, RandomUnit()))) break;
    }
    if (!merged) {
      error_ = JobError("error", json::Value(), "cannot seed the state document: " + merged.error().message);
      return false;
    }
    seeded.push_back(MakeEvent("state_seeded", {{"stateURL", state_url_}}));
    Carry(std::move(document));
  }
  if (job_.state_url.empty()) {
    auto s = Record([&](const auto& e, const auto& q) { return r_.store_.SetStateUrl(job_.id, state_url_, true, e, q); },
                    std::move(seeded));
    (void)s;
  } else {
    auto s = Record([&](const auto& e, const auto& q) { return r_.store_.MarkSeeded(job_.id, e, q); }, std::move(seeded));
    (void)s;
  }
  job_.seeded = true;
  return true;
}

Result<json::Value> JobRunner::Execution::ReadState() {
  if (state_url_.empty()) return json::Value(json::Object{});
  Error last;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto doc = state_.Get(state_url_);
    if (doc) return std::move(doc->content);
    if (doc.error().code == ErrorCode::kNotFound) return json::Value(json::Object{});
    last = doc.error();
    if (last.code != ErrorCode::kUnavailable && last.code != ErrorCode::kDeadlineExceeded) break;
    if (!ctl_.SleepUnlessStopped(BackoffDelay(r_.options_.retry, attempt, RandomUnit()))) break;
  }
  return Error(last.code, "cannot read the state document " + state_url_ + ": " + last.message);
}

void JobRunner::Execution::RunStep(int step, const json::Value& snapshot) {
  const StepSpec& spec = spec_.steps[step];
  std::vector<int> open;
  for (size_t j = 0; j < tasks_[step].size(); ++j) {
    const std::string& s = tasks_[step][j].status;
    if (s == kTaskPending || s == kTaskDispatched) open.push_back(static_cast<int>(j));
  }
  if (open.empty()) return;
  if (spec.concurrency == Concurrency::kSequential || open.size() == 1) {
    for (int j : open) {
      RunTask(step, j, snapshot);
      if (tasks_[step][j].status == kTaskFailed) break;
    }
    return;
  }
  // Parallel: the new tasks are prepared here and recorded as dispatched in one commit; then
  // every call runs at once, all but the last on the pool and the last here, on the executor,
  // which would otherwise only wait (one hand-off and one thread wake-up fewer per step).
  std::vector<std::function<void()>> calls;
  std::vector<int> call_tasks;   // the task of each call (same index)
  std::vector<int> fresh;        // the tasks prepared here, in order
  std::vector<Target> targets;   // where each of them goes (same index)
  for (int j : open) {
    const TaskRow& row = tasks_[step][j];
    if (row.status == kTaskDispatched) {
      calls.push_back([this, step, j, &snapshot] { RunTask(step, j, snapshot); });  // resumes it
      call_tasks.push_back(j);
      continue;
    }
    if (ctl_.stop_requested() || Cancelled() || DeadlinePassed()) continue;
    if (std::optional<Target> target = Prepare(step, j, snapshot)) {
      fresh.push_back(j);
      targets.push_back(std::move(*target));
    }
  }
  if (!fresh.empty() && RecordDispatch(step, fresh)) {
    for (size_t k = 0; k < fresh.size(); ++k) {
      // Each call takes only its own entry of `targets`, which is not resized any more.
      Target& target = targets[k];
      int j = fresh[k];
      calls.push_back([this, step, j, &target] { Call(step, j, std::move(target.instances), target.index, false); });
      call_tasks.push_back(j);
    }
  }
  if (calls.empty()) return;
  call_open_.assign(tasks_[step].size(), 0);
  for (int j : call_tasks) call_open_[j] = 1;
  open_calls_.store(static_cast<int>(call_tasks.size()));
  std::mutex mu;
  std::condition_variable cv;
  size_t remaining = calls.size() - 1;
  for (size_t k = 0; k + 1 < calls.size(); ++k) {
    r_.pool_.Post([&, k] {
      calls[k]();
      ReleaseCall(call_tasks[k]);  // a call that ended without reaching either
      std::lock_guard<std::mutex> lock(mu);
      if (--remaining == 0) cv.notify_all();
    });
  }
  calls.back()();
  ReleaseCall(call_tasks.back());
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return remaining == 0; });
  lock.unlock();
  open_calls_.store(0);
  call_open_.clear();
  RecordSettled(step);
}

void JobRunner::Execution::RunTask(int step, int task, const json::Value& snapshot) {
  TaskRow& row = tasks_[step][task];
  if (row.status == kTaskDispatched) {
    // In flight when the previous run stopped: ask again, by the same requestId, where it went.
    Event("task_resumed", {{"step", step}, {"task", task}, {"tag", row.label}, {"requestId", row.request_id}});
    Call(step, task, {row.service_url}, 0, true);
    return;
  }
  if (row.status != kTaskPending) return;
  if (ctl_.stop_requested() || Cancelled() || DeadlinePassed()) return;
  Dispatch(step, task, snapshot);
}

std::optional<JobRunner::Execution::Target> JobRunner::Execution::Prepare(int step, int task,
                                                                        const json::Value& snapshot) {
  const StepSpec& sspec = spec_.steps[step];
  const TaskSpec& t = sspec.tasks[task];
  TaskRow& row = tasks_[step][task];
  int64_t started = NowMs();
  row.started_at = started;
  const RetryPolicy& policy = PolicyOf(t);

  // Where to send it: lookups fail fast on "not found", and retry while discovery is down.
  Result<std::vector<std::string>> instances = Error(ErrorCode::kInternal, "not looked up");
  for (int attempt = 1; attempt <= policy.max_attempts; ++attempt) {
    instances = r_.directory_.Instances(t);
    if (instances || instances.error().code != ErrorCode::kUnavailable || attempt == policy.max_attempts) break;
    if (!ctl_.SleepUnlessStopped(BackoffDelay(policy, attempt, RandomUnit()))) return std::nullopt;
  }
  if (!instances) {
    FailTask(step, task, instances.error().message, std::nullopt, false);
    return std::nullopt;
  }

  std::string rel = t.mode.value_or(sspec.rel);
  std::string selector = !t.url.empty() ? "url:" + t.url : !t.service_name.empty() ? "name:" + t.service_name : "tag:" + t.tag;
  size_t n = instances->size();
  size_t index = r_.directory_.NextIndex(selector) % n;
  // The forms of the chosen instance, else of the next one; a round of failures is retried like
  // a call (the service may be restarting).
  Result<std::optional<std::string>> href = Error(ErrorCode::kInternal, "no instance");
  for (int attempt = 1; attempt <= policy.max_attempts && !href; ++attempt) {
    if (attempt > 1 && !ctl_.SleepUnlessStopped(BackoffDelay(policy, attempt - 1, RandomUnit()))) return std::nullopt;
    for (size_t k = 0; k < n; ++k) {
      size_t i = (index + k) % n;
      href = r_.directory_.FormHref((*instances)[i], rel);
      if (href) {
        index = i;
        break;
      }
      r_.directory_.Forget((*instances)[i]);
    }
  }
  if (!href) {
    FailTask(step, task, href.error().message, std::nullopt, false);
    return std::nullopt;
  }
  if (!href->has_value()) {
    // The original's rule: a service without a form for this mode skips the task (not an error).
    row.status = kTaskSkipped;
    row.error = "unknown mode '" + rel + "'";
    row.service_url = (*instances)[index];
    row.finished_at = NowMs();
    (void)Record([&](const auto& e, const auto& q) { return r_.store_.FinishTask(job_.id, row, e, q); },
                 {MakeEvent("task_skipped", {{"step", step}, {"task", task}, {"tag", t.Label()},
                                             {"reason", "unknown mode"}, {"mode", rel}})});
    return std::nullopt;
  }
  if (auto s = r_.directory_.CheckAllowed(**href); !s) {
    FailTask(step, task, s.error().message, std::nullopt, false);
    return std::nullopt;
  }

  row.request_id = NewTimeOrderedUuid();
  row.service_url = (*instances)[index];
  row.endpoint = **href;
  row.request = BuildRequestBody(t.input, snapshot, row.request_id);
  row.attempts = 1;
  row.sent = true;  // from here on the outcome is unknown until recorded
  return Target{std::move(*instances), index};
}

bool JobRunner::Execution::RecordDispatch(int step, const std::vector<int>& tasks) {
  std::vector<const TaskRow*> rows;
  std::vector<NewEvent> events;
  for (int task : tasks) {
    const TaskRow& row = tasks_[step][task];
    rows.push_back(&row);
    events.push_back(MakeEvent("task_dispatched", {{"step", step},
                                                   {"task", task},
                                                   {"tag", spec_.steps[step].tasks[task].Label()},
                                                   {"service", row.service_url},
                                                   {"url", row.endpoint},
                                                   {"requestId", row.request_id},
                                                   {"attempt", 1}}));
  }
  // The dispatches and their events commit together, before any of the calls goes out.
  Status dispatched =
      Record([&](const auto& e, const auto& q) { return r_.store_.MarkDispatched(job_.id, rows, e, q); },
             std::move(events));
  for (int task : tasks) {
    TaskRow& row = tasks_[step][task];
    if (dispatched) {
      row.status = kTaskDispatched;
    } else {
      row.sent = false;
      FailTask(step, task, "cannot record the dispatch: " + dispatched.error().message, std::nullopt, false);
    }
  }
  return dispatched.ok();
}

void JobRunner::Execution::Dispatch(int step, int task, const json::Value& snapshot) {
  std::optional<Target> target = Prepare(step, task, snapshot);
  if (!target || !RecordDispatch(step, {task})) return;
  Call(step, task, std::move(target->instances), target->index, false);
}

std::string JobRunner::Execution::RepeatUrl(const std::string& service_url, const TaskRow& row, const StepSpec& step,
                                            const TaskSpec& t) {
  // Only an execute is repeated through /repeat; a call made to another rel (a revert step, say)
  // is sent again to the same endpoint.
  std::string rel = t.mode.value_or(step.rel);
  if (rel != "execute") return row.endpoint;
  auto href = r_.directory_.FormHref(service_url, "repeat");
  if (href && href->has_value()) return **href;
  return service_url + "/repeat";
}

void JobRunner::Execution::Call(int step, int task, std::vector<std::string> instances, size_t index, bool resumed) {
  const StepSpec& sspec = spec_.steps[step];
  const TaskSpec& t = sspec.tasks[task];
  TaskRow& row = tasks_[step][task];
  const RetryPolicy& policy = PolicyOf(t);
  int64_t started = row.started_at.value_or(NowMs());
  bool maybe_sent = resumed;  // a resumed call may have been applied before the crash
  std::string body = json::Dump(row.request);
  std::string last_error;
  std::optional<int> last_status;

  for (int n = 0; n < policy.max_attempts; ++n) {
    bool first = n == 0 && !resumed;
    std::string url = first ? row.endpoint : RepeatUrl(row.service_url, row, sspec, t);
    if (!first) {
      row.attempts += 1;
      row.endpoint = url;
      (void)r_.store_.RecordAttempt(job_.id, step, task, row.attempts, row.service_url, url, true);
      Event("task_dispatched", {{"step", step}, {"task", task}, {"tag", t.Label()}, {"service", row.service_url},
                                {"url", url}, {"requestId", row.request_id}, {"attempt", row.attempts}});
    }
    milliseconds remaining = Remaining();
    if (remaining.count() <= 0) {
      last_error = DeadlineMessage();
      break;
    }
    http_client::Request req;
    req.method = "POST";
    req.url = url;
    req.body = body;
    req.request_id = job_.id;
    req.timeout = std::min(TimeoutOf(t), remaining);
    auto reply = r_.client_.Send(req);
    bool moved = false;
    if (reply && reply->ok()) return Succeed(step, task, *reply, started);
    if (reply) {
      maybe_sent = true;
      last_status = reply->status;
      last_error = StatusFailure(*reply);
      if (!IsRetryableStatus(reply->status)) break;
    } else if (IsConnectFailure(reply.error())) {
      last_error = reply.error().message;
      r_.directory_.Forget(row.service_url);
      if (!resumed && instances.size() > 1) {
        index = (index + 1) % instances.size();
        row.service_url = instances[index];
        moved = true;
      }
    } else {
      maybe_sent = true;
      last_error = reply.error().message;
      if (reply.error().code == ErrorCode::kInvalidArgument) break;
    }
    if (n + 1 >= policy.max_attempts) break;
    if (r_.hooks_.task_retried) r_.hooks_.task_retried();
    milliseconds delay = moved ? milliseconds(0) : BackoffDelay(policy, n + 1, RandomUnit());
    if (delay >= Remaining()) {
      last_error += " (" + DeadlineMessage() + ")";
      break;
    }
    if (!ctl_.SleepUnlessStopped(delay)) return;  // shutdown: stays "dispatched", resumed later
  }
  if (last_error.empty()) last_error = "no attempt was made";
  FailTask(step, task, last_error, last_status, maybe_sent);
}

// The "state_written" event goes into `events`, to be committed with the task's outcome.
Status JobRunner::Execution::WriteState(const TaskSpec& t, int status, const json::Value& result, int step, int task,
                                        std::vector<NewEvent>& events) {
  // Fast path: against the step's snapshot, a patch that creates no parent is only "add"s to the
  // tasks' own paths, which commute with the other tasks' adds: sent as is, without If-Match and
  // without reading the document first. Parallel tasks of a step then no longer race on one
  // version (most of their conditional writes used to come back 412). A patch that creates
  // parents keeps the conditional path below: two tasks creating the same parent object must
  // not clobber each other's member. Any failure here (a parent gone, the document missing, a
  // transport error; re-applying the same adds is harmless) falls back to that path too.
  if (snapshot_ != nullptr) {
    int parents = -1;
    auto patch = BuildStorePatch(t.store, status, result, *snapshot_, &parents);
    if (patch && patch->AsArray().empty()) return Ok();
    if (patch && parents == 0) {
      size_t paths = patch->AsArray().size();
      if (Status written = fast_writes_.Submit(std::move(*patch), [&] { ReleaseCallQuiet(task); }); written) {
        events.push_back(MakeEvent("state_written", {{"step", step}, {"task", task}, {"stateURL", state_url_},
                                                     {"paths", static_cast<int>(paths)}}));
        return Ok();
      }
      // A shared PATCH is all or nothing: when it fails, each of its tasks tries again on its own
      // below, so one task's bad path never fails another task.
    }
  }
  ReleaseCall(task);  // the conditional path: no result PATCH should wait for this task
  SpoilCarried();     // its write is not in the fast path's replies
  Error last = Internal("state write not attempted");
  for (int round = 0; round < r_.options_.state_write_attempts; ++round) {
    auto doc = state_.Get(state_url_);
    json::Value content = json::Object{};
    std::string etag;
    bool missing = false;
    if (doc) {
      content = std::move(doc->content);
      etag = doc->etag;
    } else if (doc.error().code == ErrorCode::kNotFound) {
      missing = true;
    } else {
      last = doc.error();
      if (last.code != ErrorCode::kUnavailable && last.code != ErrorCode::kDeadlineExceeded) break;
      if (!ctl_.SleepUnlessStopped(BackoffDelay(r_.options_.retry, round + 1, RandomUnit()))) break;
      continue;
    }
    auto patch = BuildStorePatch(t.store, status, result, content);
    if (!patch) return patch.error();
    if (patch->AsArray().empty()) return Ok();
    if (missing) {
      // The original's PATCH creates a missing document; an empty merge does that here.
      if (auto s = state_.Merge(state_url_, json::Object{}); !s) last = s.error();
      continue;
    }
    auto written = state_.ApplyPatch(state_url_, *patch, etag);
    if (written) {
      events.push_back(MakeEvent("state_written", {{"step", step}, {"task", task}, {"stateURL", state_url_},
                                                   {"paths", static_cast<int>(patch->AsArray().size())}}));
      return Ok();
    }
    last = written.error();
    if (last.code == ErrorCode::kFailedPrecondition || last.code == ErrorCode::kNotFound) continue;
    if (last.code != ErrorCode::kUnavailable && last.code != ErrorCode::kDeadlineExceeded) break;
    if (!ctl_.SleepUnlessStopped(BackoffDelay(r_.options_.retry, round + 1, RandomUnit()))) break;
  }
  return Error(last.code, "cannot write the result to " + state_url_ + ": " + last.message);
}

Status JobRunner::Execution::SendPatches(const std::vector<json::Value>& patches) {
  if (r_.hooks_.state_patch_sent) r_.hooks_.state_patch_sent(patches.size());
  Result<std::string> written = Internal("no patch");
  json::Value document;
  if (patches.size() == 1) {
    written = state_.ApplyPatch(state_url_, patches.front(), "", &document);
  } else {
    json::Array ops;
    for (const json::Value& p : patches) {
      for (const json::Value& op : p.AsArray()) ops.push_back(op);
    }
    written = state_.ApplyPatch(state_url_, json::Value(std::move(ops)), "", &document);
  }
  if (!written) {
    SpoilCarried();  // it may have been applied (a transport error) and its tasks write again
    return written.error();
  }
  Carry(std::move(document));
  return Ok();
}

// The next step's snapshot may come from the reply of the job's latest write instead of a GET:
// when the previous step's (or the seeding's) writes all went through the fast path, the last
// of them answered with the document as it left it, which holds every one of them (the fast
// path sends one PATCH at a time). A write on the conditional path, or one whose outcome is
// unknown, spoils that; so does a reply without the document. Only a reply less than
// kCarriedFreshMs old serves: another client's write in between is then concurrent with the
// step's start, as it could be with a GET's.
void JobRunner::Execution::Carry(json::Value document) {
  std::lock_guard<std::mutex> lock(carried_mu_);
  if (carried_spoiled_) return;
  if (!document.IsObject()) {
    carried_spoiled_ = true;
    carried_.reset();
    return;
  }
  carried_ = std::move(document);
  carried_at_ms_ = NowMs();
}

void JobRunner::Execution::SpoilCarried() {
  std::lock_guard<std::mutex> lock(carried_mu_);
  carried_spoiled_ = true;
  carried_.reset();
}

std::optional<json::Value> JobRunner::Execution::TakeCarried() {
  std::lock_guard<std::mutex> lock(carried_mu_);
  std::optional<json::Value> out;
  if (!carried_spoiled_ && carried_ && NowMs() - carried_at_ms_ <= kCarriedFreshMs) out = std::move(carried_);
  carried_.reset();
  carried_spoiled_ = false;
  return out;
}

void JobRunner::Execution::Succeed(int step, int task, const http_client::Response& reply, int64_t started_ms) {
  const TaskSpec& t = spec_.steps[step].tasks[task];
  TaskRow& row = tasks_[step][task];
  json::Value result = ReplyValue(reply.status, reply.MediaType(), reply.body);
  std::vector<NewEvent> events;
  if (t.store.empty()) {
    ReleaseCall(task);  // no result to write: no PATCH should wait for this task
  } else if (auto s = WriteState(t, reply.status, result, step, task, events); !s) {
    if (ctl_.stop_requested()) return;  // stays dispatched: resumed, the repeat replays the reply
    row.result = std::move(result);
    return FailTask(step, task, s.error().message, reply.status, true);
  }
  row.status = kTaskSucceeded;
  row.http_status = reply.status;
  row.result = std::move(result);
  row.error.clear();
  row.sent = true;
  row.finished_at = NowMs();
  int64_t duration = *row.finished_at - started_ms;
  events.push_back(MakeEvent("task_succeeded", {{"step", step}, {"task", task}, {"tag", t.Label()},
                                                {"status", reply.status}, {"durationMs", duration},
                                                {"attempts", row.attempts}, {"requestId", row.request_id}}));
  if (!Settle(task, events)) {
    if (auto s = Record([&](const auto& e, const auto& q) { return r_.store_.FinishTask(job_.id, row, e, q); },
                        std::move(events));
        !s) {
      log::Logger("job-control")
          .Error("cannot record a task outcome", {{"jobId", job_.id}, {"error", s.error().message}});
    }
  }
  if (r_.hooks_.task_finished) r_.hooks_.task_finished(static_cast<double>(duration) / 1000.0, true);
}

// A parallel step's task that succeeds when none of its step's calls is still running leaves its
// record to the step's end, where RecordSettled commits the records of all such tasks at once:
// they end together (their results shared a PATCH), so one commit serves them all, and the step
// waits for it before the next one starts. A task that ends while others still run records at
// once, so that it shows as soon as it is done.
bool JobRunner::Execution::Settle(int task, std::vector<NewEvent>& events) {
  if (static_cast<size_t>(task) >= call_open_.size() || open_calls_.load() > 0) return false;
  std::lock_guard<std::mutex> lock(settled_mu_);
  settled_.push_back(Settled{task, std::move(events)});
  return true;
}

void JobRunner::Execution::RecordSettled(int step) {
  std::vector<Settled> settled;
  {
    std::lock_guard<std::mutex> lock(settled_mu_);
    settled.swap(settled_);
  }
  if (settled.empty()) return;
  std::vector<const TaskRow*> rows;
  std::vector<NewEvent> events;
  for (Settled& one : settled) {
    rows.push_back(&tasks_[step][one.task]);
    for (NewEvent& e : one.events) events.push_back(std::move(e));
  }
  if (auto s = Record([&](const auto& e, const auto& q) { return r_.store_.FinishTasks(job_.id, rows, e, q); },
                      std::move(events));
      !s) {
    log::Logger("job-control").Error("cannot record task outcomes", {{"jobId", job_.id}, {"error", s.error().message}});
  }
}

void JobRunner::Execution::FailTask(int step, int task, const std::string& message, std::optional<int> http_status,
                                    bool sent) {
  ReleaseCall(task);
  const TaskSpec& t = spec_.steps[step].tasks[task];
  TaskRow& row = tasks_[step][task];
  row.status = kTaskFailed;
  row.error = message;
  row.http_status = http_status;
  row.sent = sent;
  row.finished_at = NowMs();
  if (!row.started_at) row.started_at = row.finished_at;
  int64_t duration = *row.finished_at - *row.started_at;
  json::Object data{{"step", step}, {"task", task}, {"tag", t.Label()}, {"error", message}, {"durationMs", duration},
                    {"attempts", row.attempts}};
  if (http_status) data.Set("status", *http_status);
  if (!row.request_id.empty()) data.Set("requestId", row.request_id);
  if (auto s = Record([&](const auto& e, const auto& q) { return r_.store_.FinishTask(job_.id, row, e, q); },
                      {MakeEvent("task_failed", std::move(data))});
      !s) {
    log::Logger("job-control").Error("cannot record a task outcome", {{"jobId", job_.id}, {"error", s.error().message}});
  }
  if (r_.hooks_.task_finished) r_.hooks_.task_finished(static_cast<double>(duration) / 1000.0, false);
}

// One commit for the change and its events instead of one each; a watcher woken by an event sees
// the task's new status too. When they cannot be written together, the change alone is (the event
// log is history, never a reason to stop a job), then the events on their own.
// Deferred events (step_started) go first, in the same commit; they are kept even when the change
// itself cannot be written.
Status JobRunner::Execution::Record(const TaskWrite& write, std::vector<NewEvent> events) {
  // record_mu_ orders this job's writes (a deferred event must not be overtaken by a later one).
  // It is held only until the write has its place in the store's commit order, not through the
  // commit, so that the parallel tasks of a step can share one commit.
  std::unique_lock<std::mutex> lock(record_mu_);
  size_t deferred = deferred_.size();
  if (deferred > 0) {
    events.insert(events.begin(), std::make_move_iterator(deferred_.begin()), std::make_move_iterator(deferred_.end()));
    deferred_.clear();
  }
  Status s = write(events, [&] { lock.unlock(); });
  if (s) {
    if (lock.owns_lock()) lock.unlock();
    r_.events_.Appended(job_.id);
    return s;
  }
  if (!lock.owns_lock()) lock.lock();
  s = write({}, {});
  size_t keep = s ? events.size() : deferred;
  for (size_t i = 0; i < keep; ++i) r_.events_.Append(job_.id, events[i].type, events[i].data.AsObject());
  return s;
}

void JobRunner::Execution::FlushDeferredLocked() {
  for (auto& e : deferred_) r_.events_.Append(job_.id, e.type, e.data.AsObject());
  deferred_.clear();
}

bool JobRunner::Execution::RunSaga(json::Array& failures) {
  auto rows = r_.store_.ListTasks(job_.id);
  auto done = r_.store_.ListReverts(job_.id);
  if (!rows || !done) return false;
  std::map<std::string, RevertRow> previous;
  for (auto& r : *done) previous[Key(r.step, r.task)] = r;
  std::vector<TaskRow> plan;
  for (auto& t : *rows) {
    bool applied = t.status == kTaskSucceeded || t.status == kTaskDispatched || (t.status == kTaskFailed && t.sent);
    if (applied && !t.request_id.empty()) plan.push_back(t);
  }
  // Latest first: later steps before earlier ones, and within a step the higher task first.
  std::sort(plan.begin(), plan.end(), [](const TaskRow& a, const TaskRow& b) {
    return a.step != b.step ? a.step > b.step : a.task > b.task;
  });
  for (const TaskRow& t : plan) {
    auto it = previous.find(Key(t.step, t.task));
    if (it != previous.end() && it->second.status == kTaskSucceeded) continue;
    if (ctl_.stop_requested()) return false;
    std::string error;
    RevertOutcome o = RevertOne(t, it == previous.end() ? 0 : it->second.attempts, error);
    if (o == RevertOutcome::kStop) return false;
    if (o == RevertOutcome::kNotReverted) {
      failures.push_back(json::Object{{"step", t.step}, {"task", t.task}, {"tag", t.label},
                                      {"requestId", t.request_id}, {"service", t.service_url}, {"error", error}});
    }
  }
  return true;
}

JobRunner::Execution::RevertOutcome JobRunner::Execution::RevertOne(const TaskRow& t, int previous_attempts,
                                                                     std::string& error) {
  json::Value body = json::Object{{"requestId", t.request_id}};
  for (const char* key : {"command", "resource", "id", "payload"}) {
    if (const json::Value* v = t.request.Find(key)) body.Set(key, *v);
  }
  std::string url = t.service_url + "/revert";
  if (auto href = r_.directory_.FormHref(t.service_url, "revert"); href && href->has_value()) url = **href;
  milliseconds timeout = r_.options_.task_timeout;
  if (t.step < static_cast<int>(spec_.steps.size()) && t.task < static_cast<int>(spec_.steps[t.step].tasks.size())) {
    timeout = TimeoutOf(spec_.steps[t.step].tasks[t.task]);
  }
  const RetryPolicy& policy = r_.options_.revert_retry;
  RevertRow rr;
  rr.step = t.step;
  rr.task = t.task;
  rr.request_id = t.request_id;
  rr.attempts = previous_attempts;
  std::string text = json::Dump(body);
  for (int n = 0; n < policy.max_attempts; ++n) {
    rr.attempts += 1;
    rr.status = "pending";
    rr.at = NowMs();
    (void)r_.store_.SaveRevert(job_.id, rr);
    Event("revert_sent", {{"step", t.step}, {"task", t.task}, {"tag", t.label}, {"requestId", t.request_id},
                          {"url", url}, {"attempt", rr.attempts}});
    http_client::Request req;
    req.method = "POST";
    req.url = url;
    req.body = text;
    req.request_id = job_.id;
    req.timeout = timeout;
    auto reply = r_.client_.Send(req);
    bool retry = false;
    if (reply && reply->ok()) {
      rr.status = kTaskSucceeded;
      rr.http_status = reply->status;
      rr.reply = ReplyValue(reply->status, reply->MediaType(), reply->body);
      rr.error.clear();
      rr.at = NowMs();
      (void)r_.store_.SaveRevert(job_.id, rr);
      json::Value outcome = rr.reply.Find("status") ? *rr.reply.Find("status") : json::Value();
      Event("revert_succeeded", {{"step", t.step}, {"task", t.task}, {"tag", t.label}, {"requestId", t.request_id},
                                 {"status", reply->status}, {"outcome", outcome}});
      if (r_.hooks_.revert_finished) r_.hooks_.revert_finished("succeeded");
      return RevertOutcome::kReverted;
    }
    if (reply) {
      rr.http_status = reply->status;
      error = StatusFailure(*reply);
      retry = reply->status >= 500;
    } else {
      rr.http_status.reset();
      error = reply.error().message;
      retry = reply.error().code != ErrorCode::kInvalidArgument;
    }
    if (!retry || n + 1 >= policy.max_attempts) break;
    if (!ctl_.SleepUnlessStopped(BackoffDelay(policy, n + 1, RandomUnit()))) return RevertOutcome::kStop;
  }
  rr.status = kTaskFailed;
  rr.error = error;
  rr.at = NowMs();
  (void)r_.store_.SaveRevert(job_.id, rr);
  Event("revert_failed", {{"step", t.step}, {"task", t.task}, {"tag", t.label}, {"requestId", t.request_id},
                          {"error", error}, {"attempts", rr.attempts}});
  if (r_.hooks_.revert_finished) r_.hooks_.revert_finished("failed");
  return RevertOutcome::kNotReverted;
}

// ---------------------------------------------------------------------------------------------

JobRunner::JobRunner(Store& store, EventLog& events, ServiceDirectory& directory, http_client::Client& client,
                     const Clock& clock, TaskPool& pool, RunnerOptions options, RunnerHooks hooks)
    : store_(store),
      events_(events),
      directory_(directory),
      client_(client),
      clock_(clock),
      pool_(pool),
      options_(std::move(options)),
      hooks_(std::move(hooks)) {}

std::string JobRunner::Run(const std::string& job_id, RunControl& control) {
  auto job = store_.GetJob(job_id);
  if (!job) return "";
  if (IsTerminalStatus(job->status)) return job->status;
  auto doc = json::Parse(job->document);
  ParsedJob parsed = doc ? ParseJob(*doc, options_.limits) : ParsedJob{};
  if (!doc || !parsed.ok()) {
    // Validated when accepted; only a document from another version could get here.
    std::string why = !doc ? doc.error().message : parsed.problems.front();
    (void)store_.FinishJob(job_id, kFailed, ToUnixMillis(clock_.Now()),
                           JobError("error", json::Value(), "the stored job document is not valid: " + why));
    events_.JobEnded(job_id);
    return kFailed;
  }
  Execution run(*this, std::move(*job), std::move(*parsed.job), control);
  return run.Run();
}

}  // namespace csp::job_control
