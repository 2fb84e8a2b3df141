#include "events.h"

#include "csp/core/time.h"
#include "csp/log/log.h"

namespace csp::job_control {

namespace {

constexpr int64_t kMaxEventsPerReply = 1000;

}  // namespace

json::Value EventJson(const EventRow& e) {
  json::Value out = json::Object{{"seq", e.seq}, {"at", FormatIso8601(FromUnixMillis(e.at))}, {"type", e.type}};
  if (e.data.IsObject()) {
    for (const auto& [k, v] : e.data.AsObject()) {
      if (k != "seq" && k != "at" && k != "type") out.Set(k, v);
    }
  }
  return out;
}

EventLog::EventLog(Store& store, const Clock& clock) : store_(store), clock_(clock) {
  timer_ = std::thread([this] { TimerLoop(); });
}

EventLog::~EventLog() { Shutdown(); }

void EventLog::Append(const std::string& job_id, const std::string& type, json::Object data) {
  auto row = store_.AppendEvent(job_id, ToUnixMillis(clock_.Now()), type, json::Value(std::move(data)));
  if (!row) {
    log::Logger("job-control").Warn("cannot record an event", {{"jobId", job_id}, {"type", type},
                                                               {"error", row.error().message}});
    return;
  }
  Wake(job_id, false);
}

void EventLog::Watch(const std::string& job_id, int64_t after, std::chrono::milliseconds wait, Callback callback) {
  auto events = store_.ListEvents(job_id, after, kMaxEventsPerReply);
  bool have = events && !events->empty();
  bool ended = false;
  if (!have && wait.count() > 0) {
    if (between_looks_) between_looks_();
    auto job = store_.GetJob(job_id);
    ended = !job || IsTerminalStatus(job->status);
    // The job may have ended between the two looks; its job_ended event is committed with its
    // end, so looking again now finds it.
    if (ended && job) events = store_.ListEvents(job_id, after, kMaxEventsPerReply);
  }
  if (have || ended || wait.count() <= 0 || !events) {
    callback(events ? std::move(*events) : std::vector<EventRow>{});
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      lock.unlock();
      callback({});
      return;
    }
    watchers_.emplace(job_id, Watcher{after, std::chrono::steady_clock::now() + wait, std::move(callback)});
    cv_.notify_all();
  }
  // An event or the job's end may have come between the look above and parking: look again.
  auto again = store_.ListEvents(job_id, after, 1);
  if (again && !again->empty()) {
    Wake(job_id, false);
    return;
  }
  auto job = store_.GetJob(job_id);
  if (!job || IsTerminalStatus(job->status)) Wake(job_id, true);
}

void EventLog::JobEnded(const std::string& job_id) { Wake(job_id, true); }

void EventLog::Wake(const std::string& job_id, bool ended) {
  std::vector<Watcher> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto range = watchers_.equal_range(job_id);
    for (auto it = range.first; it != range.second;) {
      ready.push_back(std::move(it->second));
      it = watchers_.erase(it);
    }
  }
  for (auto& w : ready) {
    if (ended) {
      Answer(job_id, std::move(w));
      continue;
    }
    auto events = store_.ListEvents(job_id, w.after, kMaxEventsPerReply);
    if (events && events->empty()) {
      // Nothing newer than this watcher's mark (it asked with a later "after"): park it again.
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        watchers_.emplace(job_id, std::move(w));
        continue;
      }
    }
    w.callback(events ? std::move(*events) : std::vector<EventRow>{});
  }
}

void EventLog::Answer(const std::string& job_id, Watcher w) {
  auto events = store_.ListEvents(job_id, w.after, kMaxEventsPerReply);
  w.callback(events ? std::move(*events) : std::vector<EventRow>{});
}

void EventLog::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, Watcher>> due;
    auto next = now + std::chrono::hours(1);
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      if (it->second.deadline <= now) {
        due.emplace_back(it->first, std::move(it->second));
        it = watchers_.erase(it);
        continue;
      }
      next = std::min(next, it->second.deadline);
      ++it;
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& [job, w] : due) Answer(job, std::move(w));
      lock.lock();
      continue;
    }
    cv_.wait_until(lock, next);
  }
}

void EventLog::Shutdown() {
  std::multimap<std::string, Watcher> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !timer_.joinable()) return;
    stopping_ = true;
    all.swap(watchers_);
    cv_.notify_all();
  }
  if (timer_.joinable()) timer_.join();
  for (auto& [job, w] : all) Answer(job, std::move(w));
}

size_t EventLog::parked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watchers_.size();
}

}  // namespace csp::job_control
