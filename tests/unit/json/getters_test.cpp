#include <doctest/doctest.h>

#include "csp/json/getters.h"
#include "csp/json/json.h"

using namespace csp::json;

TEST_SUITE("json") {
  TEST_CASE("getters name the path of the wrong value") {
    auto doc = Parse(R"({"tag": 5, "tags": ["a", 2], "n": 1.5, "i": 2.0, "o": null})");
    REQUIRE(doc);
    auto tag = GetString(*doc, "tag", "steps[1].tasks[0]");
    REQUIRE_FALSE(tag);
    CHECK(tag.error().message == "steps[1].tasks[0].tag: expected a string, got number");
    auto tags = GetStringArray(*doc, "tags");
    REQUIRE_FALSE(tags);
    CHECK(tags.error().message == "tags[1]: expected a string, got number");
    CHECK_FALSE(GetInt(*doc, "n"));
    CHECK(*GetInt(*doc, "i") == 2);
    auto missing = GetString(*doc, "name", "job");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message == "job.name: is required");
    CHECK_FALSE(GetString(*doc, "o"));  // null counts as absent for required fields
    auto opt = GetOptionalString(*doc, "o");
    REQUIRE(opt);
    CHECK_FALSE(opt->has_value());
    CHECK_FALSE(GetOptionalBool(*doc, "tag"));
    CHECK(*GetOptionalObject(*doc, "absent") == nullptr);
  }

  TEST_CASE("join path") {
    CHECK(JoinPath("", "a") == "a");
    CHECK(JoinPath("a", "b") == "a.b");
    CHECK(JoinPath("a", size_t{3}) == "a[3]");
  }
}
