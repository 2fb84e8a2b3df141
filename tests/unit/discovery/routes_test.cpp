#include "discovery/routes.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>

#include "csp/http/router.h"
#include "csp/json/json.h"
#include "discovery/registry.h"
#include "discovery/store.h"
#include "discovery/wait_list.h"
#include "fakes.h"

namespace {

using csp::discovery::Registry;
using csp::discovery::Store;
using csp::discovery::WaitList;
using csp::discovery::testing::FakeClock;
using csp::http::Method;
using csp::http::Request;
using csp::http::Response;
using csp::json::Value;

Value J(const std::string& text) {
  auto v = csp::json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

// The routes over an in-memory registry, driven through Router::Dispatch (no sockets).
struct Fixture {
  FakeClock clock;
  std::unique_ptr<Store> store = std::move(*Store::Open(":memory:"));
  Registry registry{clock, *store};
  WaitList waits;
  csp::http::Router router;

  Fixture() {
    registry.SetChangeListener([this](uint64_t i) { waits.Notify(i); });
    csp::discovery::AddRoutes(router, registry, waits);
  }

  Response Call(Method method, const std::string& target, const std::string& body = "") {
    Request req;
    req.method = method;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) {
      req.query_string = target.substr(q + 1);
      req.query = csp::http::ParseQuery(req.query_string);
    }
    req.headers.Set("Host", "disco.test:4000");
    req.body = body;
    return router.Dispatch(std::move(req));
  }
  Response Get(const std::string& target) { return Call(Method::kGet, target); }
  Response Post(const std::string& target, const std::string& body) { return Call(Method::kPost, target, body); }

  std::string Register(const std::string& body) {
    Response r = Post("/register", body);
    REQUIRE(r.status == 201);
    return J(r.body).Find("registryID")->AsString();
  }
};

// Checks an error reply: status, machine code and exact message.
void CheckError(const Response& r, int status, const std::string& code, const std::string& message) {
  CHECK(r.status == status);
  Value body = J(r.body);
  REQUIRE(body.IsObject());
  CHECK(body.Find("code")->AsString() == code);
  CHECK(body.Find("error")->AsString() == message);
}

uint64_t IndexOf(const Response& r) {
  auto h = r.Header("X-Registry-Index");
  REQUIRE(h.has_value());
  return std::stoull(std::string(*h));
}

}  // namespace

