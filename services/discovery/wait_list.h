#pragma once
// Parked blocking queries (GET /find?index=N&wait=30s). A waiter is a callback, not a thread:
// a thousand open watches cost a thousand small records and no extra threads. One thread fires
// them — when the registry's index passes the waiter's index, at its deadline, or at Stop() —
// so neither the registry's writers nor the server's workers do that work.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace csp::discovery {

class WaitList {
 public:
  using Fire = std::function<void()>;
  using TimePoint = std::chrono::steady_clock::time_point;

  // Starts the firing thread.
  WaitList();
  ~WaitList();  // Stop()
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;

  // Calls `fire` exactly once, on the WaitList's thread: as soon as an index greater than
  // `after` has been notified (at once if one already was), when `deadline` passes, or at
  // Stop(). After Stop(), `fire` runs at once on the calling thread.
  void Wait(uint64_t after, TimePoint deadline, Fire fire);

  // The registry's index is now `index`. Cheap and non-blocking: safe to call under the
  // registry's lock. Indexes lower than one already notified are ignored.
  void Notify(uint64_t index);

  // Fires every parked waiter now and stops the thread. Idempotent.
  void Stop();

  // Waiters parked right now.
  size_t size() const;

 private:
  struct Waiter {
    uint64_t after;
    TimePoint deadline;
    Fire fire;
  };

  void Run();
  // Moves the waiters that are due out of waiters_; returns the earliest remaining deadline.
  std::vector<Fire> TakeDueLocked(TimePoint now, TimePoint& next_deadline);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Waiter> waiters_;
  uint64_t latest_ = 0;
  bool dirty_ = false;  // something changed since the thread last looked
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace csp::discovery
