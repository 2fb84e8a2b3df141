#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "csp/core/time.h"
#include "csp/json/json.h"
#include "csp/log/log.h"

namespace {

using csp::log::Level;
using csp::log::Logger;

// Captures every line written while it lives, and restores stderr and the level afterwards.
class Capture {
 public:
  Capture() : saved_level_(csp::log::GetLevel()) {
    csp::log::SetSinkForTesting([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.emplace_back(line);
    });
  }
  ~Capture() {
    csp::log::SetSinkForTesting(nullptr);
    csp::log::SetLevel(saved_level_);
  }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

 private:
  Level saved_level_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// Parses a line and checks the four fixed keys and their types; returns the object.
csp::json::Value ParseLine(const std::string& line) {
  CHECK(line.find('\n') == std::string::npos);
  auto parsed = csp::json::Parse(line);
  REQUIRE_MESSAGE(parsed.ok(), line);
  REQUIRE(parsed->IsObject());
  const csp::json::Value& v = *parsed;
  for (const char* key : {"ts", "level", "component", "msg"}) {
    const csp::json::Value* field = v.Find(key);
    REQUIRE_MESSAGE(field != nullptr, key);
    CHECK(field->IsString());
  }
  CHECK(csp::ParseIso8601(v.Find("ts")->AsString()).ok());
  CHECK(v.AsObject().begin()->first == "ts");
  return *parsed;
}

}  // namespace

TEST_SUITE("log") {
  TEST_CASE("levels parse from their names and only from them") {
    for (Level level : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
      auto parsed = csp::log::ParseLevel(csp::log::LevelName(level));
      REQUIRE(parsed.ok());
      CHECK(*parsed == level);
    }
    for (const char* bad : {"", "INFO", "warning", "trace", "info "}) {
      auto parsed = csp::log::ParseLevel(bad);
      REQUIRE_FALSE(parsed.ok());
      CHECK(parsed.error().code == csp::ErrorCode::kInvalidArgument);
    }
  }

  TEST_CASE("a line is one JSON object with ts, level, component, msg and the fields") {
    Capture capture;
    csp::log::SetLevel(Level::kDebug);
    Logger log("discovery");
    log.Info("listening", {{"port", 4000}, {"host", "127.0.0.1"}, {"tls", false}});
    const auto lines = capture.lines();
    REQUIRE(lines.size() == 1);
    csp::json::Value v = ParseLine(lines[0]);
    CHECK(v.Find("level")->AsString() == "info");
    CHECK(v.Find("component")->AsString() == "discovery");
    REQUIRE(v.Find("port") != nullptr);
    CHECK(v.Find("port")->AsInt() == 4000);
    CHECK(v.Find("host")->AsString() == "127.0.0.1");
    CHECK(v.Find("tls")->IsBool());
    CHECK(v.AsObject().size() == 7);
  }

  TEST_CASE("each method writes its own level") {
    Capture capture;
    csp::log::SetLevel(Level::kDebug);
    Logger log("engine");
    log.Debug("d");
    log.Info("i");
    log.Warn("w");
    log.Error("e");
    const auto lines = capture.lines();
    REQUIRE(lines.size() == 4);
    const char* expected[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < 4; ++i) CHECK(ParseLine(lines[i]).Find("level")->AsString() == expected[i]);
  }

  TEST_CASE("lines below the process level are dropped") {
    Capture capture;
    csp::log::SetLevel(Level::kWarn);
    CHECK(csp::log::GetLevel() == Level::kWarn);
    Logger log("job-control");
    CHECK_FALSE(log.Enabled(Level::kDebug));
    CHECK_FALSE(log.Enabled(Level::kInfo));
    CHECK(log.Enabled(Level::kWarn));
    CHECK(log.Enabled(Level::kError));
    log.Debug("no");
    log.Info("no");
    log.Warn("yes");
    log.Error("yes");
    CHECK(capture.lines().size() == 2);
  }

  TEST_CASE("special characters stay inside one line, and fields cannot hide fixed keys") {
    Capture capture;
    csp::log::SetLevel(Level::kInfo);
    Logger log("shared-state");
    log.Info("quote \" backslash \\ newline \n tab \t", {{"msg", "sneaky"}, {"level", "debug"},
                                                         {"nested", csp::json::Object{{"a", 1}}}});
    const auto lines = capture.lines();
    REQUIRE(lines.size() == 1);
    csp::json::Value v = ParseLine(lines[0]);
    CHECK(v.Find("level")->AsString() == "info");
    CHECK(v.Find("field.msg") != nullptr);
    CHECK(v.Find("field.level") != nullptr);
    REQUIRE(v.Find("nested") != nullptr);
    CHECK(v.Find("nested")->IsObject());
  }

  TEST_CASE("concurrent lines on stderr never interleave") {
    const Level saved = csp::log::GetLevel();
    csp::log::SetLevel(Level::kInfo);
    char path[] = "/tmp/csp-log-test-XXXXXX";
    const int file = mkstemp(path);
    REQUIRE(file >= 0);
    std::fflush(stderr);
    const int saved_stderr = dup(STDERR_FILENO);
    REQUIRE(saved_stderr >= 0);
    REQUIRE(dup2(file, STDERR_FILENO) >= 0);

    constexpr int kThreads = 4;
    constexpr int kLines = 200;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([t] {
        Logger log("worker-" + std::to_string(t));
        const std::string padding(300, static_cast<char>('a' + t));
        for (int i = 0; i < kLines; ++i) log.Info("line", {{"i", i}, {"padding", padding}});
      });
    }
    for (auto& thread : threads) thread.join();

    std::fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    close(file);
    csp::log::SetLevel(saved);

    std::ifstream in(path);
    std::string line;
    int count = 0;
    while (std::getline(in, line)) {
      ParseLine(line);
      ++count;
    }
    std::remove(path);
    CHECK(count == kThreads * kLines);
  }
}
