#include "job_service.h"

#include <algorithm>

#include "csp/core/id.h"
#include "csp/core/time.h"
#include "csp/json/json.h"
#include "csp/log/log.h"

namespace csp::job_control {

NewJob BuildNewJob(std::string id, const json::Value& document, const JobSpec& spec, std::string idempotency_key,
                   int64_t created_at) {
  NewJob job;
  job.id = std::move(id);
  job.name = spec.name;
  job.document = json::Dump(document);
  job.idempotency_key = std::move(idempotency_key);
  job.created_at = created_at;
  job.step_count = static_cast<int>(spec.steps.size());
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    const StepSpec& step = spec.steps[i];
    for (size_t j = 0; j < step.tasks.size(); ++j) {
      const TaskSpec& t = step.tasks[j];
      job.tasks.push_back({static_cast<int>(i), static_cast<int>(j), t.Label(), !step.enabled || !t.enabled});
    }
  }
  return job;
}

JobService::JobService(Store& store, EventLog& events, JobRunner& runner, const Clock& clock, ServiceOptions options)
    : store_(store), events_(events), runner_(runner), clock_(clock), options_(options) {}

JobService::~JobService() {
  Stop(std::chrono::hours(1));
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  if (pruner_.joinable()) pruner_.join();
}

Status JobService::Start() {
  auto unfinished = store_.UnfinishedJobs();
  if (!unfinished) return unfinished.error();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return Ok();
    started_ = true;
    // Recovered jobs go first, in the order they were accepted; the queue bound does not apply.
    std::deque<std::string> queue;
    for (auto& id : *unfinished) queue.push_back(id);
    for (auto& id : queue_) {
      if (std::find(queue.begin(), queue.end(), id) == queue.end()) queue.push_back(id);
    }
    queue_.swap(queue);
  }
  if (!unfinished->empty()) log_.Info("resuming unfinished jobs", {{"count", static_cast<int64_t>(unfinished->size())}});
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++live_workers_;
    }
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  pruner_ = std::thread([this] { PruneLoop(); });
  return Ok();
}

bool JobService::Stop(std::chrono::milliseconds deadline) {
  std::map<std::string, std::vector<EndCallback>> waiting;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      for (auto& [id, control] : running_) control->RequestStop();
      waiting.swap(on_end_);
      cv_.notify_all();
      prune_cv_.notify_all();
    }
  }
  for (auto& [id, callbacks] : waiting) {
    for (auto& cb : callbacks) cb(JobOutcome{id, "", json::Value()});
  }
  std::unique_lock<std::mutex> lock(mu_);
  bool all = done_cv_.wait_for(lock, deadline, [&] { return live_workers_ == 0; });
  lock.unlock();
  if (all) {
    for (auto& t : workers_) {
      if (t.joinable()) t.join();
    }
  }
  if (pruner_.joinable()) pruner_.join();
  return all;
}

void JobService::WorkerLoop() {
  while (true) {
    std::string id;
    auto control = std::make_shared<RunControl>();
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      id = queue_.front();
      queue_.pop_front();
      // A job runs on one executor at a time (it could be queued twice around a cancel).
      if (running_.count(id) != 0) continue;
      running_[id] = control;
    }
    std::string status = runner_.Run(id, *control);
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_.erase(id);
    }
    if (IsTerminalStatus(status)) FireEnd(id, status);
  }
  std::lock_guard<std::mutex> lock(mu_);
  --live_workers_;
  done_cv_.notify_all();
}

void JobService::PruneLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto interval = std::min(options_.prune_interval, std::max<std::chrono::milliseconds>(options_.retain, std::chrono::seconds(1)));
    prune_cv_.wait_for(lock, interval, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    int64_t before = ToUnixMillis(clock_.Now()) - options_.retain.count();
    auto pruned = store_.PruneFinished(before);
    if (pruned && *pruned > 0) log_.Info("pruned finished jobs", {{"count", *pruned}});
    lock.lock();
  }
}

