#include "measure.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

namespace csp::bench {

namespace {

double RoundMicros(double ms) { return std::round(ms * 1000.0) / 1000.0; }

}  // namespace

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

json::Value LatencySummary(const std::vector<double>& ms) {
  double mean = ms.empty() ? 0 : std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  return json::Object{{"p50", RoundMicros(Percentile(ms, 50))},
                      {"p90", RoundMicros(Percentile(ms, 90))},
                      {"p99", RoundMicros(Percentile(ms, 99))},
                      {"max", RoundMicros(Percentile(ms, 100))},
                      {"mean", RoundMicros(mean)}};
}

Result<double> CpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return NotFound("no process " + std::to_string(pid));
  // The command name (field 2) may hold spaces and parentheses; the fields after the last ')'
  // start at field 3 (state). utime and stime are fields 14 and 15.
  auto close = line.rfind(')');
  if (close == std::string::npos) return Internal("unreadable /proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  double ticks = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SumOfSeries(std::string_view exposition, std::string_view metric, std::string_view exclude) {
  std::string prefix = std::string(metric) + "_sum";
  double total = 0;
  std::istringstream lines{std::string(exposition)};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    if (line.size() > prefix.size() && line[prefix.size()] != '{' && line[prefix.size()] != ' ') continue;
    if (!exclude.empty() && line.find(exclude) != std::string::npos) continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    total += std::strtod(line.c_str() + space + 1, nullptr);
  }
  return total;
}

Result<NamedPid> ParseNamedPid(const std::string& text) {
  auto eq = text.find('=');
  std::string digits = eq == std::string::npos ? "" : text.substr(eq + 1);
  if (eq == 0 || digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument("--pid: expected name=PID, got '" + text + "'");
  }
  return NamedPid{text.substr(0, eq), std::stoi(digits)};
}

Result<std::vector<NamedPid>> ParseNamedPids(const std::vector<std::string>& texts) {
  std::vector<NamedPid> out;
  for (const auto& text : texts) {
    auto pid = ParseNamedPid(text);
    if (!pid) return pid.error();
    out.push_back(*pid);
  }
  return out;
}

void Tally::Fail(const std::string& why) {
  ++failed_;
  std::lock_guard<std::mutex> lock(mu_);
  if (first_error_.empty()) first_error_ = why;
}

std::string Tally::first_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_error_;
}

}  // namespace csp::bench