TEST_SUITE("discovery.routes") {
  TEST_CASE("POST /register: 201 with Location then 200 with the same id for the same name and URL") {
    Fixture f;
    Response first = f.Post("/register", R"({"serviceName":"a","serviceURL":"http://h:1","tags":["t"]})");
    CHECK(first.status == 201);
    std::string id = J(first.body).Find("registryID")->AsString();
    CHECK(first.Header("Location").value_or("") == "/services/" + id);
    CHECK(first.body == R"({"registryID":")" + id + R"("})");
    Response again = f.Post("/register", R"({"serviceName":"a","serviceURL":"http://h:1","tags":["u"]})");
    CHECK(again.status == 200);
    CHECK(J(again.body).Find("registryID")->AsString() == id);
  }

  TEST_CASE("POST /register errors: malformed JSON empty body wrong shape") {
    Fixture f;
    Response bad = f.Post("/register", R"({"serviceName":)");
    CHECK(bad.status == 400);
    CHECK(J(bad.body).Find("code")->AsString() == "invalid_json");
    CHECK(J(bad.body).Find("error")->AsString().find("offset") != std::string::npos);
    Response empty = f.Post("/register", "");
    CHECK(empty.status == 400);
    CHECK(J(empty.body).Find("code")->AsString() == "invalid_json");
    CheckError(f.Post("/register", R"({"serviceURL":"http://h"})"), 400, "invalid_argument",
               "serviceName: is required (serviceName and serviceURL are required)");
    CheckError(f.Post("/register", R"({"serviceName":"a","serviceURL":"http://h","tags":["x",2]})"), 400,
               "invalid_argument", "tags[1]: expected a string, got number");
    CheckError(f.Post("/register", "[]"), 400, "invalid_argument",
               "expected a JSON object with serviceName and serviceURL, got array");
  }

  TEST_CASE("POST /renew") {
    Fixture f;
    std::string id = f.Register(R"({"serviceName":"a","serviceURL":"http://h:1"})");
    Response ok = f.Post("/renew", R"({"registryID":")" + id + R"("})");
    CHECK(ok.status == 200);
    CHECK(ok.body == R"({"status":"renewed"})");
    CheckError(f.Post("/renew", R"({"registryID":"nope"})"), 404, "not_found", "Service not found in registry");
    CheckError(f.Post("/renew", R"({})"), 400, "invalid_argument", "registryID: is required");
    CheckError(f.Post("/renew", R"({"registryID":5})"), 400, "invalid_argument",
               "registryID: expected a string, got number");
    CheckError(f.Post("/renew", R"("x")"), 400, "invalid_argument", "expected a JSON object, got string");
  }

  TEST_CASE("POST /unregister by registryID serviceURL or serviceName+serviceURL") {
    Fixture f;
    std::string a = f.Register(R"({"serviceName":"a","serviceURL":"http://h:1"})");
    f.Register(R"({"serviceName":"b","serviceURL":"http://h:2"})");
    f.Register(R"({"serviceName":"c","serviceURL":"http://h:3"})");
    Response r = f.Post("/unregister", R"({"registryID":")" + a + R"("})");
    CHECK(r.status == 204);
    CHECK(r.body.empty());
    CHECK(r.content_type.empty());
    CheckError(f.Post("/unregister", R"({"registryID":")" + a + R"("})"), 404, "not_found",
               "Service not found in registry");
    CHECK(f.Post("/unregister", R"({"serviceURL":"http://h:2"})").status == 204);
    CheckError(f.Post("/unregister", R"({"serviceName":"x","serviceURL":"http://h:3"})"), 404, "not_found",
               "Service not found in registry");
    CHECK(f.Post("/unregister", R"({"serviceName":"c","serviceURL":"http://h:3"})").status == 204);
    CHECK(f.registry.size() == 0);
    CheckError(f.Post("/unregister", R"({})"), 400, "invalid_argument",
               "registryID: is required (or serviceURL, or serviceName and serviceURL)");
    CheckError(f.Post("/unregister", R"({"serviceURL":[]})"), 400, "invalid_argument",
               "serviceURL: expected a string, got array");
  }

  TEST_CASE("GET /find: entries filters X-Registry-Index query errors") {
    Fixture f;
    std::string a = f.Register(R"({"serviceName":"a","serviceURL":"http://h:1","tags":["x"],
        "semanticProfile":"urn:example:a","mediaTypes":["application/json"]})");
    std::string b = f.Register(R"({"serviceName":"b","serviceURL":"http://h:2","tags":["x","y"]})");
    Response all = f.Get("/find");
    CHECK(all.status == 200);
    CHECK(IndexOf(all) == f.registry.index());
    Value list = J(all.body);
    REQUIRE(list.AsArray().size() == 2);
    CHECK(list.AsArray()[0].Find("registryID")->AsString() == a);
    CHECK(list.AsArray()[0].Find("status")->AsString() == "passing");
    CHECK(J(f.Get("/find?tag=y").body).AsArray().size() == 1);
    CHECK(J(f.Get("/find?tag=x&mediaType=application%2Fjson").body).AsArray().size() == 1);
    CHECK(J(f.Get("/find?profile=example").body).AsArray().size() == 1);
    CHECK(J(f.Get("/find?name=b").body).AsArray()[0].Find("registryID")->AsString() == b);
    CHECK(J(f.Get("/find?tag=none").body).AsArray().empty());
    CHECK(J(f.Get("/find?healthy=true").body).AsArray().size() == 2);
    CheckError(f.Get("/find?healthy=maybe"), 400, "invalid_argument", "healthy: expected true or false, got 'maybe'");
    CheckError(f.Get("/find?index=-1"), 400, "invalid_argument", "index: expected a non-negative integer, got '-1'");
    CHECK(f.Get("/find?index=1&wait=soon").status == 400);
  }

  TEST_CASE("GET /find?index= answers at once when the index has moved or went backwards") {
    Fixture f;
    f.Register(R"({"serviceName":"a","serviceURL":"http://h:1"})");
    uint64_t now = f.registry.index();
    Response old = f.Get("/find?index=" + std::to_string(now - 1) + "&wait=5m");
    CHECK(IndexOf(old) == now);
    Response ahead = f.Get("/find?index=" + std::to_string(now + 100) + "&wait=5m");
    CHECK(IndexOf(ahead) == now);
    Response no_wait = f.Get("/find?index=" + std::to_string(now) + "&wait=0s");
    CHECK(IndexOf(no_wait) == now);
  }

  TEST_CASE("GET /find?index=<current> is held until a change then answers with the new index") {
    Fixture f;
    uint64_t now = f.registry.index();
    Response held;
    std::thread watcher([&] { held = f.Get("/find?tag=t&index=" + std::to_string(now) + "&wait=60s"); });
    // The watcher parks (no thread of its own beyond this test's); a registration releases it.
    REQUIRE(csp::discovery::testing::WaitForCondition([&] { return f.waits.size() == 1; }));
    f.Register(R"({"serviceName":"a","serviceURL":"http://h:1","tags":["t"]})");
    watcher.join();
    CHECK(held.status == 200);
    CHECK(IndexOf(held) > now);
    CHECK(J(held.body).AsArray().size() == 1);
  }

  TEST_CASE("GET /services groups instances by serviceName a passing one first") {
    Fixture f;
    std::string a1 = f.Register(R"({"serviceName":"a","serviceURL":"http://h:1","pingURL":"http://h:1/ping",
        "tags":["one"]})");
    f.Register(R"({"serviceName":"b","serviceURL":"http://h:3","semanticProfile":"urn:b"})");
    std::string a2 = f.Register(R"({"serviceName":"a","serviceURL":"http://h:2","tags":["two"]})");
    f.registry.RecordCheck({a1, "http://h:1/ping"}, false);
    Response r = f.Get("/services");
    CHECK(r.status == 200);
    CHECK(IndexOf(r) == f.registry.index());
    Value services = J(r.body);
    REQUIRE(services.IsObject());
    auto members = services.AsObject();
    REQUIRE(members.size() == 2);
    CHECK(members.begin()->first == "a");
    const Value& a = *services.Find("a");
    CHECK(a.Find("url")->AsString() == "http://h:2");
    CHECK(csp::json::Dump(*a.Find("tags")) == R"(["two"])");
    REQUIRE(a.Find("instances")->AsArray().size() == 2);
    CHECK(a.Find("instances")->AsArray()[0].Find("registryID")->AsString() == a2);
    CHECK(a.Find("instances")->AsArray()[1].Find("status")->AsString() == "critical");
    CHECK(services.Find("b")->Find("semanticProfile")->AsString() == "urn:b");
    CHECK(J(f.Get("/services?index=0").body).IsObject());
  }

  TEST_CASE("GET and DELETE /services/:id") {
    Fixture f;
    std::string id = f.Register(R"({"serviceName":"a","serviceURL":"http://h:1"})");
    Response got = f.Get("/services/" + id);
    CHECK(got.status == 200);
    CHECK(J(got.body).Find("registryID")->AsString() == id);
    CheckError(f.Get("/services/nope"), 404, "not_found", "Service not found in registry");
    CHECK(f.Call(Method::kDelete, "/services/" + id).status == 204);
    CheckError(f.Call(Method::kDelete, "/services/" + id), 404, "not_found", "Service not found in registry");
  }

  TEST_CASE("POST /bind /unbind and GET /bindings") {
    Fixture f;
    std::string a = f.Register(R"({"serviceName":"a","serviceURL":"http://h:1"})");
    std::string b = f.Register(R"({"serviceName":"b","serviceURL":"http://h:2"})");
    Response bound = f.Post("/bind", R"({"sourceRegistryID":")" + a + R"(","targetRegistryID":")" + b + R"("})");
    CHECK(bound.status == 201);
    std::string id = J(bound.body).Find("bindingID")->AsString();
    CHECK(bound.Header("Location").value_or("") == "/bindings/" + id);
    Response one = f.Get("/bindings/" + id);
    CHECK(one.status == 200);
    CHECK(J(one.body).Find("sourceRegistryID")->AsString() == a);
    CHECK(J(f.Get("/bindings").body).AsArray().size() == 1);
    CheckError(f.Post("/bind", R"({"sourceRegistryID":")" + a + R"(","targetRegistryID":"nope"})"), 404, "not_found",
               "Source or target service not found");
    CheckError(f.Post("/bind", R"({"sourceRegistryID":")" + a + R"("})"), 400, "invalid_argument",
               "targetRegistryID: is required");
    CHECK(f.Post("/unbind", R"({"bindingID":")" + id + R"("})").status == 204);
    CheckError(f.Post("/unbind", R"({"bindingID":")" + id + R"("})"), 404, "not_found", "Binding not found");
    CheckError(f.Get("/bindings/" + id), 404, "not_found", "Binding not found");
    CheckError(f.Post("/unbind", R"({"bindingID":1})"), 400, "invalid_argument",
               "bindingID: expected a string, got number");
  }

  TEST_CASE("GET /endpoints lists the original's six endpoints with absolute URLs from Host") {
    Fixture f;
    Response r = f.Get("/endpoints");
    CHECK(r.status == 200);
    Value list = J(r.body);
    REQUIRE(list.AsArray().size() == 6);
    const char* paths[] = {"/register", "/renew", "/unregister", "/find", "/bind", "/unbind"};
    for (size_t i = 0; i < 6; ++i) {
      const Value& e = list.AsArray()[i];
      CHECK(e.Find("url")->AsString() == std::string("http://disco.test:4000") + paths[i]);
      CHECK(e.Find("method")->IsString());
      CHECK(e.Find("input")->IsArray());
      CHECK(e.Find("output")->IsString());
    }
    CHECK(list.AsArray()[3].Find("method")->AsString() == "GET");
  }

  TEST_CASE("GET /forms and GET /") {
    Fixture f;
    Value forms = J(f.Get("/forms").body);
    std::vector<std::string> rels;
    for (const Value& form : forms.AsArray()) {
      rels.push_back(form.Find("rel")->AsString());
      CHECK(form.Find("href")->AsString().rfind("http://disco.test:4000/", 0) == 0);
      CHECK(form.Find("method")->IsString());
      CHECK(form.Find("input")->IsArray());
      CHECK(form.Find("output")->IsString());
    }
    CHECK(rels == std::vector<std::string>{"register", "renew", "unregister", "find", "services", "bind", "unbind"});
    Value root = J(f.Get("/").body);
    CHECK(root.Find("name")->AsString() == "discovery");
    CHECK(root.Find("version")->AsString() == CSP_VERSION);
  }
}
