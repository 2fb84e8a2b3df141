#include "discovery/wait_list.h"

#include <utility>

namespace csp::discovery {

namespace {

void FireAll(std::vector<WaitList::Fire>& fires) {
  for (auto& fire : fires) {
    // A reply callback must not take the firing thread down with it.
    try {
      fire();
    } catch (...) {
    }
  }
}

}  // namespace

WaitList::WaitList() : thread_([this] { Run(); }) {}

WaitList::~WaitList() { Stop(); }

void WaitList::Wait(uint64_t after, TimePoint deadline, Fire fire) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      waiters_.push_back(Waiter{after, deadline, std::move(fire)});
      dirty_ = true;
      cv_.notify_one();
      return;
    }
  }
  fire();
}

void WaitList::Notify(uint64_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index <= latest_) return;
  latest_ = index;
  dirty_ = true;
  cv_.notify_one();
}

void WaitList::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

size_t WaitList::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

std::vector<WaitList::Fire> WaitList::TakeDueLocked(TimePoint now, TimePoint& next_deadline) {
  std::vector<Fire> due;
  next_deadline = TimePoint::max();
  auto keep = waiters_.begin();
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if (stopping_ || it->after < latest_ || it->deadline <= now) {
      due.push_back(std::move(it->fire));
      continue;
    }
    if (it->deadline < next_deadline) next_deadline = it->deadline;
    if (keep != it) *keep = std::move(*it);
    ++keep;
  }
  waiters_.erase(keep, waiters_.end());
  return due;
}

void WaitList::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  TimePoint next_deadline = TimePoint::max();
  for (;;) {
    auto woken = [&] { return dirty_ || stopping_; };
    if (next_deadline == TimePoint::max()) {
      cv_.wait(lock, woken);
    } else {
      cv_.wait_until(lock, next_deadline, woken);
    }
    dirty_ = false;
    std::vector<Fire> due = TakeDueLocked(std::chrono::steady_clock::now(), next_deadline);
    bool stopping = stopping_;
    lock.unlock();
    FireAll(due);
    lock.lock();
    if (stopping && waiters_.empty()) return;
  }
}

}  // namespace csp::discovery
