#pragma once
// What the driver measures besides wall time: latency percentiles, a process's CPU time (Linux
// /proc, so only for processes on this machine), and the time a service says it spent serving
// (its Prometheus request-latency histogram), which reaches any implementation over HTTP.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::bench {

// Nearest-rank percentile (p in 0..100) of the values; 0 for an empty list.
double Percentile(std::vector<double> values, double p);

// {"p50","p90","p99","max","mean"} of latencies in milliseconds, rounded to microseconds.
json::Value LatencySummary(const std::vector<double>& ms);

// utime + stime of a process, in seconds, from /proc/<pid>/stat. kNotFound when it is gone.
Result<double> CpuSeconds(int pid);

// The sum of every `<metric>_sum{...}` series in a Prometheus text exposition whose labels do not
// contain `exclude` (e.g. route="/metrics", so scraping does not count itself).
double SumOfSeries(std::string_view exposition, std::string_view metric, std::string_view exclude);

// A "name=pid" flag value. kInvalidArgument when it does not have that shape.
struct NamedPid {
  std::string name;
  int pid = 0;
};
Result<NamedPid> ParseNamedPid(const std::string& text);
// Every value of a repeated --pid flag; the first bad one is the error.
Result<std::vector<NamedPid>> ParseNamedPids(const std::vector<std::string>& texts);

// Counts outcomes across threads; keeps the first failure's message for the report.
class Tally {
 public:
  void Ok() { ++ok_; }
  void Fail(const std::string& why);
  int64_t ok() const { return ok_; }
  int64_t failed() const { return failed_; }
  std::string first_error() const;

 private:
  std::atomic<int64_t> ok_{0};
  std::atomic<int64_t> failed_{0};
  mutable std::mutex mu_;
  std::string first_error_;
};

}  // namespace csp::bench
