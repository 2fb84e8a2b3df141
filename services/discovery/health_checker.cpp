#include "discovery/health_checker.h"

#include <algorithm>

namespace csp::discovery {

HealthChecker::HealthChecker(Registry& registry, http_client::Client& client, HealthCheckerOptions options,
                             CheckObserver observer)
    : registry_(registry), client_(client), options_(options), observer_(std::move(observer)) {
  options_.concurrency = std::max(1, options_.concurrency);
}

HealthChecker::~HealthChecker() { Stop(); }

void HealthChecker::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (loop_.joinable() || stopping_) return;
  loop_ = std::thread([this] { Loop(); });
}

void HealthChecker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (const Job& job : queue_) {
      in_flight_.erase(job.target.registry_id);
      if (job.round) --job.round->remaining;
    }
    queue_.clear();
    work_cv_.notify_all();
    done_cv_.notify_all();
    loop_cv_.notify_all();
  }
  if (loop_.joinable()) loop_.join();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

void HealthChecker::Tick() {
  auto round = std::make_shared<Round>();
  Dispatch(round);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return round->remaining == 0 || stopping_; });
}

size_t HealthChecker::Dispatch(const std::shared_ptr<Round>& round) {
  size_t evicted = registry_.ExpireTtls();
  if (evicted > 0 && observer_.on_evicted) observer_.on_evicted("ttl", evicted);
  // Taken outside mu_: the registry has its own lock, and the two are never nested.
  std::vector<PingTarget> targets = registry_.PingTargets();
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return 0;
  size_t queued = 0;
  for (PingTarget& target : targets) {
    if (!in_flight_.insert(target.registry_id).second) continue;
    queue_.push_back(Job{std::move(target), round});
    ++queued;
  }
  if (round) round->remaining += queued;
  EnsureWorkersLocked();
  work_cv_.notify_all();
  return queued;
}

void HealthChecker::EnsureWorkersLocked() {
  // Started on demand: one worker per check queued or running (in_flight_), up to the
  // concurrency bound. Workers are kept once started, so a steady set of N targets keeps
  // min(N, concurrency) threads, and a registry with nothing to check keeps none (each idle
  // thread costs its touched stack and, once it allocates, a malloc arena).
  size_t wanted = std::min(in_flight_.size(), static_cast<size_t>(options_.concurrency));
  while (workers_.size() < wanted) {
    workers_.emplace_back([this] { Work(); });
  }
}

void HealthChecker::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Dispatch(nullptr);
    lock.lock();
    loop_cv_.wait_for(lock, options_.interval, [&] { return stopping_; });
  }
}

void HealthChecker::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Check(job.target);
    lock.lock();
    in_flight_.erase(job.target.registry_id);
    if (job.round && --job.round->remaining == 0) done_cv_.notify_all();
  }
}

void HealthChecker::Check(const PingTarget& target) {
  http_client::Request request;
  request.method = "GET";
  request.url = target.ping_url;
  request.timeout = options_.timeout;
  request.connect_timeout = std::min(options_.timeout, request.connect_timeout);
  auto response = client_.Send(request);
  bool passed = response.ok() && response->ok();
  if (!passed) {
    log_.Debug("health check failed",
               {{"registryID", target.registry_id},
                {"pingURL", target.ping_url},
                {"error", response.ok() ? "status " + std::to_string(response->status) : response.error().message}});
  }
  CheckOutcome outcome = registry_.RecordCheck(target, passed);
  if (outcome == CheckOutcome::kIgnored) return;
  if (observer_.on_check) observer_.on_check(passed);
  if (outcome == CheckOutcome::kEvicted && observer_.on_evicted) observer_.on_evicted("ping", 1);
}

}  // namespace csp::discovery
