#include "shared-state/watch_hub.h"

#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fake_clock.h"

namespace csp::shared_state {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

// Records the outcomes delivered to each watch it hands out.
struct Recorder {
  WatchHub::Callback For(int index) {
    return [this, index](WatchOutcome outcome) {
      std::lock_guard<std::mutex> lock(mu);
      outcomes.emplace_back(index, outcome);
      cv.notify_all();
    };
  }
  std::vector<std::pair<int, WatchOutcome>> Take() {
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(outcomes, {});
  }
  // Waits (bounded) for at least n outcomes; for the threaded test.
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 10s, [&] { return outcomes.size() >= n; });
  }

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, WatchOutcome>> outcomes;
};

using Outcomes = std::vector<std::pair<int, WatchOutcome>>;

TEST_SUITE("shared_state.watch_hub") {
  TEST_CASE("WatchCondition") {
    WatchCondition at3{3, false};
    CHECK_FALSE(at3.SatisfiedBy(3));
    CHECK_FALSE(at3.SatisfiedBy(2));
    CHECK(at3.SatisfiedBy(4));
    CHECK(at3.SatisfiedBy(0));  // deleted
    WatchCondition absent{0, true};
    CHECK_FALSE(absent.SatisfiedBy(0));
    CHECK(absent.SatisfiedBy(1));
    WatchCondition absent_with_version{5, true};  // waits for creation, whatever version it starts at
    CHECK(absent_with_version.SatisfiedBy(1));
  }

  TEST_CASE("a write that passes the version wakes the watch - others do not") {
    FakeClock clock;
    WatchHub hub(clock);
    Recorder rec;
    hub.Add("a", {2, false}, clock.Steady() + 30s, rec.For(1));
    hub.Add("b", {2, false}, clock.Steady() + 30s, rec.For(2));
    CHECK(hub.size() == 2);
    hub.Notify("a", 2);  // not past 2
    hub.Notify("c", 9);  // another document
    hub.RunDue();
    CHECK(rec.Take().empty());
    hub.Notify("a", 3);
    hub.RunDue();
    CHECK(rec.Take() == Outcomes{{1, WatchOutcome::kChanged}});
    CHECK(hub.size() == 1);
  }

  TEST_CASE("the deadline ends a watch with kTimedOut + exactly once") {
    FakeClock clock;
    WatchHub hub(clock);
    Recorder rec;
    hub.Add("a", {1, false}, clock.Steady() + 10s, rec.For(1));
    hub.Add("a", {1, false}, clock.Steady() + 20s, rec.For(2));
    clock.Advance(10s);
    hub.RunDue();
    CHECK(rec.Take() == Outcomes{{1, WatchOutcome::kTimedOut}});
    hub.Notify("a", 2);
    clock.Advance(60s);
    hub.RunDue();
    CHECK(rec.Take() == Outcomes{{2, WatchOutcome::kChanged}});
    hub.RunDue();
    CHECK(rec.Take().empty());
    CHECK(hub.size() == 0);
  }

  TEST_CASE("Take removes a parked watch - its callback never runs") {
    FakeClock clock;
    WatchHub hub(clock);
    Recorder rec;
    WatchHub::Token token = hub.Add("a", {1, false}, clock.Steady() + 1s, rec.For(1));
    CHECK(hub.Take(token));
    CHECK_FALSE(hub.Take(token));
    hub.Notify("a", 5);
    clock.Advance(5s);
    hub.RunDue();
    CHECK(rec.Take().empty());
  }

  TEST_CASE("shutdown answers every parked watch at once and later ones immediately") {
    FakeClock clock;
    WatchHub hub(clock);
    Recorder rec;
    hub.Add("a", {1, false}, clock.Steady() + 300s, rec.For(1));
    hub.Add("b", {0, true}, clock.Steady() + 300s, rec.For(2));
    CHECK(hub.Shutdown() == 2);
    Outcomes got = rec.Take();
    CHECK(got.size() == 2);
    for (auto& [index, outcome] : got) CHECK(outcome == WatchOutcome::kShutdown);
    CHECK(hub.Add("c", {1, false}, clock.Steady() + 1s, rec.For(3)) == 0);
    CHECK(rec.Take() == Outcomes{{3, WatchOutcome::kShutdown}});
    CHECK(hub.size() == 0);
  }

  TEST_CASE("with its thread started notifications are delivered without RunDue") {
    FakeClock clock;
    WatchHub hub(clock);
    hub.Start();
    Recorder rec;
    hub.Add("a", {1, false}, clock.Steady() + 300s, rec.For(1));
    hub.Notify("a", 2);
    REQUIRE(rec.WaitFor(1));
    CHECK(rec.Take() == Outcomes{{1, WatchOutcome::kChanged}});
    hub.Shutdown();
  }
}

}  // namespace
}  // namespace csp::shared_state
