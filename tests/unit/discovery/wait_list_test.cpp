#include "discovery/wait_list.h"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using csp::discovery::WaitList;
using Clock = std::chrono::steady_clock;

// Records which waiters fired, and on which thread; lets a test wait for a count with a bound.
class Fired {
 public:
  WaitList::Fire Make(int id) {
    return [this, id] {
      std::lock_guard<std::mutex> lock(mu_);
      ids_.push_back(id);
      threads_.push_back(std::this_thread::get_id());
      cv_.notify_all();
    };
  }
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return ids_.size() >= n; });
  }
  std::vector<int> ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  std::vector<std::thread::id> threads() {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> ids_;
  std::vector<std::thread::id> threads_;
};

const auto kFarAway = std::chrono::hours(1);

}  // namespace

TEST_SUITE("discovery.wait_list") {
  TEST_CASE("a notified index past the waiter's fires it - one not past does not") {
    Fired fired;  // outlives the WaitList, whose destructor fires what is left
    WaitList waits;
    waits.Wait(5, Clock::now() + kFarAway, fired.Make(1));
    waits.Wait(7, Clock::now() + kFarAway, fired.Make(2));
    waits.Notify(5);  // not past either
    waits.Notify(6);
    REQUIRE(fired.WaitFor(1));
    CHECK(fired.ids() == std::vector<int>{1});
    CHECK(waits.size() == 1);
    bool on_own_thread = fired.threads()[0] != std::this_thread::get_id();
    CHECK(on_own_thread);
    waits.Notify(8);
    REQUIRE(fired.WaitFor(2));
    CHECK(fired.ids() == std::vector<int>{1, 2});
    CHECK(waits.size() == 0);
  }

  TEST_CASE("a waiter behind an index already notified fires at once") {
    Fired fired;  // outlives the WaitList, whose destructor fires what is left
    WaitList waits;
    waits.Notify(10);
    waits.Wait(3, Clock::now() + kFarAway, fired.Make(1));
    REQUIRE(fired.WaitFor(1));
    CHECK(fired.ids() == std::vector<int>{1});
  }

  TEST_CASE("a waiter fires at its deadline without any change") {
    Fired fired;  // outlives the WaitList, whose destructor fires what is left
    WaitList waits;
    waits.Wait(1, Clock::now() + kFarAway, fired.Make(1));
    waits.Wait(1, Clock::now() - std::chrono::milliseconds(1), fired.Make(2));
    REQUIRE(fired.WaitFor(1));
    CHECK(fired.ids() == std::vector<int>{2});
    CHECK(waits.size() == 1);
  }

  TEST_CASE("stop fires every parked waiter - waiters after stop fire on the caller") {
    Fired fired;  // outlives the WaitList, whose destructor fires what is left
    WaitList waits;
    for (int i = 0; i < 1000; ++i) waits.Wait(1, Clock::now() + kFarAway, fired.Make(i));
    CHECK(waits.size() == 1000);
    waits.Stop();
    CHECK(fired.ids().size() == 1000);
    CHECK(waits.size() == 0);
    waits.Wait(1, Clock::now() + kFarAway, fired.Make(-1));
    REQUIRE(fired.ids().size() == 1001);
    bool on_caller = fired.threads().back() == std::this_thread::get_id();
    CHECK(on_caller);
    waits.Stop();  // idempotent
  }
}
