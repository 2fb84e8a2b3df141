// The HTTP surface through Router::Dispatch: reply shapes, statuses and headers, no sockets.
#include "shared-state/routes.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "csp/http/metrics.h"
#include "csp/http/router.h"
#include "csp/json/json.h"
#include "fake_clock.h"
#include "shared-state/document_store.h"
#include "shared-state/watch_hub.h"

namespace csp::shared_state {
namespace {

using http::Method;
using http::Request;
using http::Response;
using json::Value;
using testing::FakeClock;

Value J(std::string_view text) {
  Result<Value> v = json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

Value Body(const Response& r) { return J(r.body); }

std::string Header(const Response& r, std::string_view name) {
  auto h = r.Header(name);
  return h ? std::string(*h) : "";
}

struct Service {
  Service() : hub(clock) {
    StoreOptions options;
    options.max_document = 256;
    auto opened = DocumentStore::Open(":memory:", clock, options);
    REQUIRE(opened.ok());
    store = std::move(*opened);
    store->SetWriteListener([this](const std::string& id, int64_t v) { hub.Notify(id, v); });
    hub.Start();
    AddRoutes(router, *store, hub, clock, metrics);
  }
  ~Service() { hub.Shutdown(); }

  Response Call(Method method, std::string target, std::string body = "",
                std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request req;
    req.method = method;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) {
      req.query_string = target.substr(q + 1);
      req.query = http::ParseQuery(req.query_string);
    }
    req.headers.Set("Host", "state.test:4500");
    for (auto& [k, v] : headers) req.headers.Set(k, v);
    req.body = std::move(body);
    return router.Dispatch(std::move(req));
  }

  FakeClock clock;
  std::unique_ptr<DocumentStore> store;
  WatchHub hub;
  http::MetricsRegistry metrics;
  http::Router router;
};

TEST_SUITE("shared_state.routes") {
  TEST_CASE("POST /state: 201 stateURL from the Host header + Location + ETag - 409 when taken") {
    Service s;
    Response r = s.Call(Method::kPost, "/state", R"({"id":"s1","a":1})");
    CHECK(r.status == 201);
    CHECK(Body(r) == J(R"({"stateURL":"http://state.test:4500/state/s1","id":"s1","version":1})"));
    CHECK(Header(r, "Location") == "http://state.test:4500/state/s1");
    CHECK(Header(r, "ETag") == "\"1\"");
    CHECK(s.Call(Method::kGet, "/state/s1").body == R"({"a":1})");  // id is not content

    Response taken = s.Call(Method::kPost, "/state", R"({"id":"s1"})");
    CHECK(taken.status == 409);
    CHECK(Body(taken) == J(R"({"error":"State ID 's1' already exists.","code":"already_exists"})"));

    Response no_body = s.Call(Method::kPost, "/state");
    CHECK(no_body.status == 201);
    CHECK(IsValidId(Body(no_body).Find("id")->AsString()));

    CHECK(s.Call(Method::kPost, "/state", R"({"id":5})").status == 400);
    CHECK(s.Call(Method::kPost, "/state", R"({"id":"a b"})").status == 400);
    CHECK(s.Call(Method::kPost, "/state", "[1]").status == 400);
    Response bad_json = s.Call(Method::kPost, "/state", "{\"a\":");
    CHECK(bad_json.status == 400);
    CHECK(Body(bad_json).Find("code")->AsString() == "invalid_json");
  }

  TEST_CASE("GET /state/:id: content alone with ETag - 304 on If-None-Match - 404 JSON") {
    Service s;
    REQUIRE(s.Call(Method::kPut, "/state/g", R"({"a":[1,2]})").status == 201);
    Response r = s.Call(Method::kGet, "/state/g");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"a":[1,2]})");
    CHECK(Header(r, "ETag") == "\"1\"");
    CHECK(s.Call(Method::kGet, "/state/g", "", {{"If-None-Match", "\"1\""}}).status == 304);
    CHECK(s.Call(Method::kGet, "/state/g", "", {{"If-None-Match", "W/\"0\", \"1\""}}).status == 304);
    CHECK(s.Call(Method::kGet, "/state/g", "", {{"If-None-Match", "\"2\""}}).status == 200);
    CHECK(s.Call(Method::kGet, "/state/g", "", {{"If-None-Match", "1"}}).status == 400);
    Response missing = s.Call(Method::kGet, "/state/nope");
    CHECK(missing.status == 404);
    CHECK(Body(missing).Find("code")->AsString() == "not_found");
    CHECK(s.Call(Method::kGet, "/state/a%20b").status == 400);  // the id is percent-decoded, then checked
  }

  TEST_CASE("GET ?meta and GET /state") {
    Service s;
    REQUIRE(s.Call(Method::kPut, "/state/m", R"({"a":1})").status == 201);
    Response meta = s.Call(Method::kGet, "/state/m?meta");
    CHECK(Body(meta) == J(R"({"id":"m","createdAt":"2026-11-22T10:00:00.000Z",
                              "lastModified":"2026-11-22T10:00:00.000Z","version":1,"sizeBytes":7})"));
    Response list = s.Call(Method::kGet, "/state");
    CHECK(Body(list) == J(R"([{"id":"m","createdAt":"2026-11-22T10:00:00.000Z",
                              "lastModified":"2026-11-22T10:00:00.000Z","version":1,
                              "rel":"item","href":"http://state.test:4500/state/m"}])"));
  }

