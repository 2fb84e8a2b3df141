#pragma once
// A clock the test moves by hand.

#include <chrono>

#include "csp/core/clock.h"

namespace csp::shared_state::testing {

class FakeClock final : public Clock {
 public:
  // 2026-11-22T10:00:00.000Z
  FakeClock() : now_(std::chrono::system_clock::time_point(std::chrono::seconds(1795341600))) {}
  std::chrono::system_clock::time_point Now() const override { return now_; }
  std::chrono::steady_clock::time_point Steady() const override { return steady_; }
  void Advance(std::chrono::milliseconds d) {
    now_ += d;
    steady_ += d;
  }

 private:
  std::chrono::system_clock::time_point now_;
  std::chrono::steady_clock::time_point steady_{};
};

}  // namespace csp::shared_state::testing
