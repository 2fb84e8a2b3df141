#include <doctest/doctest.h>

#include <string>

#include "csp/json/json.h"

using csp::ErrorCode;
using csp::json::Dump;
using csp::json::Parse;
using csp::json::Value;

TEST_SUITE("json") {
  TEST_CASE("round trip keeps order, integers and escapes") {
    const std::string text = R"({"z":1,"a":[true,false,null,1.5,-3],"s":"q\"\\\n\u00e9"})";
    auto v = Parse(text);
    REQUIRE(v);
    CHECK(v->Find("z")->IsInt());
    CHECK(v->Find("a")->AsArray()[3].IsDouble());
    CHECK(Dump(*v) == R"({"z":1,"a":[true,false,null,1.5,-3],"s":"q\"\\\n)" "\xc3\xa9" R"("})");
  }

  TEST_CASE("malformed input names the offset") {
    auto v = Parse(R"({"a": 1,})");
    REQUIRE_FALSE(v);
    CHECK(v.error().code == ErrorCode::kInvalidJson);
    CHECK(v.error().message.rfind("offset ", 0) == 0);
  }

  TEST_CASE("trailing garbage, empty input and invalid UTF-8 are rejected") {
    CHECK_FALSE(Parse("{} x"));
    CHECK_FALSE(Parse(""));
    CHECK_FALSE(Parse("\"\xff\xfe\""));
    CHECK(Parse("  {}  \n"));
    CHECK(Parse("\"scalar roots are JSON too\""));
  }

  TEST_CASE("depth is limited") {
    std::string deep(65, '[');
    deep += std::string(65, ']');
    auto v = Parse(deep);
    REQUIRE_FALSE(v);
    CHECK(v.error().message.find("nesting deeper than 64") != std::string::npos);
    std::string ok(64, '[');
    ok += std::string(64, ']');
    CHECK(Parse(ok));
    CHECK(csp::json::Depth(*Parse(ok)) == 64);
    // A hostile depth fails fast instead of overflowing the stack.
    std::string hostile(1'000'000, '[');
    CHECK_FALSE(Parse(hostile));
  }

  TEST_CASE("duplicate keys: last wins") {
    auto v = Parse(R"({"a":1,"a":2})");
    REQUIRE(v);
    CHECK(v->AsObject().size() == 1);
    CHECK(v->Find("a")->AsInt() == 2);
  }

  TEST_CASE("large numbers and doubles") {
    auto v = Parse("[9223372036854775807, 18446744073709551615, 1e308, 0.1]");
    REQUIRE(v);
    CHECK(v->AsArray()[0].IsInt());
    CHECK(v->AsArray()[1].IsDouble());
    CHECK(Dump(Value(0.1)) == "0.1");
  }

  TEST_CASE("pretty dump indents two spaces") {
    auto v = Parse(R"({"a":[1]})");
    REQUIRE(v);
    CHECK(csp::json::DumpPretty(*v) == "{\n  \"a\": [\n    1\n  ]\n}");
  }
}