  TEST_CASE("POST /state/:id upserts and merges shallowly") {
    Service s;
    Response created = s.Call(Method::kPost, "/state/u", R"({"a":{"x":1}})");
    CHECK(created.status == 200);
    CHECK(*Body(created).Find("status") == Value("updated"));
    Response merged = s.Call(Method::kPost, "/state/u", R"({"a":{"y":1},"b":2})");
    CHECK(Body(merged) == J(R"({"status":"updated","state":{"id":"u","content":{"a":{"y":1},"b":2},
                                "createdAt":"2026-11-22T10:00:00.000Z","lastModified":"2026-11-22T10:00:00.000Z",
                                "version":2}})"));
    CHECK(Header(merged, "ETag") == "\"2\"");
    CHECK(s.Call(Method::kPost, "/state/u").status == 200);  // no body merges nothing (still a write)
    CHECK(s.Call(Method::kPost, "/state/u", "[1]").status == 400);
  }

  TEST_CASE("PATCH: merge + add + unknown op + bad values") {
    Service s;
    Response merged = s.Call(Method::kPatch, "/state/p", R"({"op":"merge","value":{"a":1}})");
    CHECK(merged.status == 200);
    CHECK(*Body(merged).Find("status") == Value("merged"));
    Response added = s.Call(Method::kPatch, "/state/p", R"({"op":"add","path":"/b/c","value":2})");
    CHECK(added.status == 200);
    CHECK(*Body(added).Find("status") == Value("patched"));
    CHECK(*Body(added).Find("state")->Find("content") == J(R"({"a":1,"b":{"c":2}})"));

    Response unknown = s.Call(Method::kPatch, "/state/p", R"({"op":"frob"})");
    CHECK(unknown.status == 400);
    std::string message = Body(unknown).Find("error")->AsString();
    CHECK(message.find("\"add\"") != std::string::npos);
    CHECK(message.find("\"merge\"") != std::string::npos);
    CHECK(s.Call(Method::kPatch, "/state/p", R"({"value":1})").status == 400);
    CHECK(s.Call(Method::kPatch, "/state/p", R"({"op":"merge","value":[1]})").status == 400);
    CHECK(s.Call(Method::kPatch, "/state/p", R"({"op":"merge"})").status == 400);
    CHECK(s.Call(Method::kPatch, "/state/p", R"({"op":"add","value":1})").status == 400);
    CHECK(s.Call(Method::kPatch, "/state/p", R"({"op":"add","path":"a","value":1})").status == 400);
    CHECK(s.Call(Method::kPatch, "/state/p", R"({"op":"add","path":"/a"})").status == 400);
    CHECK(s.Call(Method::kPatch, "/state/p", R"({"op":"add","path":"/a/x","value":1})").status == 400);
    CHECK(s.Call(Method::kPatch, "/state/p", R"({"op":"add","path":"","value":1})").status == 400);
    CHECK(s.Call(Method::kPatch, "/state/p", "").status == 400);
    CHECK(s.Call(Method::kPatch, "/state/p", "7").status == 400);
    CHECK(s.Call(Method::kGet, "/state/p").body == R"({"a":1,"b":{"c":2}})");
    CHECK(s.store->VersionOf("p").value() == 2);

    // A rejected PATCH on a missing document leaves nothing behind.
    CHECK(s.Call(Method::kPatch, "/state/ghost", R"({"op":"frob"})").status == 400);
    CHECK(s.Call(Method::kPatch, "/state/ghost", R"({"op":"add","path":"","value":1})").status == 400);
    CHECK(s.Call(Method::kGet, "/state/ghost").status == 404);
  }

