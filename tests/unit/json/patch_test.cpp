#include "csp/json/patch.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "csp/json/json.h"

using csp::ErrorCode;
using csp::Status;
using csp::json::ApplyPatch;
using csp::json::Dump;
using csp::json::Value;

namespace {

Value Json(std::string_view text) {
  auto v = csp::json::Parse(text);
  REQUIRE_MESSAGE(v, text);
  return *v;
}

// Applies `patch` to `doc` and checks the result equals `expected` (deep, order-insensitive).
void ExpectPatched(std::string_view doc, std::string_view patch, std::string_view expected) {
  Value target = Json(doc);
  Status s = ApplyPatch(target, Json(patch));
  REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
  CHECK_MESSAGE(target == Json(expected), Dump(target));
}

// Applies `patch` to `doc`, expects failure with `code`, and checks doc is untouched.
csp::Error ExpectRejected(std::string_view doc, std::string_view patch,
                          ErrorCode code = ErrorCode::kInvalidArgument) {
  Value target = Json(doc);
  const std::string before = Dump(target);
  Status s = ApplyPatch(target, Json(patch));
  REQUIRE_FALSE(s);
  CHECK(s.error().code == code);
  CHECK(Dump(target) == before);
  return s.error();
}

}  // namespace

TEST_SUITE("json.patch") {
  // RFC 6902 Appendix A, every example.
  TEST_CASE("RFC 6902 A.1 adding an object member") {
    ExpectPatched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])",
                  R"({"baz":"qux","foo":"bar"})");
  }

  TEST_CASE("RFC 6902 A.2 adding an array element") {
    ExpectPatched(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])",
                  R"({"foo":["bar","qux","baz"]})");
  }

  TEST_CASE("RFC 6902 A.3 removing an object member") {
    ExpectPatched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])",
                  R"({"foo":"bar"})");
  }

  TEST_CASE("RFC 6902 A.4 removing an array element") {
    ExpectPatched(R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])",
                  R"({"foo":["bar","baz"]})");
  }

  TEST_CASE("RFC 6902 A.5 replacing a value") {
    ExpectPatched(R"({"baz":"qux","foo":"bar"})",
                  R"([{"op":"replace","path":"/baz","value":"boo"}])",
                  R"({"baz":"boo","foo":"bar"})");
  }

  TEST_CASE("RFC 6902 A.6 moving a value") {
    ExpectPatched(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                  R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
                  R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})");
  }

  TEST_CASE("RFC 6902 A.7 moving an array element") {
    ExpectPatched(R"({"foo":["all","grass","cows","eat"]})",
                  R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
                  R"({"foo":["all","cows","eat","grass"]})");
  }

  TEST_CASE("RFC 6902 A.8 testing a value success") {
    ExpectPatched(
        R"({"baz":"qux","foo":["a",2,"c"]})",
        R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
        R"({"baz":"qux","foo":["a",2,"c"]})");
  }

  TEST_CASE("RFC 6902 A.9 testing a value error") {
    auto e = ExpectRejected(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])",
                            ErrorCode::kConflict);
    CHECK(e.message == "patch[0]: test failed at /baz");
  }

  TEST_CASE("RFC 6902 A.10 adding a nested member object") {
    ExpectPatched(R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
                  R"({"foo":"bar","child":{"grandchild":{}}})");
  }

  TEST_CASE("RFC 6902 A.11 ignoring unrecognized elements") {
    ExpectPatched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])",
                  R"({"foo":"bar","baz":"qux"})");
  }

  TEST_CASE("RFC 6902 A.12 adding to a nonexistent target") {
    auto e =
        ExpectRejected(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])");
    CHECK(e.message == "patch[0].path: no value at /baz");
  }

  TEST_CASE("RFC 6902 A.13 invalid JSON patch document") {
    // Our parser keeps the last of duplicate keys, so the RFC's example reads as a remove of the
    // absent /baz: rejected either way, and the document is untouched.
    ExpectRejected(R"({"foo":"bar"})",
                   R"([{"op":"add","path":"/baz","value":"qux","op":"remove"}])");
    auto e = ExpectRejected(R"({"foo":"bar"})", R"([{"path":"/baz","value":"qux"}])");
    CHECK(e.message.rfind("patch[0].op: ", 0) == 0);
  }

  TEST_CASE("RFC 6902 A.14 tilde escape ordering") {
    ExpectPatched(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])",
                  R"({"/":9,"~1":10})");
  }

  TEST_CASE("RFC 6902 A.15 comparing strings and numbers") {
    auto e = ExpectRejected(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":"10"}])",
                            ErrorCode::kConflict);
    CHECK(e.message == "patch[0]: test failed at /~01");
  }

  TEST_CASE("RFC 6902 A.16 adding an array value") {
    ExpectPatched(R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
                  R"({"foo":["bar",["abc","def"]]})");
  }

  TEST_CASE("patch is atomic when a later operation fails") {
    const std::string_view doc = R"({"a":1,"list":[1,2]})";
    ExpectRejected(doc, R"([{"op":"add","path":"/b","value":2},
                            {"op":"remove","path":"/list/0"},
                            {"op":"remove","path":"/missing"}])");
    ExpectRejected(doc, R"([{"op":"replace","path":"/a","value":5},
                            {"op":"add","path":"/list/-","value":3},
                            {"op":"test","path":"/a","value":1}])",
                   ErrorCode::kConflict);
    // A malformed third operation is caught before anything is applied.
    ExpectRejected(doc, R"([{"op":"add","path":"/b","value":2},
                            {"op":"remove","path":"/a"},
                            {"op":"add","path":"/c"}])");
  }

  TEST_CASE("later operations see the effects of earlier ones") {
    ExpectPatched(R"({"a":1})",
                  R"([{"op":"add","path":"/b","value":{"c":[]}},
                      {"op":"add","path":"/b/c/-","value":1},
                      {"op":"test","path":"/b/c/0","value":1},
                      {"op":"copy","from":"/b","path":"/d"},
                      {"op":"remove","path":"/a"}])",
                  R"({"b":{"c":[1]},"d":{"c":[1]}})");
    ExpectPatched(R"({"x":1})", "[]", R"({"x":1})");
  }

  TEST_CASE("a failed test is a conflict naming the op index and pointer") {
    auto e = ExpectRejected(
        R"({"a":1})",
        R"([{"op":"test","path":"/a","value":1},{"op":"test","path":"/a","value":2}])",
        ErrorCode::kConflict);
    CHECK(e.message == "patch[1]: test failed at /a");
    e = ExpectRejected(R"({"a":1})", R"([{"op":"test","path":"/b","value":null}])",
                       ErrorCode::kConflict);
    CHECK(e.message.rfind("patch[0]: test failed at /b", 0) == 0);
  }

  TEST_CASE("test compares deeply") {
    ExpectPatched(R"({"o":{"x":1,"y":[1,{"z":null}]}})",
                  R"([{"op":"test","path":"/o","value":{"y":[1.0,{"z":null}],"x":1.0}}])",
                  R"({"o":{"x":1,"y":[1,{"z":null}]}})");
    ExpectRejected(R"({"l":[1,2]})", R"([{"op":"test","path":"/l","value":[2,1]}])",
                   ErrorCode::kConflict);
    ExpectRejected(R"({"o":{"x":1}})", R"([{"op":"test","path":"/o","value":{"x":1,"y":2}}])",
                   ErrorCode::kConflict);
    ExpectRejected(R"({"n":null})", R"([{"op":"test","path":"/n","value":false}])",
                   ErrorCode::kConflict);
    ExpectPatched(R"({"a":1})", R"([{"op":"test","path":"","value":{"a":1}}])", R"({"a":1})");
  }

  TEST_CASE("add replaces members sets the root and inserts into arrays") {
    ExpectPatched(R"({"a":{"old":1}})", R"([{"op":"add","path":"/a","value":2}])", R"({"a":2})");
    ExpectPatched(R"({"a":1})", R"([{"op":"add","path":"","value":[1]}])", "[1]");
    ExpectPatched(R"({"a":1})", R"([{"op":"add","path":"/n","value":null}])",
                  R"({"a":1,"n":null})");
    ExpectPatched(R"([1,2])",
                  R"([{"op":"add","path":"/2","value":3},{"op":"add","path":"/0","value":0}])",
                  "[0,1,2,3]");
    auto e = ExpectRejected(R"({"l":[1]})", R"([{"op":"add","path":"/l/2","value":3}])");
    CHECK(e.message == "patch[0].path: /l/2: index 2 is past the end of the array at /l (size 1)");
    ExpectRejected(R"({"l":[1]})", R"([{"op":"add","path":"/l/01","value":3}])");
    ExpectRejected(R"({"s":"x"})", R"([{"op":"add","path":"/s/a","value":3}])");
  }

  TEST_CASE("remove and replace need an existing target") {
    auto e = ExpectRejected(R"({"a":1})", R"([{"op":"remove","path":"/b"}])");
    CHECK(e.message == "patch[0].path: no value at /b");
    e = ExpectRejected(R"({"a":1})", R"([{"op":"replace","path":"/b","value":1}])");
    CHECK(e.message == "patch[0].path: no value at /b");
    ExpectRejected(R"({"l":[1]})", R"([{"op":"remove","path":"/l/1"}])");
    ExpectRejected(R"({"l":[1]})", R"([{"op":"remove","path":"/l/-"}])");
    ExpectRejected(R"({"l":[1]})", R"([{"op":"replace","path":"/l/-","value":1}])");
    ExpectRejected(R"({"a":1})", R"([{"op":"remove","path":""}])");
    ExpectPatched(R"({"a":1})", R"([{"op":"replace","path":"","value":{"b":2}}])", R"({"b":2})");
    ExpectPatched(R"({"l":[1,2,3]})", R"([{"op":"replace","path":"/l/1","value":"x"}])",
                  R"({"l":[1,"x",3]})");
  }

  TEST_CASE("move rules") {
    auto e = ExpectRejected(R"({"a":{"b":1}})", R"([{"op":"move","from":"/a","path":"/a/b/c"}])");
    CHECK(e.message == "patch[0].from: cannot move /a into its own child /a/b/c");
    e = ExpectRejected(R"({"a":1})", R"([{"op":"move","from":"/x","path":"/y"}])");
    CHECK(e.message == "patch[0].from: no value at /x");
    ExpectRejected(R"({"a":1})", R"([{"op":"move","from":"/x","path":"/x"}])");
    ExpectPatched(R"({"a":1})", R"([{"op":"move","from":"/a","path":"/a"}])", R"({"a":1})");
    ExpectPatched(R"({"a":{"b":1}})", R"([{"op":"move","from":"/a/b","path":"/a"}])", R"({"a":1})");
    ExpectPatched(R"({"l":[1,2,3]})", R"([{"op":"move","from":"/l/0","path":"/l/-"}])",
                  R"({"l":[2,3,1]})");
    ExpectPatched(R"({"a":1,"b":2})", R"([{"op":"move","from":"/a","path":"/b"}])", R"({"b":1})");
    // The destination's parent must exist after the removal.
    ExpectRejected(R"({"a":1})", R"([{"op":"move","from":"/a","path":"/x/y"}])");
  }

  TEST_CASE("copy is deep") {
    Value doc = Json(R"({"a":{"x":[1]}})");
    REQUIRE(ApplyPatch(doc, Json(R"([{"op":"copy","from":"/a","path":"/b"},
                                     {"op":"add","path":"/a/x/-","value":2},
                                     {"op":"replace","path":"/b/x/0","value":9}])")));
    CHECK(doc == Json(R"({"a":{"x":[1,2]},"b":{"x":[9]}})"));
    ExpectPatched(R"({"l":[1,2]})", R"([{"op":"copy","from":"/l","path":"/l/-"}])",
                  R"({"l":[1,2,[1,2]]})");
    auto e = ExpectRejected(R"({"a":1})", R"([{"op":"copy","from":"/x","path":"/y"}])");
    CHECK(e.message == "patch[0].from: no value at /x");
  }

  TEST_CASE("malformed operations name the index and field") {
    const std::string_view doc = R"({"a":1})";
    auto e = ExpectRejected(doc, R"({"op":"add","path":"/b","value":1})");
    CHECK(e.message.rfind("patch: expected an array", 0) == 0);
    ExpectRejected(doc, R"("not a patch")");

    e = ExpectRejected(doc, R"([{"op":"test","path":"/a","value":1}, 5])");
    CHECK(e.message.rfind("patch[1]: expected an object", 0) == 0);

    e = ExpectRejected(doc, R"([{"op":"frob","path":"/a"}])");
    CHECK(e.message ==
          "patch[0].op: unknown op 'frob' (supported: add, remove, replace, move, copy, test)");
    e = ExpectRejected(doc, R"([{"op":7,"path":"/a"}])");
    CHECK(e.message.rfind("patch[0].op: expected a string", 0) == 0);
    e = ExpectRejected(doc, R"([{"op":"Add","path":"/a","value":1}])");
    CHECK(e.message.rfind("patch[0].op: unknown op 'Add'", 0) == 0);

    e = ExpectRejected(doc, R"([{"op":"test","path":"/a","value":1},
                                {"op":"test","path":"/a","value":1},
                                {"op":"remove","path":1}])");
    CHECK(e.message.rfind("patch[2].path: expected a string", 0) == 0);
    e = ExpectRejected(doc, R"([{"op":"remove"}])");
    CHECK(e.message.rfind("patch[0].path: ", 0) == 0);
    e = ExpectRejected(doc, R"([{"op":"remove","path":"a"}])");
    CHECK(e.message == "patch[0].path: invalid JSON pointer 'a': must be empty or start with '/'");
    e = ExpectRejected(doc, R"([{"op":"remove","path":"/a~2"}])");
    CHECK(e.message.rfind("patch[0].path: invalid JSON pointer '/a~2'", 0) == 0);

    e = ExpectRejected(doc, R"([{"op":"move","path":"/b"}])");
    CHECK(e.message.rfind("patch[0].from: ", 0) == 0);
    e = ExpectRejected(doc, R"([{"op":"copy","from":"x","path":"/b"}])");
    CHECK(e.message.rfind("patch[0].from: invalid JSON pointer 'x'", 0) == 0);

    for (std::string_view op : {"add", "replace", "test"}) {
      CAPTURE(op);
      e = ExpectRejected(doc, R"([{"op":")" + std::string(op) + R"(","path":"/a"}])");
      CHECK(e.message == "patch[0].value: is required");
    }
    // remove needs no value and ignores one that is there.
    ExpectPatched(doc, R"([{"op":"remove","path":"/a","value":1}])", "{}");
  }
}
