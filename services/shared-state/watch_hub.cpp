#include "shared-state/watch_hub.h"

namespace csp::shared_state {

WatchHub::WatchHub(const Clock& clock) : clock_(clock) {}

WatchHub::~WatchHub() { Shutdown(); }

void WatchHub::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

WatchHub::Token WatchHub::Add(std::string id, WatchCondition condition, std::chrono::steady_clock::time_point deadline,
                              Callback callback) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      Token token = next_token_++;
      by_document_[id].insert(token);
      deadlines_.emplace(deadline, token);
      watches_.emplace(token, Watch{std::move(id), condition, deadline, std::move(callback)});
      cv_.notify_all();  // the new deadline may be the earliest
      return token;
    }
  }
  callback(WatchOutcome::kShutdown);
  return 0;
}

bool WatchHub::Take(Token token) {
  std::lock_guard<std::mutex> lock(mu_);
  return RemoveLocked(token) != nullptr;
}

void WatchHub::Notify(const std::string& id, int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  // Nobody watches most documents; skip queueing for them.
  if (by_document_.find(id) == by_document_.end()) return;
  events_.emplace_back(id, version);
  cv_.notify_all();
}

WatchHub::Callback WatchHub::RemoveLocked(Token token) {
  auto it = watches_.find(token);
  if (it == watches_.end()) return nullptr;
  Watch& w = it->second;
  auto doc = by_document_.find(w.id);
  if (doc != by_document_.end()) {
    doc->second.erase(token);
    if (doc->second.empty()) by_document_.erase(doc);
  }
  deadlines_.erase({w.deadline, token});
  Callback callback = std::move(w.callback);
  watches_.erase(it);
  return callback;
}

WatchHub::Fired WatchHub::CollectDueLocked() {
  Fired fired;
  std::vector<std::pair<std::string, int64_t>> events;
  events.swap(events_);
  for (const auto& [id, version] : events) {
    auto doc = by_document_.find(id);
    if (doc == by_document_.end()) continue;
    std::vector<Token> satisfied;
    for (Token token : doc->second) {
      if (watches_.at(token).condition.SatisfiedBy(version)) satisfied.push_back(token);
    }
    for (Token token : satisfied) fired.emplace_back(RemoveLocked(token), WatchOutcome::kChanged);
  }
  auto now = clock_.Steady();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    fired.emplace_back(RemoveLocked(deadlines_.begin()->second), WatchOutcome::kTimedOut);
  }
  return fired;
}

void WatchHub::RunDue() {
  Fired fired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fired = CollectDueLocked();
  }
  for (auto& [callback, outcome] : fired) callback(outcome);
}

void WatchHub::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (events_.empty()) {
      if (deadlines_.empty()) {
        cv_.wait(lock);
      } else {
        cv_.wait_for(lock, deadlines_.begin()->first - clock_.Steady());
      }
    }
    if (stopping_) break;
    Fired fired = CollectDueLocked();
    if (fired.empty()) continue;
    lock.unlock();
    for (auto& [callback, outcome] : fired) callback(outcome);
    lock.lock();
  }
}

size_t WatchHub::Shutdown() {
  Fired fired;
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
    thread.swap(thread_);
    for (auto& [token, watch] : watches_) fired.emplace_back(std::move(watch.callback), WatchOutcome::kShutdown);
    watches_.clear();
    by_document_.clear();
    deadlines_.clear();
    events_.clear();
  }
  if (thread.joinable()) thread.join();
  for (auto& [callback, outcome] : fired) callback(outcome);
  return fired.size();
}

size_t WatchHub::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watches_.size();
}

}  // namespace csp::shared_state
