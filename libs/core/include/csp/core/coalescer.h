#pragma once

// Coalescer: concurrent callers share one send. An item submitted while a batch is in flight
// waits and goes out with the others that arrived meanwhile, in the next batch, sent by one of
// their own callers (no extra thread). A lone caller sends its item at once, alone, so nothing is
// ever held back waiting for company. Each caller returns with the outcome of the batch that
// carried its item. The same shape as the SQLite group commit, for any batched request.
//
// Optionally a leader holds its batch open while its owner knows more items are on their way
// (set_hold): up to a bound, it waits for them to queue, so that items produced together go out
// together even when they are not produced at quite the same moment.

#include <chrono>
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

  // Before a leader sends a batch it waits, at most max_hold, while more_coming() is true: a
  // predicate of the owner's, called under the coalescer's lock (quick, no calling back), and
  // checked again whenever an item queues or Nudge() is called. Set before the first Submit.
  void set_hold(std::function<bool()> more_coming, std::chrono::milliseconds max_hold) {
    std::lock_guard<std::mutex> lock(mu_);
    more_coming_ = std::move(more_coming);
    max_hold_ = max_hold;
  }

  // Tells a holding leader to look at more_coming() again (call it after changing what the
  // predicate reads).
  void Nudge() {
    std::lock_guard<std::mutex> lock(mu_);
    if (holding_) hold_cv_.notify_one();
  }

  // on_queued, when given, is called under the lock right after the item has its place in the
  // queue (before any batch can take it): the place to change what more_coming() reads, so a
  // holding leader cannot send before this item is in.
  Outcome Submit(Item item, const std::function<void()>& on_queued = nullptr) {
    Waiter me(std::move(item));
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&me);
    if (on_queued) on_queued();
    if (holding_) hold_cv_.notify_one();
    if (sending_) {
      if (on_wait_) on_wait_();
      // Woken once: with the outcome, or to lead the next batch. Only this caller's own
      // condition is signalled, so a wait costs one sleep and one wake-up.
      me.cv.wait(lock, [&] { return me.outcome.has_value() || me.lead; });
      if (me.outcome) return std::move(*me.outcome);
    }
    sending_ = true;
    // Lead: send what is queued (this caller's item first among it), then, while more items
    // have queued meanwhile, send those too, up to kMaxRounds batches: the callers waiting for
    // them sleep until their outcome is in, and no one has to wake up just to take the lead.
    for (int round = 0;; ++round) {
      Hold(lock);
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
        // themselves. A caller whose own item was in this batch leaves with the exception; one
        // that already has its outcome keeps it.
        lock.lock();
        std::vector<Waiter*> requeue;
        for (size_t i = 0; i < waiters.size(); ++i) {
          if (waiters[i] == &me) continue;
          waiters[i]->item = std::move(batch[i]);
          requeue.push_back(waiters[i]);
        }
        queue_.insert(queue_.begin(), requeue.begin(), requeue.end());
        HandOver();
        if (!me.outcome) throw;
        return std::move(*me.outcome);
      }
      lock.lock();
      batches_ += 1;
      for (Waiter* w : waiters) {
        w->outcome = *outcome;
        if (w != &me) w->cv.notify_one();
      }
      if (queue_.empty() || round + 1 >= kMaxRounds) break;
    }
    HandOver();
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
  // Batches one leader sends in a row before it hands the lead to the next waiting caller.
  static constexpr int kMaxRounds = 8;

  struct Waiter {
    explicit Waiter(Item i) : item(std::move(i)) {}
    Item item;
    std::optional<Outcome> outcome;
    bool lead = false;
    std::condition_variable cv;
  };

  // Under the lock, by the leader about to take the queue: waits while more items are coming.
  void Hold(std::unique_lock<std::mutex>& lock) {
    if (!more_coming_ || max_hold_.count() <= 0 || !more_coming_()) return;
    holding_ = true;
    hold_cv_.wait_for(lock, max_hold_, [this] { return !more_coming_(); });
    holding_ = false;
  }

  // Under the lock, by the leader that is done: the first waiting caller leads next, if any.
  void HandOver() {
    if (queue_.empty()) {
      sending_ = false;
      return;
    }
    queue_.front()->lead = true;
    queue_.front()->cv.notify_one();
  }

  Send send_;
  std::function<void()> on_wait_;
  std::function<bool()> more_coming_;
  std::chrono::milliseconds max_hold_{0};
  mutable std::mutex mu_;
  std::condition_variable hold_cv_;  // the holding leader's
  bool holding_ = false;
  std::vector<Waiter*> queue_;
  bool sending_ = false;
  long batches_ = 0;
};

}  // namespace csp
