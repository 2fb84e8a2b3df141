#pragma once
// Shared pieces of the engine unit tests: a fake clock, the example designs, an engine over an
// in-memory store, and a terse way to write messages.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include "csp/core/clock.h"
#include "csp/json/json.h"
#include "design.h"
#include "engine.h"
#include "store.h"

namespace csp::engine::testing {

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return now_; }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::time_point(now_.time_since_epoch());
  }
  void Advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000));
};

inline std::string ExamplePath(const std::string& name) { return std::string(CSP_EXAMPLE_DESIGNS_DIR) + "/" + name; }

inline Design LoadExample(const std::string& name) {
  Result<Design> d = LoadDesignFile(ExamplePath(name));
  if (!d) FAIL("cannot load " << name << ": " << d.error().message);
  return std::move(*d);
}

inline json::Value J(const std::string& text) {
  Result<json::Value> v = json::Parse(text);
  if (!v) FAIL("bad test JSON: " << v.error().message << " in " << text);
  return std::move(*v);
}

inline Design DesignFrom(const std::string& text) {
  Result<Design> d = ParseDesign(J(text));
  if (!d) FAIL("bad test design: " << d.error().message);
  return std::move(*d);
}

// An engine over a fresh in-memory store, with ids "gen-1", "gen-2", ...
struct EngineHarness {
  explicit EngineHarness(Design d, EngineOptions options = {}) : design(std::move(d)) {
    Result<Store> opened = Store::Open(":memory:");
    REQUIRE(opened.ok());
    store = std::make_unique<Store>(std::move(*opened));
    if (!options.new_id) options.new_id = [this] { return "gen-" + std::to_string(++generated); };
    engine = std::make_unique<Engine>(design, *store, clock, std::move(options));
  }

  CommandReply Execute(const std::string& message, const PageRequest& page = {}) {
    return Run(message, Mode::kExecute, page);
  }
  CommandReply Repeat(const std::string& message) { return Run(message, Mode::kRepeat, {}); }
  CommandReply Run(const std::string& message, Mode mode, const PageRequest& page) {
    Result<CommandReply> r = engine->Handle(J(message), mode, page);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return std::move(*r);
  }
  CommandReply Revert(const std::string& body) {
    Result<CommandReply> r = engine->Revert(J(body));
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return std::move(*r);
  }
  int64_t Count() {
    Result<int64_t> n = engine->RecordCount();
    REQUIRE(n.ok());
    return *n;
  }

  Design design;
  FakeClock clock;
  std::unique_ptr<Store> store;
  std::unique_ptr<Engine> engine;
  int generated = 0;
};

inline std::string Body(const CommandReply& r) { return r.body ? json::Dump(*r.body) : std::string(); }

inline std::string ErrorOf(const CommandReply& r) {
  if (!r.body || r.body->Find("error") == nullptr) return "";
  return r.body->Find("error")->AsString();
}

}  // namespace csp::engine::testing
