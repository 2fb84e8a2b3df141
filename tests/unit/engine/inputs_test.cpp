#include "inputs.h"

#include <doctest/doctest.h>

#include "fixture.h"

namespace csp::engine {
namespace {

using testing::J;

constexpr const char* kTyped = R"({
  "serviceInfo": {"serviceName": "typed"},
  "resourceType": "thing",
  "resourceSchema": {"thing": {
    "s": {"type": "string"}, "n": {"type": "number"}, "i": {"type": "integer"}, "b": {"type": "boolean"},
    "o": {"type": "object"}, "a": {"type": "array"}, "when": {"type": "string", "format": "date-time"},
    "iso": {"type": "string", "format": "ISO8601"}, "mail": {"type": "string", "format": "email"},
    "odd": {"type": "uuid"}, "level": {"type": "integer", "enum": [1, 2, 3]}
  }},
  "commands": {"create": {"inputs": {"required": [], "optional": ["s","n","i","b","o","a","when","iso","mail","odd","level"]}}}
})";

Result<CheckedInput> Check(const Design& d, const std::string& command, const std::string& payload) {
  json::Value p = J(payload);
  return CheckInputs(d, *d.FindCommand(command), &p);
}

std::string ErrorOf(const Result<CheckedInput>& r) { return r.ok() ? "" : r.error().message; }

