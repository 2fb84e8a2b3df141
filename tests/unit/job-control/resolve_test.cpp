#include <doctest/doctest.h>

#include "csp/json/json.h"
#include "csp/json/patch.h"
#include "resolve.h"

namespace csp::job_control {
namespace {

json::Value J(std::string_view text) {
  auto v = json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

std::string Resolve(std::string_view input, std::string_view state) {
  auto r = ResolveRefs(J(input), J(state));
  return r ? json::Dump(*r) : "<absent>";
}

StoreSpec Spec(std::string target, std::string source = "", std::vector<int> statuses = {}) {
  StoreSpec s;
  s.target_path = std::move(target);
  s.has_source = !source.empty();
  s.source_path = source == "/" ? "" : source;
  s.only_on_status = std::move(statuses);
  return s;
}

TEST_SUITE("resolve") {
  TEST_CASE("$fromState takes the value at the pointer") {
    CHECK(Resolve(R"({"a": {"$fromState": "/user/role"}})", R"({"user": {"role": "editor"}})") == R"({"a":"editor"})");
    CHECK(Resolve(R"({"$fromState": "/list/1"})", R"({"list": [10, 20]})") == "20");
    CHECK(Resolve(R"({"$fromState": "/a~1b"})", R"({"a/b": 1})") == "1");
    CHECK(Resolve(R"({"$fromState": ""})", R"({"x": 1})") == R"({"x":1})");
  }

  TEST_CASE("the default is used only when the pointer finds nothing") {
    CHECK(Resolve(R"({"a": {"$fromState": "/missing", "default": "guest"}})", "{}") == R"({"a":"guest"})");
    CHECK(Resolve(R"({"a": {"$fromState": "/n", "default": 5}})", R"({"n": null})") == R"({"a":null})");
    CHECK(Resolve(R"({"a": {"$fromState": "/n", "default": 5}})", R"({"n": 0})") == R"({"a":0})");
    CHECK(Resolve(R"({"a": {"$fromState": "/n", "default": 5}})", R"({"n": false})") == R"({"a":false})");
    CHECK(Resolve(R"({"a": {"$fromState": "/n", "default": 5}})", R"({"n": ""})") == R"({"a":""})");
    // Through a scalar, past an array's end: nothing found.
    CHECK(Resolve(R"({"a": {"$fromState": "/n/x", "default": 1}})", R"({"n": 0})") == R"({"a":1})");
    CHECK(Resolve(R"({"a": {"$fromState": "/l/5", "default": 2}})", R"({"l": [1]})") == R"({"a":2})");
  }

  TEST_CASE("with neither value nor default the key is left out - in an array it is null") {
    CHECK(Resolve(R"({"a": {"$fromState": "/missing"}, "b": 1})", "{}") == R"({"b":1})");
    CHECK(Resolve(R"([{"$fromState": "/missing"}, 2])", "{}") == "[null,2]");
    CHECK(Resolve(R"({"$fromState": "/missing"})", "{}") == "<absent>");
  }

  TEST_CASE("a default may itself hold $fromState - values from state are not resolved again") {
    CHECK(Resolve(R"({"a": {"$fromState": "/x", "default": {"$fromState": "/y", "default": "z"}}})", R"({"y": "Y"})") ==
          R"({"a":"Y"})");
    CHECK(Resolve(R"({"a": {"$fromState": "/x", "default": {"v": {"$fromState": "/y"}}}})", R"({"y": 1})") ==
          R"({"a":{"v":1}})");
    CHECK(Resolve(R"({"a": {"$fromState": "/x", "default": {"$fromState": "/y"}}})", "{}") == "{}");
    CHECK(Resolve(R"({"a": {"$fromState": "/ref"}})", R"({"ref": {"$fromState": "/other"}, "other": 1})") ==
          R"({"a":{"$fromState":"/other"}})");
  }

  TEST_CASE("nested inputs, arrays and non-reference objects") {
    CHECK(Resolve(R"({"args": {"city": {"$fromState": "/city", "default": "Paris"}, "units": "metric"},
                      "list": [1, {"$fromState": "/n"}, {"k": {"$fromState": "/n"}}],
                      "literal": {"$fromState": 5}})",
                  R"({"n": 3})") ==
          R"({"args":{"city":"Paris","units":"metric"},"list":[1,3,{"k":3}],"literal":{"$fromState":5}})");
  }