  TEST_CASE("PATCH: RFC 6902 (by content type or array body) and RFC 7396") {
    Service s;
    REQUIRE(s.Call(Method::kPut, "/state/j", R"({"a":1,"n":{"x":1}})").status == 201);
    Response patched = s.Call(Method::kPatch, "/state/j", R"([{"op":"replace","path":"/a","value":2}])",
                              {{"Content-Type", "application/json-patch+json"}});
    CHECK(patched.status == 200);
    CHECK(*Body(patched).Find("status") == Value("patched"));
    CHECK(s.Call(Method::kPatch, "/state/j", R"([{"op":"remove","path":"/a"}])").status == 200);
    Response conflict = s.Call(Method::kPatch, "/state/j", R"([{"op":"test","path":"/n/x","value":9}])");
    CHECK(conflict.status == 409);
    CHECK(s.Call(Method::kPatch, "/state/j", R"({"op":"remove"})", {{"Content-Type", "application/json-patch+json"}})
              .status == 400);
    Response merged = s.Call(Method::kPatch, "/state/j", R"({"n":{"x":null,"y":2}})",
                             {{"Content-Type", "application/merge-patch+json; charset=utf-8"}});
    CHECK(merged.status == 200);
    CHECK(*Body(merged).Find("status") == Value("merged"));
    CHECK(s.Call(Method::kGet, "/state/j").body == R"({"n":{"y":2}})");
  }

  TEST_CASE("PUT: 201 then 200 - If-None-Match: * - If-Match") {
    Service s;
    Response created = s.Call(Method::kPut, "/state/w", R"({"a":1})", {{"If-None-Match", "*"}});
    CHECK(created.status == 201);
    CHECK(Header(created, "Location") == "http://state.test:4500/state/w");
    CHECK(s.Call(Method::kPut, "/state/w", R"({"a":2})", {{"If-None-Match", "*"}}).status == 412);
    Response replaced = s.Call(Method::kPut, "/state/w", R"({"a":3})", {{"If-Match", "\"1\""}});
    CHECK(replaced.status == 200);
    CHECK(*Body(replaced).Find("status") == Value("replaced"));
    CHECK(Header(replaced, "ETag") == "\"2\"");
    Response stale = s.Call(Method::kPut, "/state/w", R"({"a":4})", {{"If-Match", "\"1\""}});
    CHECK(stale.status == 412);
    CHECK(Body(stale).Find("code")->AsString() == "precondition_failed");
    CHECK(s.Call(Method::kPut, "/state/w", "[]").status == 400);
    CHECK(s.Call(Method::kPut, "/state/w", "{}", {{"If-Match", "2"}}).status == 400);  // unquoted
    CHECK(s.Call(Method::kDelete, "/state/w", "", {{"If-None-Match", "\"2"}}).status == 400);
    CHECK(s.Call(Method::kGet, "/state/w").body == R"({"a":3})");
  }