TEST_SUITE("engine.inputs") {
  TEST_CASE("defaults are filled in first, then required and optional fields") {
    Design d = testing::LoadExample("person.json");
    Result<CheckedInput> r = Check(d, "create", R"({"givenName":"Ann","email":"a@x.org"})");
    REQUIRE(r.ok());
    CHECK(json::Dump(json::Value(r->fields)) == R"({"status":"pending","email":"a@x.org","givenName":"Ann"})");
    CHECK(r->warnings.empty());
  }

  TEST_CASE("a missing or null required field is named") {
    Design d = testing::LoadExample("person.json");
    CHECK(ErrorOf(Check(d, "create", "{}")) == "Missing required input: email");
    CHECK(ErrorOf(Check(d, "create", R"({"email":null})")) == "Missing required input: email");
    CHECK(ErrorOf(CheckInputs(d, *d.FindCommand("create"), nullptr)) == "Missing required input: email");
    // "id" is never a payload input: it comes from the message.
    CHECK(Check(d, "read", "{}").ok());
  }

  TEST_CASE("a default satisfies a required field") {
    Design d = testing::DesignFrom(R"({"serviceInfo":{"serviceName":"x"},"resourceType":"x",
      "commands":{"create":{"inputs":{"required":["kind"],"defaults":{"kind":"plain"}}}}})");
    Result<CheckedInput> r = Check(d, "create", "{}");
    REQUIRE(r.ok());
    CHECK(r->fields.Find("kind")->AsString() == "plain");
  }

  TEST_CASE("enum values are checked with the original's message") {
    Design d = testing::LoadExample("person.json");
    CHECK(ErrorOf(Check(d, "status", R"({"status":"weird"})")) ==
          "Invalid value for 'status': 'weird'. Must be one of [pending, active, suspended]");
    CHECK(Check(d, "status", R"({"status":"active"})").ok());
  }

  TEST_CASE("required comes before enum, enum before type") {
    Design d = testing::LoadExample("person.json");
    CHECK(ErrorOf(Check(d, "create", R"({"status":"weird"})")) == "Missing required input: email");
    Design typed = testing::DesignFrom(kTyped);
    CHECK(ErrorOf(Check(typed, "create", R"({"level":"high"})")) ==
          "Invalid value for 'level': 'high'. Must be one of [1, 2, 3]");
    CHECK(ErrorOf(Check(typed, "create", R"({"level":7})")) ==
          "Invalid value for 'level': '7'. Must be one of [1, 2, 3]");
  }

  TEST_CASE("types from the resource schema") {
    Design d = testing::DesignFrom(kTyped);
    CHECK(Check(d, "create", R"({"s":"x","n":1.5,"i":3,"b":false,"o":{},"a":[],"level":2})").ok());
    CHECK(Check(d, "create", R"({"i":2.0,"n":4})").ok());
    CHECK(ErrorOf(Check(d, "create", R"({"s":1})")) == "payload.s: expected a string, got a number");
    CHECK(ErrorOf(Check(d, "create", R"({"n":"1"})")) == "payload.n: expected a number, got a string");
    CHECK(ErrorOf(Check(d, "create", R"({"i":2.5})")) == "payload.i: expected an integer, got a number");
    CHECK(ErrorOf(Check(d, "create", R"({"b":"true"})")) == "payload.b: expected a boolean, got a string");
    CHECK(ErrorOf(Check(d, "create", R"({"o":[]})")) == "payload.o: expected an object, got an array");
    CHECK(ErrorOf(Check(d, "create", R"({"a":{}})")) == "payload.a: expected an array, got an object");
    // Unknown type names pass, as every type did in the original.
    CHECK(Check(d, "create", R"({"odd":42})").ok());
  }

  TEST_CASE("formats") {
    Design d = testing::DesignFrom(kTyped);
    CHECK(Check(d, "create", R"({"when":"2026-11-22T10:00:00.000Z","iso":"2026-11-22T10:00:00+02:00"})").ok());
    CHECK(ErrorOf(Check(d, "create", R"({"when":"tomorrow"})")) ==
          "payload.when: expected an ISO 8601 date-time, got 'tomorrow'");
    CHECK(ErrorOf(Check(d, "create", R"({"iso":"2026-13-45"})")).find("payload.iso: expected an ISO 8601") == 0);
    CHECK(Check(d, "create", R"({"mail":"ann@example.org"})").ok());
    CHECK(ErrorOf(Check(d, "create", R"({"mail":"ann"})")) == "payload.mail: expected an email address, got 'ann'");
  }

  TEST_CASE("undeclared fields are dropped and listed as warnings") {
    Design d = testing::LoadExample("person.json");
    Result<CheckedInput> r = Check(d, "create", R"({"email":"a@x.org","colour":"red","id":"p9","givenName":null})");
    REQUIRE(r.ok());
    CHECK(r->fields.Find("colour") == nullptr);
    CHECK(r->fields.Find("id") == nullptr);
    CHECK(r->fields.Find("givenName") == nullptr);  // null optional values are not copied
    CHECK(r->warnings == std::vector<std::string>{"colour", "id"});
  }

  TEST_CASE("x-strict rejects undeclared fields, except a payload id") {
    Design d = testing::LoadExample("order.json");
    CHECK(ErrorOf(Check(d, "create", R"({"personId":"p1","item":"book","colour":"red","size":2})")) ==
          "Undeclared inputs for command 'create': colour, size");
    Result<CheckedInput> r = Check(d, "create", R"({"personId":"p1","item":"book","id":"o1"})");
    REQUIRE(r.ok());
    CHECK(r->warnings == std::vector<std::string>{"id"});
  }

  TEST_CASE("a payload that is not an object") {
    Design d = testing::LoadExample("person.json");
    CHECK(ErrorOf(Check(d, "list", "[1]")) == "payload: expected an object, got an array");
    CHECK(ErrorOf(Check(d, "list", "\"x\"")) == "payload: expected an object, got a string");
    CHECK(Check(d, "list", "null").ok());
  }

  TEST_CASE("LooksLikeEmail") {
    CHECK(LooksLikeEmail("a@b.co"));
    CHECK(LooksLikeEmail("first.last+tag@sub.example.org"));
    CHECK_FALSE(LooksLikeEmail("a@b"));
    CHECK_FALSE(LooksLikeEmail("@b.co"));
    CHECK_FALSE(LooksLikeEmail("a@@b.co"));
    CHECK_FALSE(LooksLikeEmail("a b@c.de"));
    CHECK_FALSE(LooksLikeEmail("a@.de"));
    CHECK_FALSE(LooksLikeEmail("a@de."));
  }
}

}  // namespace
}  // namespace csp::engine
