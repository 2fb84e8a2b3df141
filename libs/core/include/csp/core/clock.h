#pragma once
// Time as a dependency: domain code asks a Clock, tests pass a fake one.

#include <chrono>

namespace csp {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps that users see.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for deadlines and durations.
  virtual std::chrono::steady_clock::time_point Steady() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point Steady() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace csp
