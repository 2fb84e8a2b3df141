#include "routes.h"

#include <doctest/doctest.h>

#include "csp/http/message.h"
#include "csp/http/metrics.h"
#include "csp/http/router.h"
#include "fixture.h"

namespace csp::engine {
namespace {

using testing::J;

struct RoutesHarness : testing::EngineHarness {
  RoutesHarness() : EngineHarness(testing::LoadExample("person.json")) {
    AddRoutes(router, *engine, RegisterMetrics(metrics, *engine));
  }

  http::Response Post(const std::string& path, const std::string& body, const std::string& query = "") {
    http::Request req;
    req.method = http::Method::kPost;
    req.path = path;
    req.query_string = query;
    req.query = http::ParseQuery(query);
    req.body = body;
    req.headers.Set("Host", "engine.example:4600");
    return router.Dispatch(std::move(req));
  }
  http::Response Get(const std::string& path) {
    http::Request req;
    req.path = path;
    req.headers.Set("Host", "engine.example:4600");
    return router.Dispatch(std::move(req));
  }

  http::MetricsRegistry metrics;
  http::Router router;
};

json::Value BodyOf(const http::Response& r) { return J(r.body); }

TEST_SUITE("engine.routes") {
  TEST_CASE("POST /execute sends the reply's status and body") {
    RoutesHarness h;
    http::Response r =
        h.Post("/execute", R"({"command":"create","resource":"person","id":"p1","payload":{"email":"a@b.c"}})");
    CHECK(r.status == 201);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == R"({"statusCode":201,"result":{"status":"pending","email":"a@b.c","id":"p1"}})");
    http::Response del = h.Post("/execute", R"({"command":"delete","resource":"person","id":"p1"})");
    CHECK(del.status == 204);
    CHECK(del.body.empty());
    CHECK(del.content_type.empty());
  }

  TEST_CASE("a missing body is the original's format error - malformed JSON is invalid_json") {
    RoutesHarness h;
    http::Response empty = h.Post("/execute", "");
    CHECK(empty.status == 400);
    CHECK(BodyOf(empty).Find("error")->AsString() == "Invalid command message format");
    http::Response bad = h.Post("/repeat", "{nope");
    CHECK(bad.status == 400);
    CHECK(BodyOf(bad).Find("code")->AsString() == "invalid_json");
  }

  TEST_CASE("/repeat replays and says so") {
    RoutesHarness h;
    const std::string m =
        R"({"command":"create","resource":"person","id":"p1","payload":{"email":"a@b.c"},"requestId":"r1"})";
    http::Response first = h.Post("/execute", m);
    http::Response again = h.Post("/repeat", m);
    CHECK(again.status == first.status);
    CHECK(again.body == first.body);
    CHECK_FALSE(first.Header("Idempotent-Replayed").has_value());
    CHECK(again.Header("Idempotent-Replayed") == std::optional<std::string_view>("true"));
  }

  TEST_CASE("query limit and after page list") {
    RoutesHarness h;
    for (const char* id : {"a", "b", "c"}) {
      REQUIRE(h.Post("/execute",
                     std::string(R"({"command":"create","resource":"person","payload":{"email":"a@b.c"},"id":")") + id +
                         "\"}")
                  .status == 201);
    }
    const std::string list = R"({"command":"list","resource":"person"})";
    json::Value page = BodyOf(h.Post("/execute", list, "limit=2"));
    CHECK(page.Find("result")->AsArray().size() == 2);
    json::Value rest = BodyOf(h.Post("/execute", list, "limit=2&after=" + page.Find("next")->AsString()));
    REQUIRE(rest.Find("result")->AsArray().size() == 1);
    CHECK(rest.Find("result")->AsArray()[0].Find("id")->AsString() == "c");
    http::Response bad = h.Post("/execute", list, "limit=abc");
    CHECK(bad.status == 400);
    CHECK(BodyOf(bad).Find("error")->AsString() == "limit: expected a positive integer");
  }

