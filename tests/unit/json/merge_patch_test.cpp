#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "csp/json/json.h"
#include "csp/json/patch.h"

using csp::json::ApplyMergePatch;
using csp::json::Dump;
using csp::json::MergePatch;
using csp::json::Value;

namespace {

Value Json(std::string_view text) {
  auto v = csp::json::Parse(text);
  REQUIRE_MESSAGE(v, text);
  return *v;
}

}  // namespace

TEST_SUITE("json.merge_patch") {
  TEST_CASE("RFC 7396 appendix A table") {
    struct Row {
      std::string_view target;
      std::string_view patch;
      std::string_view result;
    };
    const Row rows[] = {
        {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
        {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
        {R"({"a":"b"})", R"({"a":null})", R"({})"},
        {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
        {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
        {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
        {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
        {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
        {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
        {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
        {R"({"a":"foo"})", "null", "null"},
        {R"({"a":"foo"})", R"("bar")", R"("bar")"},
        {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
        {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
        {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.target);
      CAPTURE(row.patch);
      const Value target = Json(row.target);
      const Value patch = Json(row.patch);
      const Value expected = Json(row.result);

      Value merged = MergePatch(target, patch);
      CHECK_MESSAGE(merged == expected, Dump(merged));
      // Existing members keep their place and new ones are appended, as the RFC's table shows.
      CHECK(Dump(merged) == Dump(expected));
      CHECK(target == Json(row.target));  // MergePatch leaves its input alone

      Value in_place = Json(row.target);
      ApplyMergePatch(in_place, patch);
      CHECK(in_place == expected);
    }
  }

  TEST_CASE("RFC 7396 section 1 and section 3 examples") {
    Value doc = Json(R"({"a":"b","c":{"d":"e","f":"g"}})");
    ApplyMergePatch(doc, Json(R"({"a":"z","c":{"f":null}})"));
    CHECK(doc == Json(R"({"a":"z","c":{"d":"e"}})"));

    Value post = Json(R"({
      "title": "Goodbye!",
      "author": {"givenName": "John", "familyName": "Doe"},
      "tags": ["example", "sample"],
      "content": "This will be unchanged"
    })");
    ApplyMergePatch(post, Json(R"({
      "title": "Hello!",
      "phoneNumber": "+01-123-456-7890",
      "author": {"familyName": null},
      "tags": ["example"]
    })"));
    CHECK(post == Json(R"({
      "title": "Hello!",
      "author": {"givenName": "John"},
      "tags": ["example"],
      "content": "This will be unchanged",
      "phoneNumber": "+01-123-456-7890"
    })"));
  }

  TEST_CASE("merge patch recurses and replaces non objects") {
    CHECK(
        MergePatch(Json(R"({"a":{"b":{"c":1,"d":2}}})"), Json(R"({"a":{"b":{"c":null,"e":3}}})")) ==
        Json(R"({"a":{"b":{"d":2,"e":3}}})"));
    CHECK(MergePatch(Json(R"({"a":5})"), Json(R"({"a":{"x":null,"y":1}})")) ==
          Json(R"({"a":{"y":1}})"));
    CHECK(MergePatch(Json(R"({"a":1})"), Json("{}")) == Json(R"({"a":1})"));
    CHECK(MergePatch(Json("null"), Json(R"({"a":1})")) == Json(R"({"a":1})"));
    CHECK(MergePatch(Json(R"({"a":1})"), Json(R"({"missing":null})")) == Json(R"({"a":1})"));
    // Nulls inside arrays are data, not deletions.
    CHECK(MergePatch(Json("{}"), Json(R"({"l":[null,{"k":null}]})")) ==
          Json(R"({"l":[null,{"k":null}]})"));
  }

  TEST_CASE("merging a value into itself follows the RFC") {
    Value doc = Json(R"({"a":1,"b":null,"c":{"d":null}})");
    ApplyMergePatch(doc, doc);
    CHECK(doc == Json(R"({"a":1,"c":{}})"));
  }
}
