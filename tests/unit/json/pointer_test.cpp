#include "csp/json/pointer.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "csp/json/json.h"

using csp::ErrorCode;
using csp::json::Dump;
using csp::json::Find;
using csp::json::Get;
using csp::json::Pointer;
using csp::json::SetCreating;
using csp::json::Value;

namespace {

Value Json(std::string_view text) {
  auto v = csp::json::Parse(text);
  REQUIRE_MESSAGE(v, text);
  return *v;
}

Pointer Ptr(std::string_view text) {
  auto p = Pointer::Parse(text);
  REQUIRE_MESSAGE(p, text);
  return *p;
}

using Tokens = std::vector<std::string>;

// RFC 6901 section 5.
constexpr std::string_view kRfcDocument = R"({
  "foo": ["bar", "baz"],
  "": 0,
  "a/b": 1,
  "c%d": 2,
  "e^f": 3,
  "g|h": 4,
  "i\\j": 5,
  "k\"l": 6,
  " ": 7,
  "m~n": 8
})";

}  // namespace

TEST_SUITE("json.pointer") {
  TEST_CASE("pointer parse splits and unescapes tokens") {
    CHECK(Ptr("").IsRoot());
    CHECK(Ptr("").tokens().empty());
    CHECK(Ptr("/").tokens() == Tokens{""});
    CHECK(Ptr("//").tokens() == Tokens{"", ""});
    CHECK(Ptr("/a/").tokens() == Tokens{"a", ""});
    CHECK(Ptr("/a/b/0").tokens() == Tokens{"a", "b", "0"});
    CHECK(Ptr("/a~1b").tokens() == Tokens{"a/b"});
    CHECK(Ptr("/m~0n").tokens() == Tokens{"m~n"});
    CHECK(Ptr("/~0~1").tokens() == Tokens{"~/"});
  }

  TEST_CASE("pointer unescaping is one left to right pass") {
    // "~01" is "~" then "1": decoding ~1 first would wrongly give "~1" -> "/".
    CHECK(Ptr("/~01").tokens() == Tokens{"~1"});
    CHECK(Ptr("/~10").tokens() == Tokens{"/0"});
    CHECK(Ptr("/~0~0").tokens() == Tokens{"~~"});
  }

  TEST_CASE("pointer parse rejects bad syntax and names the pointer") {
    for (std::string_view bad :
         {"a", "a/b", "#/a", " /a", "/~", "/a~", "/~2", "/~a", "/a/~/b", "/~~1"}) {
      CAPTURE(bad);
      auto p = Pointer::Parse(bad);
      REQUIRE_FALSE(p);
      CHECK(p.error().code == ErrorCode::kInvalidArgument);
      CHECK(p.error().message.find("'" + std::string(bad) + "'") != std::string::npos);
    }
  }

  TEST_CASE("pointer ToString escapes and round trips") {
    Pointer p = Pointer::FromTokens({"a/b", "m~n", "", "~1"});
    CHECK(p.ToString() == "/a~1b/m~0n//~01");
    CHECK(Ptr(p.ToString()).tokens() == p.tokens());
    CHECK(Ptr("").ToString().empty());
    CHECK(Ptr("/").ToString() == "/");
  }

  TEST_CASE("pointer Parent Child Last and IsPrefixOf") {
    Pointer p = Ptr("/a/b");
    CHECK(p.Last() == "b");
    CHECK(p.Parent().ToString() == "/a");
    CHECK(p.Parent().Parent().IsRoot());
    CHECK(Ptr("").Parent().IsRoot());
    CHECK(p.Child("c/d").ToString() == "/a/b/c~1d");
    CHECK(p.ToString() == "/a/b");  // Child and Parent do not mutate

    CHECK(Ptr("/a").IsPrefixOf(Ptr("/a/b")));
    CHECK(Ptr("").IsPrefixOf(Ptr("/a")));
    CHECK_FALSE(Ptr("/a").IsPrefixOf(Ptr("/a")));  // proper prefix only
    CHECK_FALSE(Ptr("/a/b").IsPrefixOf(Ptr("/a")));
    CHECK_FALSE(Ptr("/a").IsPrefixOf(Ptr("/ab")));
    CHECK_FALSE(Ptr("/a").IsPrefixOf(Ptr("/b/a")));
  }

  TEST_CASE("RFC 6901 section 5 examples resolve") {
    const Value doc = Json(kRfcDocument);
    struct Row {
      std::string_view pointer;
      std::string_view expected;
    };
    const Row rows[] = {
        {"/foo", R"(["bar","baz"])"},
        {"/foo/0", R"("bar")"},
        {"/", "0"},
        {"/a~1b", "1"},
        {"/c%d", "2"},
        {"/e^f", "3"},
        {"/g|h", "4"},
        {"/i\\j", "5"},
        {"/k\"l", "6"},
        {"/ ", "7"},
        {"/m~0n", "8"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.pointer);
      auto got = Get(doc, Ptr(row.pointer));
      REQUIRE(got);
      CHECK(**got == Json(row.expected));
      CHECK(Find(doc, Ptr(row.pointer)) == *got);
    }
    auto whole = Get(doc, Ptr(""));
    REQUIRE(whole);
    CHECK(*whole == &doc);
  }

  TEST_CASE("array indices must be canonical decimal") {
    const Value doc = Json(R"({"a":[10,20,30]})");
    CHECK(**Get(doc, Ptr("/a/0")) == Value(10));
    CHECK(**Get(doc, Ptr("/a/2")) == Value(30));

    for (std::string_view bad : {"/a/01", "/a/00", "/a/+1", "/a/-1", "/a/1e0", "/a/ 1", "/a/1 ",
                                 "/a/", "/a/x", "/a/0x1", "/a/1.0"}) {
      CAPTURE(bad);
      auto got = Get(doc, Ptr(bad));
      REQUIRE_FALSE(got);
      CHECK(got.error().code == ErrorCode::kInvalidArgument);
      CHECK(got.error().message.find("is not an array index") != std::string::npos);
      CHECK(Find(doc, Ptr(bad)) == nullptr);
    }
  }

  TEST_CASE("past the end and huge indices are absent without overflow") {
    const Value doc = Json(R"({"a":[10,20,30]})");
    for (std::string_view absent :
         {"/a/3", "/a/-", "/a/18446744073709551615", "/a/18446744073709551616",
          "/a/99999999999999999999999999999999999999"}) {
      CAPTURE(absent);
      auto got = Get(doc, Ptr(absent));
      REQUIRE_FALSE(got);
      CHECK(got.error().code == ErrorCode::kNotFound);
      CHECK(Find(doc, Ptr(absent)) == nullptr);
    }
  }

  TEST_CASE("Get names the pointer when a value is absent") {
    const Value doc = Json(R"({"a":{"b":1}})");
    auto got = Get(doc, Ptr("/a/c"));
    REQUIRE_FALSE(got);
    CHECK(got.error().code == ErrorCode::kNotFound);
    CHECK(got.error().message == "no value at /a/c");

    got = Get(doc, Ptr("/x/y/z"));
    REQUIRE_FALSE(got);
    CHECK(got.error().message == "no value at /x/y/z");
  }

  TEST_CASE("Get through a scalar is an invalid argument naming where") {
    const Value doc = Json(R"({"s":"text","n":1.5,"z":null,"b":true,"o":{"i":3}})");
    struct Row {
      std::string_view pointer;
      std::string_view message;
    };
    const Row rows[] = {
        {"/s/0", "/s/0: cannot index into a string at /s"},
        {"/n/a", "/n/a: cannot index into a number at /n"},
        {"/z/a", "/z/a: cannot index into null at /z"},
        {"/b/a/c", "/b/a/c: cannot index into a boolean at /b"},
        {"/o/i/j", "/o/i/j: cannot index into a number at /o/i"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.pointer);
      auto got = Get(doc, Ptr(row.pointer));
      REQUIRE_FALSE(got);
      CHECK(got.error().code == ErrorCode::kInvalidArgument);
      CHECK(got.error().message == row.message);
      CHECK(Find(doc, Ptr(row.pointer)) == nullptr);
    }
    auto at_root = Get(Value(7), Ptr("/a"));
    REQUIRE_FALSE(at_root);
    CHECK(at_root.error().message == "/a: cannot index into a number at the root");
  }

  TEST_CASE("mutable Find edits in place") {
    Value doc = Json(R"({"a":[{"b":1}]})");
    Value* b = Find(doc, Ptr("/a/0/b"));
    REQUIRE(b != nullptr);
    *b = "changed";
    CHECK(doc == Json(R"({"a":[{"b":"changed"}]})"));
    CHECK(Find(doc, Ptr("/a/1")) == nullptr);
  }

  TEST_CASE("SetCreating creates missing intermediate objects") {
    Value doc = Json("{}");
    REQUIRE(SetCreating(doc, Ptr("/a/b/c"), 1));
    CHECK(doc == Json(R"({"a":{"b":{"c":1}}})"));

    REQUIRE(SetCreating(doc, Ptr("/a/x"), "y"));
    CHECK(Dump(doc) == R"({"a":{"b":{"c":1},"x":"y"}})");

    REQUIRE(SetCreating(doc, Ptr("/a~1b/m~0n"), true));
    CHECK(*Find(doc, Ptr("/a~1b/m~0n")) == Value(true));
    CHECK(doc.Find("a/b")->Find("m~n") != nullptr);

    REQUIRE(SetCreating(doc, Ptr("/__proto__/polluted"), 1));  // ordinary data
    CHECK(*Find(doc, Ptr("/__proto__/polluted")) == Value(1));
  }

  TEST_CASE("SetCreating replaces an existing member in place") {
    Value doc = Json(R"({"x":1,"y":{"deep":true},"z":3})");
    REQUIRE(SetCreating(doc, Ptr("/y"), 2));
    CHECK(Dump(doc) == R"({"x":1,"y":2,"z":3})");
  }

  TEST_CASE("SetCreating on arrays appends inserts and rejects past the end") {
    Value doc = Json(R"({"l":[1,2]})");
    REQUIRE(SetCreating(doc, Ptr("/l/-"), 3));
    CHECK(Dump(doc) == R"({"l":[1,2,3]})");
    REQUIRE(SetCreating(doc, Ptr("/l/0"), 0));
    CHECK(Dump(doc) == R"({"l":[0,1,2,3]})");
    REQUIRE(SetCreating(doc, Ptr("/l/4"), 4));  // index == size appends
    CHECK(Dump(doc) == R"({"l":[0,1,2,3,4]})");

    const std::string before = Dump(doc);
    auto past = SetCreating(doc, Ptr("/l/6"), 6);
    REQUIRE_FALSE(past);
    CHECK(past.error().code == ErrorCode::kInvalidArgument);
    CHECK(past.error().message == "/l/6: index 6 is past the end of the array at /l (size 5)");
    for (std::string_view bad : {"/l/01", "/l/x", "/l/-1", "/l/99999999999999999999999999"}) {
      CAPTURE(bad);
      auto r = SetCreating(doc, Ptr(bad), 0);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kInvalidArgument);
    }
    CHECK(Dump(doc) == before);
  }

  TEST_CASE("SetCreating walks into existing array elements") {
    Value doc = Json(R"({"l":[{"k":0}]})");
    REQUIRE(SetCreating(doc, Ptr("/l/0/k"), 1));
    REQUIRE(SetCreating(doc, Ptr("/l/0/new/deeper"), 2));
    CHECK(doc == Json(R"({"l":[{"k":1,"new":{"deeper":2}}]})"));

    const std::string before = Dump(doc);
    CHECK_FALSE(SetCreating(doc, Ptr("/l/1/k"), 1));  // intermediates are objects, never elements
    CHECK_FALSE(SetCreating(doc, Ptr("/l/-/k"), 1));
    CHECK_FALSE(SetCreating(doc, Ptr("/l/x/k"), 1));
    CHECK(Dump(doc) == before);
  }

  TEST_CASE("SetCreating through a scalar or null fails and changes nothing") {
    Value doc = Json(R"({"s":"x","n":5,"z":null,"o":{}})");
    const std::string before = Dump(doc);
    struct Row {
      std::string_view pointer;
      std::string_view message;
    };
    const Row rows[] = {
        {"/s/a", "/s/a: cannot index into a string at /s"},
        {"/n/a/b", "/n/a/b: cannot index into a number at /n"},
        {"/z/a", "/z/a: cannot index into null at /z"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.pointer);
      auto r = SetCreating(doc, Ptr(row.pointer), 1);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kInvalidArgument);
      CHECK(r.error().message == row.message);
    }
    CHECK(Dump(doc) == before);

    Value scalar_root(3);
    CHECK_FALSE(SetCreating(scalar_root, Ptr("/a"), 1));
    CHECK(scalar_root == Value(3));
  }

  TEST_CASE("SetCreating at the root replaces the document") {
    Value doc = Json(R"({"old":true})");
    REQUIRE(SetCreating(doc, Ptr(""), Json(R"({"new":[1]})")));
    CHECK(Dump(doc) == R"({"new":[1]})");
    REQUIRE(SetCreating(doc, Ptr(""), 5));
    CHECK(doc == Value(5));
  }

  TEST_CASE("SetCreating with the empty key") {
    Value doc = Json("{}");
    REQUIRE(SetCreating(doc, Ptr("//x"), 2));
    CHECK(Dump(doc) == R"({"":{"x":2}})");
    REQUIRE(SetCreating(doc, Ptr("/"), 1));
    CHECK(Dump(doc) == R"({"":1})");
  }
}
