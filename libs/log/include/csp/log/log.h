#pragma once
// The logging facade: one JSON object per line on stderr, written whole (lines never interleave).
//
//   csp::log::Logger log("discovery");
//   log.Info("listening", {{"port", 4000}});
//   -> {"ts":"2026-11-22T10:00:00.000Z","level":"info","component":"discovery","msg":"listening","port":4000}
//
// The level and the sink are the process's one piece of global state: SetLevel is called once by
// main from --log-level; loggers are cheap values that hold only their component name.
// Never pass secrets (the auth token) in msg or fields. Tests never assert on message text.

#include <functional>
#include <string>
#include <string_view>

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn", "error". Errors: kInvalidArgument naming the accepted values.
Result<Level> ParseLevel(std::string_view name);
std::string_view LevelName(Level level);

// The process-wide minimum level (default kInfo). Thread-safe.
void SetLevel(Level level);
Level GetLevel();

// Replaces the stderr sink; each call receives one complete line without its trailing newline.
// Calls are serialized. An empty function restores stderr.
void SetSinkForTesting(std::function<void(std::string_view line)> sink);

class Logger {
 public:
  explicit Logger(std::string component) : component_(std::move(component)) {}

  // Fields follow the fixed keys in their own order. A field named like a fixed key (ts, level,
  // component, msg) is written as "field.<name>" so it cannot hide the fixed one.
  void Debug(std::string_view msg, const json::Object& fields = {}) const { Log(Level::kDebug, msg, fields); }
  void Info(std::string_view msg, const json::Object& fields = {}) const { Log(Level::kInfo, msg, fields); }
  void Warn(std::string_view msg, const json::Object& fields = {}) const { Log(Level::kWarn, msg, fields); }
  void Error(std::string_view msg, const json::Object& fields = {}) const { Log(Level::kError, msg, fields); }
  void Log(Level level, std::string_view msg, const json::Object& fields = {}) const;

  // True when a line at this level would be written; check it before building costly fields.
  bool Enabled(Level level) const;
  const std::string& component() const { return component_; }

 private:
  std::string component_;
};

// The line Logger::Log writes (without the newline), for a given timestamp. Exposed for tests.
std::string FormatLine(std::string_view ts, Level level, std::string_view component,
                       std::string_view msg, const json::Object& fields);

}  // namespace csp::log
