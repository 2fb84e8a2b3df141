#include "shared-state/preconditions.h"

#include <doctest/doctest.h>

namespace csp::shared_state {
namespace {

EntityTags Parse(std::string_view text) {
  Result<EntityTags> tags = ParseEntityTags(text, "If-Match");
  REQUIRE_MESSAGE(tags.ok(), text);
  return *tags;
}

TEST_SUITE("shared_state.preconditions") {
  TEST_CASE("ETagFor quotes the version") { CHECK(ETagFor(7) == "\"7\""); }

  TEST_CASE("strong + weak + lists and star parse") {
    CHECK(Parse("\"3\"").versions == std::vector<int64_t>{3});
    CHECK(Parse("W/\"3\"").versions == std::vector<int64_t>{3});
    CHECK(Parse(" \"1\" , W/\"2\",\"3\" ").versions == std::vector<int64_t>{1, 2, 3});
    CHECK(Parse("*").any);
    CHECK(Parse("\"abc\"").versions.empty());  // valid, but not one of ours
  }

  TEST_CASE("malformed headers are errors naming the header") {
    for (std::string_view bad : {"", "3", "\"3", "\"3\" \"4\"", "\"3\",", "W/3"}) {
      Result<EntityTags> tags = ParseEntityTags(bad, "If-Match");
      REQUIRE_FALSE_MESSAGE(tags.ok(), bad);
      CHECK(tags.error().code == ErrorCode::kInvalidArgument);
      CHECK(tags.error().message.find("If-Match") == 0);
    }
  }

  TEST_CASE("Matches: star names any existing version + nothing names an absent document") {
    CHECK(Matches(Parse("*"), 1));
    CHECK_FALSE(Matches(Parse("*"), 0));
    CHECK(Matches(Parse("\"1\", \"4\""), 4));
    CHECK_FALSE(Matches(Parse("\"1\", \"4\""), 3));
    CHECK_FALSE(Matches(Parse("\"0\""), 0));
  }

  TEST_CASE("CheckPreconditions") {
    Preconditions none;
    CHECK(CheckPreconditions(none, 0, "d").ok());

    Preconditions match;
    match.if_match = Parse("\"2\"");
    CHECK(CheckPreconditions(match, 2, "d").ok());
    Status stale = CheckPreconditions(match, 3, "d");
    REQUIRE_FALSE(stale.ok());
    CHECK(stale.error().code == ErrorCode::kFailedPrecondition);
    CHECK(stale.error().message.find("3") != std::string::npos);
    CHECK_FALSE(CheckPreconditions(match, 0, "d").ok());

    Preconditions absent_only;
    absent_only.if_none_match = Parse("*");
    CHECK(CheckPreconditions(absent_only, 0, "d").ok());
    CHECK_FALSE(CheckPreconditions(absent_only, 1, "d").ok());

    Preconditions not_two;
    not_two.if_none_match = Parse("\"2\"");
    CHECK(CheckPreconditions(not_two, 1, "d").ok());
    CHECK_FALSE(CheckPreconditions(not_two, 2, "d").ok());
  }
}

}  // namespace
}  // namespace csp::shared_state
