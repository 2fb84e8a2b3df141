#include "csp/core/coalescer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Batches = std::vector<std::vector<int>>;

// Polls until `n` items wait behind the batch in flight (deadline: 10 s).
template <typename C>
bool WaitQueued(const C& c, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (c.waiting() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Holds the first batch in flight until released.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> entered{0};
  void PassOrWait() {
    if (entered.fetch_add(1) != 0) return;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return open; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

}  // namespace

TEST_CASE("a lone caller sends its item at once, alone") {
  Batches sent;
  csp::Coalescer<int, int> c([&](const std::vector<int>& batch) {
    sent.push_back(batch);
    return static_cast<int>(batch.size());
  });
  CHECK(c.Submit(7) == 1);
  CHECK(c.Submit(8) == 1);
  CHECK(sent == Batches{{7}, {8}});
  CHECK(c.batches() == 2);
}

TEST_CASE("items submitted while a batch is in flight go out together in the next one, in arrival order") {
  Gate gate;
  std::mutex mu;
  Batches sent;
  csp::Coalescer<int, std::string> c([&](const std::vector<int>& batch) {
    {
      std::lock_guard<std::mutex> lock(mu);
      sent.push_back(batch);
    }
    gate.PassOrWait();
    return "batch of " + std::to_string(batch.size());
  });

  std::string first;
  std::thread leader([&] { first = c.Submit(1); });
  while (gate.entered.load() == 0) std::this_thread::yield();

  std::vector<std::string> outcomes(3);
  std::vector<std::thread> followers;
  for (int i = 0; i < 3; ++i) {
    followers.emplace_back([&, i] { outcomes[i] = c.Submit(10 + i); });
    REQUIRE(WaitQueued(c, static_cast<size_t>(i + 1)));  // one at a time: a known arrival order
  }
  gate.Open();
  leader.join();
  for (auto& t : followers) t.join();

  CHECK(first == "batch of 1");
  CHECK(sent == Batches{{1}, {10, 11, 12}});
  for (const auto& o : outcomes) CHECK(o == "batch of 3");
  CHECK(c.batches() == 2);
  CHECK(c.waiting() == 0);
}

TEST_CASE("many callers: every item is sent once and batches never overlap") {
  std::atomic<int> in_flight{0};
  std::atomic<bool> overlapped{false};
  std::mutex mu;
  std::vector<int> seen;
  csp::Coalescer<int, size_t> c([&](const std::vector<int>& batch) {
    if (in_flight.fetch_add(1) != 0) overlapped = true;
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.insert(seen.end(), batch.begin(), batch.end());
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // a send that takes a while
    in_flight.fetch_sub(1);
    return batch.size();
  });
  constexpr int kThreads = 8;
  constexpr int kEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) CHECK(c.Submit(t * 1000 + i) >= 1);
    });
  }
  for (auto& t : threads) t.join();
  CHECK_FALSE(overlapped.load());
  std::sort(seen.begin(), seen.end());
  std::vector<int> expected;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) expected.push_back(t * 1000 + i);
  CHECK(seen == expected);
  CHECK(c.batches() < kThreads * kEach);  // some items shared a batch
}

TEST_CASE("when a send throws, the caller that sent its own item gets the exception and the others' items go again") {
  Gate gate;
  std::atomic<int> calls{0};
  std::mutex mu;
  Batches sent;
  csp::Coalescer<int, int> c([&](const std::vector<int>& batch) {
    int n = calls.fetch_add(1);
    gate.PassOrWait();  // the first batch ({0}) stays in flight until 1, 2 and 3 have queued
    std::lock_guard<std::mutex> lock(mu);
    sent.push_back(batch);
    if (n == 1 || n == 2) throw std::runtime_error("the second and third batches fail");
    return 0;
  });
  std::thread first([&] { CHECK(c.Submit(0) == 0); });
  while (gate.entered.load() == 0) std::this_thread::yield();
  std::atomic<int> threw{0};
  std::vector<std::thread> others;
  for (int i = 1; i <= 3; ++i) {
    others.emplace_back([&, i] {
      try {
        int outcome = c.Submit(i);
        CHECK(outcome == 0);
      } catch (const std::runtime_error&) {
        threw += 1;
      }
    });
  }
  REQUIRE(WaitQueued(c, 3));
  gate.Open();
  first.join();
  for (auto& t : others) t.join();

  // Batch 1 ({0}) succeeds; its caller, still leading, sends {1,2,3} for the others (batch 2),
  // which fails: not its item, so it returns its own outcome and the three items queue again.
  // The first of them leads batch 3 ({1,2,3} again), which fails with its own item in it: that
  // caller gets the exception, and the remaining two go out in batch 4.
  CHECK(threw.load() == 1);
  REQUIRE(sent.size() == 4);
  CHECK(sent[0] == std::vector<int>{0});
  auto sorted = [](std::vector<int> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(sorted(sent[1]) == std::vector<int>{1, 2, 3});
  CHECK(sorted(sent[2]) == std::vector<int>{1, 2, 3});
  REQUIRE(sent[3].size() == 2);
  const int thrower = sent[2].front();  // the leader's own item is first in its batch
  CHECK(std::find(sent[3].begin(), sent[3].end(), thrower) == sent[3].end());
  CHECK(c.waiting() == 0);
}