  TEST_CASE("sub-documents by pointer: GET and DELETE") {
    Service s;
    REQUIRE(
        s.Call(Method::kPut, "/state/d", R"({"results":{"uppercase":"HI"},"a/b":1,"l":[1,2],"history":"h"})").status ==
        201);
    Response value = s.Call(Method::kGet, "/state/d/results/uppercase");
    CHECK(value.status == 200);
    CHECK(value.body == "\"HI\"");
    CHECK(Header(value, "ETag") == "\"1\"");
    CHECK(s.Call(Method::kGet, "/state/d/a~1b").body == "1");
    CHECK(s.Call(Method::kGet, "/state/d/a%2Fb").body == "1");
    CHECK(s.Call(Method::kGet, "/state/d/l/1").body == "2");
    CHECK(s.Call(Method::kGet, "/state/d/results/nope").status == 404);
    CHECK(s.Call(Method::kGet, "/state/nope/x").status == 404);
    CHECK(s.Call(Method::kGet, "/state/d/l/x").status == 400);
    CHECK(s.Call(Method::kGet, "/state/d/a~2").status == 400);
    // "history" as a top-level key: only through ?pointer=.
    CHECK(s.Call(Method::kGet, "/state/d?pointer=/history").body == "\"h\"");
    CHECK(s.Call(Method::kGet, "/state/d?pointer=history").status == 400);

    Response removed = s.Call(Method::kDelete, "/state/d/results/uppercase");
    CHECK(removed.status == 200);
    CHECK(*Body(removed).Find("status") == Value("removed"));
    CHECK(Header(removed, "ETag") == "\"2\"");
    CHECK(s.Call(Method::kDelete, "/state/d/results/uppercase").status == 404);
    CHECK(s.Call(Method::kDelete, "/state/d/l/0", "", {{"If-Match", "\"1\""}}).status == 412);
    CHECK(s.Call(Method::kGet, "/state/d/results").body == "{}");
  }

  TEST_CASE("history + ?version=N and restore") {
    Service s;
    REQUIRE(s.Call(Method::kPut, "/state/h", R"({"n":1})").status == 201);
    REQUIRE(s.Call(Method::kPut, "/state/h", R"({"n":2})").status == 200);
    Response history = s.Call(Method::kGet, "/state/h/history");
    CHECK(history.status == 200);
    CHECK(Body(history) == J(R"([{"version":2,"lastModified":"2026-11-22T10:00:00.000Z","sizeBytes":7},
                                 {"version":1,"lastModified":"2026-11-22T10:00:00.000Z","sizeBytes":7}])"));
    Response v1 = s.Call(Method::kGet, "/state/h?version=1");
    CHECK(v1.body == R"({"n":1})");
    CHECK(Header(v1, "ETag") == "\"1\"");
    CHECK(s.Call(Method::kGet, "/state/h?version=9").status == 404);
    CHECK(s.Call(Method::kGet, "/state/h?version=x").status == 400);
    Response restored = s.Call(Method::kPost, "/state/h/restore", R"({"version":1})");
    CHECK(restored.status == 200);
    CHECK(*Body(restored).Find("status") == Value("restored"));
    CHECK(Header(restored, "ETag") == "\"3\"");
    CHECK(s.Call(Method::kGet, "/state/h").body == R"({"n":1})");
    CHECK(s.Call(Method::kPost, "/state/h/restore", R"({"version":"1"})").status == 400);
    CHECK(s.Call(Method::kPost, "/state/h/restore", R"({"version":0})").status == 400);
    CHECK(s.Call(Method::kPost, "/state/h/restore", "[1]").status == 400);
    CHECK(s.Call(Method::kPost, "/state/h/restore", "").status == 400);
    CHECK(s.Call(Method::kPost, "/state/h/restore", R"({"version":99})").status == 404);
    CHECK(s.Call(Method::kGet, "/state/nope/history").status == 404);
  }

  TEST_CASE("DELETE: 204 whether or not it existed") {
    Service s;
    REQUIRE(s.Call(Method::kPut, "/state/x", "{}").status == 201);
    CHECK(s.Call(Method::kDelete, "/state/x").status == 204);
    CHECK(s.Call(Method::kDelete, "/state/x").status == 204);
    CHECK(s.Call(Method::kGet, "/state/x").status == 404);
  }

