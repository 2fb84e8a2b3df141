#pragma once
// Timestamps and durations as users write and read them.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "csp/core/result.h"

namespace csp {

// "2026-11-22T10:00:00.000Z": ISO 8601, UTC, milliseconds (JavaScript's toISOString()).
std::string FormatIso8601(std::chrono::system_clock::time_point t);

// Parses FormatIso8601's output; also accepts no fraction, 1-9 fraction digits, and a
// "+hh:mm"/"-hh:mm" offset instead of "Z".
Result<std::chrono::system_clock::time_point> ParseIso8601(std::string_view s);

// Milliseconds since the Unix epoch.
int64_t ToUnixMillis(std::chrono::system_clock::time_point t);
std::chrono::system_clock::time_point FromUnixMillis(int64_t ms);

// "500ms", "2s", "5m", "1h", "7d", "1.5s", or a bare number of seconds ("30"). Negative: error.
Result<std::chrono::milliseconds> ParseDuration(std::string_view s);

// "1.5s", "250ms", "2m0s"-style short human form for logs and the CLI.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace csp
