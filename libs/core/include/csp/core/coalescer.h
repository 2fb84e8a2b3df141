#pragma once

// Coalescer: concurrent callers share one send. An item submitted while a batch is in flight
// waits and goes out with the others that arrived meanwhile, in the next batch, sent by one of
// their own callers (no extra thread). A lone caller sends its item at once, alone, so nothing is
// ever held back waiting for company. Each caller returns with the outcome of the batch that
// carried its item. The same shape as the SQLite group commit, for any batched request.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace csp {

template <typename Item, typename Outcome>
class Coalescer {
 public:
  // Sends one batch (items in arrival order) and returns its outcome. Called without the lock
  // held, by one thread at a time.
  using Send = std::function<Outcome(const std::vector<Item>& batch)>;

  // on_wait, when given, is called (under the coalescer's lock: it must be quick and must not call
  // back) for each item that has to wait for the batch in flight.
  explicit Coalescer(Send send, std::function<void()> on_wait = nullptr)
      : send_(std::move(send)), on_wait_(std::move(on_wait)) {}
  Coalescer(const Coalescer&) = delete;
  Coalescer& operator=(const Coalescer&) = delete;

  Outcome Submit(Item item) {
    Waiter me{std::move(item), std::nullopt};
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&me);
    if (sending_ && on_wait_) on_wait_();
    while (!me.outcome) {
      if (sending_) {
        cv_.wait(lock);
        continue;
      }
      // Leader: take everything queued so far (this caller's item included) and send it.
      sending_ = true;
      std::vector<Waiter*> waiters;
      waiters.swap(queue_);
      std::vector<Item> batch;
      batch.reserve(waiters.size());
      for (Waiter* w : waiters) batch.push_back(std::move(w->item));
      lock.unlock();
      std::optional<Outcome> outcome;
      try {
        outcome.emplace(send_(batch));
      } catch (...) {
        // The other callers get their items back at the head of the queue and send them
        // themselves; this one leaves with the exception.
        lock.lock();
        std::vector<Waiter*> requeue;
        for (size_t i = 0; i < waiters.size(); ++i) {
          if (waiters[i] == &me) continue;
          waiters[i]->item = std::move(batch[i]);
          requeue.push_back(waiters[i]);
        }
        queue_.insert(queue_.begin(), requeue.begin(), requeue.end());
        Release();
        throw;
      }
      lock.lock();
      for (Waiter* w : waiters) w->outcome = *outcome;
      batches_ += 1;
      Release();
    }
    return std::move(*me.outcome);
  }

  // Batches sent so far (for tests and metrics).
  long batches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }

  // Items waiting for the next batch.
  size_t waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }

 private:
  struct Waiter {
    Item item;
    std::optional<Outcome> outcome;
  };

  void Release() {
    sending_ = false;
    cv_.notify_all();
  }

  Send send_;
  std::function<void()> on_wait_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Waiter*> queue_;
  bool sending_ = false;
  long batches_ = 0;
};

}  // namespace csp