  TEST_CASE("limits and routing errors") {
    Service s;
    Response big = s.Call(Method::kPut, "/state/big", "{\"a\":\"" + std::string(300, 'x') + "\"}");
    CHECK(big.status == 413);
    CHECK(Body(big).Find("code")->AsString() == "body_too_large");
    std::string deep = std::string(70, '[') + std::string(70, ']');
    CHECK(s.Call(Method::kPut, "/state/deep", "{\"a\":" + deep + "}").status == 400);
    CHECK(s.Call(Method::kGet, "/state/" + std::string(129, 'x')).status == 400);
    CHECK(s.Call(Method::kGet, "/nope").status == 404);
    Response wrong = s.Call(Method::kPut, "/state");
    CHECK(wrong.status == 405);
    CHECK(Header(wrong, "Allow").find("POST") != std::string::npos);
  }

  TEST_CASE("/ and /forms") {
    Service s;
    CHECK(*Body(s.Call(Method::kGet, "/")).Find("name") == Value("shared-state"));
    Value forms = Body(s.Call(Method::kGet, "/forms"));
    REQUIRE(forms.IsArray());
    std::vector<std::string> rels;
    for (const Value& f : forms.AsArray()) rels.push_back(f.Find("rel")->AsString());
    std::vector<std::string> original{"create-state", "read-state", "update-state", "patch-state", "delete-state"};
    CHECK(std::vector<std::string>(rels.begin(), rels.begin() + 5) == original);
    CHECK(forms.AsArray()[1].Find("href")->AsString() == "http://state.test:4500/state/:id");
  }

  TEST_CASE("watch: answers at once when the version already passed - 304 when the wait ends") {
    Service s;
    REQUIRE(s.Call(Method::kPut, "/state/w", R"({"a":1})").status == 201);
    REQUIRE(s.Call(Method::kPut, "/state/w", R"({"a":2})").status == 200);
    Response now = s.Call(Method::kGet, "/state/w?wait=30s&version=1");
    CHECK(now.status == 200);
    CHECK(now.body == R"({"a":2})");
    CHECK(Header(now, "ETag") == "\"2\"");
    // With the fake clock standing still, a zero wait is due at once: the hub thread answers 304.
    Response unchanged = s.Call(Method::kGet, "/state/w?wait=0s&version=2");
    CHECK(unchanged.status == 304);
    CHECK(Header(unchanged, "ETag") == "\"2\"");
    CHECK(s.Call(Method::kGet, "/state/w?wait=soon").status == 400);
    CHECK(s.hub.size() == 0);
  }

  TEST_CASE("metrics: writes by op + documents") {
    Service s;
    REQUIRE(s.Call(Method::kPut, "/state/a", "{}").status == 201);
    REQUIRE(s.Call(Method::kPatch, "/state/a", R"({"op":"merge","value":{}})").status == 200);
    std::string text = s.metrics.Render();
    CHECK(text.find("shared_state_writes_total{op=\"put\"} 1") != std::string::npos);
    CHECK(text.find("shared_state_writes_total{op=\"merge\"} 1") != std::string::npos);
    CHECK(text.find("shared_state_documents 1") != std::string::npos);
    CHECK(text.find("shared_state_watchers 0") != std::string::npos);
  }

  TEST_CASE("PointerFromPath") {
    auto text = [](std::string_view path) {
      Result<json::Pointer> p = PointerFromPath(path);
      REQUIRE_MESSAGE(p.ok(), path);
      return p->tokens();
    };
    using Tokens = std::vector<std::string>;
    CHECK(text("/state/s1/results/uppercase") == Tokens{"results", "uppercase"});
    CHECK(text("/state/s1/a~1b/c~0d") == Tokens{"a/b", "c~d"});
    CHECK(text("/state/s1/a%2Fb/%7E1") == Tokens{"a/b", "/"});
    CHECK(text("/state/s1/a//b") == Tokens{"a", "", "b"});
    CHECK(text("/state/s1/a/") == Tokens{"a"});
    CHECK(text("//state//s1/a") == Tokens{"a"});
    CHECK(text("/state/s1/sp%20ace") == Tokens{"sp ace"});
    CHECK_FALSE(PointerFromPath("/state/s1/a~").ok());
  }
}

}  // namespace
}  // namespace csp::shared_state