void JobService::AddEndCallback(const std::string& job_id, EndCallback cb) {
  std::lock_guard<std::mutex> lock(mu_);
  on_end_[job_id].push_back(std::move(cb));
}

void JobService::FireEnd(const std::string& job_id, const std::string& status) {
  std::vector<EndCallback> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = on_end_.find(job_id);
    if (it == on_end_.end()) return;
    callbacks = std::move(it->second);
    on_end_.erase(it);
  }
  if (status == kCompleted) {
    JobOutcome outcome{job_id, status, json::Value()};
    for (auto& cb : callbacks) cb(outcome);
    return;
  }
  auto job = store_.GetJob(job_id);
  JobOutcome outcome{job_id, job ? job->status : std::string(kFailed), job ? job->error : json::Value()};
  for (auto& cb : callbacks) cb(outcome);
}

Result<JobService::Submitted> JobService::Submit(const json::Value& document, const JobSpec& spec,
                                                 const std::string& idempotency_key, EndCallback on_end) {
  auto earlier = [&](const std::string& id) -> Result<Submitted> {
    auto job = store_.GetJob(id);
    if (!job) return job.error();
    if (on_end) {
      if (IsTerminalStatus(job->status)) {
        on_end(JobOutcome{id, job->status, job->error});
      } else {
        AddEndCallback(id, on_end);
        // It may have ended between the read and the registration.
        auto again = store_.GetJob(id);
        if (again && IsTerminalStatus(again->status)) FireEnd(id);
      }
    }
    return Submitted{id, job->status, false};
  };
  if (!idempotency_key.empty()) {
    if (auto id = store_.FindByIdempotencyKey(idempotency_key)) return earlier(*id);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Error(ErrorCode::kUnavailable, "job-control is shutting down");
    if (queue_.size() >= options_.queue_size) {
      return Error(ErrorCode::kOverloaded, "the job queue is full (" + std::to_string(queue_.size()) +
                                               " jobs waiting); retry later");
    }
  }
  NewJob job = BuildNewJob(NewTimeOrderedUuid(), document, spec, idempotency_key, ToUnixMillis(clock_.Now()));
  auto created = store_.CreateJob(job);
  if (!created) return created.error();
  if (!created->created) return earlier(created->id);
  if (on_end) AddEndCallback(job.id, std::move(on_end));
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(job.id);
    cv_.notify_one();
  }
  return Submitted{job.id, kQueued, true};
}

Result<std::string> JobService::Cancel(const std::string& job_id) {
  auto job = store_.GetJob(job_id);
  if (!job) return job.error();
  if (IsTerminalStatus(job->status)) {
    return Error(ErrorCode::kConflict, "Job " + job_id + " has already ended (" + job->status + ")");
  }
  if (job->status == kQueued) {
    json::Value error = json::Object{{"status", "cancelled"}, {"task", nullptr}, {"error", "cancelled by request"}};
    auto cancelled = store_.CancelQueued(job_id, ToUnixMillis(clock_.Now()), error);
    if (!cancelled) return cancelled.error();
    if (*cancelled) {
      events_.JobEnded(job_id);
      FireEnd(job_id);
      return std::string(kCancelled);
    }
    // An executor took it meanwhile: cancel it as a running job.
  }
  if (auto s = store_.SetCancelRequested(job_id); !s) return s.error();
  events_.Append(job_id, "cancel_requested", {});
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(job_id);
    if (it != running_.end()) it->second->RequestCancel();
  }
  auto now = store_.GetJob(job_id);
  return now ? now->status : std::string(kRunning);
}

Status JobService::Delete(const std::string& job_id) {
  auto job = store_.GetJob(job_id);
  if (!job) return job.error();
  if (!IsTerminalStatus(job->status)) {
    return Error(ErrorCode::kConflict,
                 "Job " + job_id + " is " + job->status + "; only an ended job can be deleted (cancel it first)");
  }
  return store_.DeleteJob(job_id);
}

size_t JobService::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

size_t JobService::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_.size();
}

}  // namespace csp::job_control