  TEST_CASE("POST /revert") {
    RoutesHarness h;
    REQUIRE(h.Post("/execute",
                   R"({"command":"create","resource":"person","id":"p1","payload":{"email":"a@b.c"},"requestId":"r1"})")
                .status == 201);
    http::Response r = h.Post("/revert", R"({"requestId":"r1"})");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"status":"reverted","requestId":"r1"})");
    http::Response empty = h.Post("/revert", "");
    CHECK(empty.status == 200);
    CHECK(empty.body == R"({"status":"noop"})");
    CHECK(h.Post("/revert", "{oops").status == 400);
    CHECK(h.Post("/revert", R"({"requestId":[]})").status == 400);
  }

  TEST_CASE("GET /forms lists the protocol rels and one form per command") {
    RoutesHarness h;
    http::Response r = h.Get("/forms");
    REQUIRE(r.status == 200);
    json::Value forms = BodyOf(r);
    REQUIRE(forms.IsArray());
    auto find = [&](const std::string& rel, const std::string& name = "") -> const json::Value* {
      for (const json::Value& f : forms.AsArray()) {
        if (f.Find("rel")->AsString() != rel) continue;
        if (!name.empty() && (f.Find("name") == nullptr || f.Find("name")->AsString() != name)) continue;
        return &f;
      }
      return nullptr;
    };
    const char* rels[][2] = {{"ping", "/ping"},     {"execute", "/execute"}, {"repeat", "/repeat"},
                             {"revert", "/revert"}, {"design", "/design"},   {"forms", "/forms"}};
    for (const auto& [rel, path] : rels) {
      CAPTURE(rel);
      const json::Value* f = find(rel);
      REQUIRE(f != nullptr);
      CHECK(f->Find("href")->AsString() == std::string("http://engine.example:4600") + path);
    }
    CHECK(forms.AsArray()[0].Find("rel")->AsString() == "ping");

    const json::Value* create = find("command", "create");
    REQUIRE(create != nullptr);
    CHECK(create->Find("href")->AsString() == "http://engine.example:4600/execute");
    CHECK(create->Find("method")->AsString() == "POST");
    const json::Value& input = *create->Find("input");
    CHECK(input.Find("id")->AsString() == "optional");
    CHECK(json::Dump(*input.Find("required")) == R"(["email"])");
    CHECK(json::Dump(*input.Find("optional")) == R"(["givenName","familyName","telephone","status"])");
    CHECK(json::Dump(*input.Find("defaults")) == R"({"status":"pending"})");
    CHECK(json::Dump(*input.Find("fields")->Find("status")) ==
          R"({"type":"string","enum":["pending","active","suspended"]})");
    CHECK(json::Dump(*create->Find("transitionType")) == R"({"safe":false,"idempotent":true,"reversible":true})");
    CHECK(create->Find("output")->Find("statusCode")->AsInt() == 201);
    CHECK(find("command", "read")->Find("input")->Find("id")->AsString() == "required");
    CHECK(find("command", "list")->Find("input")->Find("id")->AsString() == "none");
    int commands = 0;
    for (const json::Value& f : forms.AsArray()) commands += f.Find("rel")->AsString() == "command" ? 1 : 0;
    CHECK(commands == 7);
  }

  TEST_CASE("GET /design and GET /") {
    RoutesHarness h;
    http::Response design = h.Get("/design");
    CHECK(design.status == 200);
    CHECK(BodyOf(design) == h.design.raw);
    http::Response root = h.Get("/");
    CHECK(root.status == 200);
    json::Value body = BodyOf(root);
    CHECK(body.Find("name")->AsString() == "person");
    CHECK(body.Find("version")->AsString() == "1.0.0");
  }

  TEST_CASE("metrics count commands by status, reverts by outcome, and records") {
    RoutesHarness h;
    REQUIRE(h.Post("/execute",
                   R"({"command":"create","resource":"person","id":"p1","payload":{"email":"a@b.c"},"requestId":"r1"})")
                .status == 201);
    REQUIRE(h.Post("/execute", R"({"command":"read","resource":"person","id":"zz"})").status == 404);
    REQUIRE(h.Post("/execute", R"({"command":"frob","resource":"person"})").status == 400);
    const std::string text = h.metrics.Render();
    CHECK(text.find(R"(engine_commands_total{command="create",status="201"} 1)") != std::string::npos);
    CHECK(text.find(R"(engine_commands_total{command="read",status="404"} 1)") != std::string::npos);
    CHECK(text.find(R"(engine_commands_total{command="-",status="400"} 1)") != std::string::npos);
    CHECK(text.find("engine_records 1") != std::string::npos);
    REQUIRE(h.Post("/revert", R"({"requestId":"r1"})").status == 200);
    REQUIRE(h.Post("/revert", R"({"requestId":"r1"})").status == 200);
    const std::string after = h.metrics.Render();
    CHECK(after.find(R"(engine_reverts_total{outcome="reverted"} 1)") != std::string::npos);
    CHECK(after.find(R"(engine_reverts_total{outcome="already-reverted"} 1)") != std::string::npos);
    CHECK(after.find("engine_records 0") != std::string::npos);
  }
}

}  // namespace
}  // namespace csp::engine