  TEST_CASE("the request body is the resolved input plus requestId") {
    CHECK(json::Dump(BuildRequestBody(J(R"({"command": "create", "requestId": "mine", "x": {"$fromState": "/v"}})"),
                                      J(R"({"v": 1})"), "r-1")) == R"({"command":"create","requestId":"r-1","x":1})");
    CHECK(json::Dump(BuildRequestBody(json::Value(), J("{}"), "r-2")) == R"({"requestId":"r-2"})");
  }

  TEST_CASE("reply values: JSON, 204, non-JSON") {
    CHECK(json::Dump(ReplyValue(200, "application/json", R"({"result":1})")) == R"({"result":1})");
    CHECK(ReplyValue(204, "", "").IsNull());
    CHECK(json::Dump(ReplyValue(200, "text/plain", "hello")) == R"({"_raw":"hello","_contentType":"text/plain"})");
  }

  TEST_CASE("storeResultAt as a string stores the whole reply, creating parents") {
    auto patch = BuildStorePatch({Spec("/results/uppercase")}, 200, J(R"({"result": "HELLO"})"), J(R"({"a": 1})"));
    REQUIRE(patch.ok());
    CHECK(json::Dump(*patch) ==
          R"([{"op":"add","path":"/results","value":{}},{"op":"add","path":"/results/uppercase","value":{"result":"HELLO"}}])");
    json::Value doc = J(R"({"a": 1})");
    REQUIRE(json::ApplyPatch(doc, *patch).ok());
    CHECK(json::Dump(doc) == R"({"a":1,"results":{"uppercase":{"result":"HELLO"}}})");
  }

  TEST_CASE("sourcePath, '/', onlyOnStatus, and several entries in one patch") {
    json::Value result = J(R"({"statusCode": 201, "result": {"id": "p1"}})");
    std::vector<StoreSpec> specs = {Spec("/person", "/result"), Spec("/all", "/"), Spec("/only200", "/result", {200}),
                                    Spec("/id", "/result/id", {201})};
    auto patch = BuildStorePatch(specs, 201, result, J("{}"));
    REQUIRE(patch.ok());
    json::Value doc = J("{}");
    REQUIRE(json::ApplyPatch(doc, *patch).ok());
    CHECK(json::Dump(doc) == R"({"person":{"id":"p1"},"all":{"statusCode":201,"result":{"id":"p1"}},"id":"p1"})");
  }

  TEST_CASE("a scalar parent is replaced by an object - an existing object is kept") {
    auto patch = BuildStorePatch({Spec("/a/b/c")}, 200, J("1"), J(R"({"a": 5})"));
    REQUIRE(patch.ok());
    json::Value doc = J(R"({"a": 5})");
    REQUIRE(json::ApplyPatch(doc, *patch).ok());
    CHECK(json::Dump(doc) == R"({"a":{"b":{"c":1}}})");
    patch = BuildStorePatch({Spec("/a/x")}, 200, J("2"), J(R"({"a": {"keep": true}})"));
    REQUIRE(patch.ok());
    CHECK(json::Dump(*patch) == R"([{"op":"add","path":"/a/x","value":2}])");
  }

  TEST_CASE("a sourcePath missing from the reply fails, naming it") {
    auto patch = BuildStorePatch({Spec("/x", "/nope")}, 200, J(R"({"result": 1})"), J("{}"));
    REQUIRE_FALSE(patch.ok());
    CHECK(patch.error().message == "sourcePath /nope not found in result");
  }

  TEST_CASE("nothing admitted: an empty patch") {
    auto patch = BuildStorePatch({Spec("/x", "", {200})}, 201, J("1"), J("{}"));
    REQUIRE(patch.ok());
    CHECK(patch->AsArray().empty());
  }

  TEST_CASE("a target that cannot be written is an error") {
    auto patch = BuildStorePatch({Spec("/list/7")}, 200, J("1"), J(R"({"list": [1]})"));
    CHECK_FALSE(patch.ok());
  }
}

}  // namespace
}  // namespace csp::job_control
