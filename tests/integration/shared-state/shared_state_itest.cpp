// shared-state over HTTP: the real binary on port 0 with a temporary data directory, driven with
// the platform's libcurl client.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "csp/http_client/client.h"
#include "csp/json/json.h"
#include "csp/test_support/process.h"

namespace {

using namespace std::chrono_literals;
using csp::http_client::CurlClient;
using csp::http_client::HeaderList;
using csp::http_client::Request;
using csp::http_client::Response;
using csp::json::Value;

Value J(std::string_view text) {
  csp::Result<Value> v = csp::json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

std::string Header(const Response& r, std::string_view name) {
  auto h = r.Header(name);
  return h ? std::string(*h) : "";
}

// One shared-state process; restartable on the same data directory.
class StateService {
 public:
  explicit StateService(std::vector<std::string> extra = {}) : extra_(std::move(extra)) { Start(); }

  void Start() {
    std::vector<std::string> args = {"--port",       "0",           "--data-dir", dir_.path(), "--discovery-url",
                                     discovery_url_, "--log-level", "warn"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    auto started = csp::test::Process::Start(csp::test::BinaryPath("shared-state"), args);
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
    process_ = std::move(*started);
  }
  void UseDiscovery(std::string url) { discovery_url_ = std::move(url); }

  Response Call(const std::string& method, const std::string& path, const std::string& body = "",
                HeaderList headers = {}, std::chrono::milliseconds timeout = 10s) {
    Request req;
    req.method = method;
    req.url = url() + path;
    req.body = body;
    req.headers = std::move(headers);
    req.timeout = timeout;
    csp::Result<Response> r = client_.Send(req);
    REQUIRE_MESSAGE(r.ok(), (method + " " + path + ": " + (r.ok() ? "" : r.error().message)));
    return std::move(*r);
  }
  Value JsonOf(const Response& r) {
    csp::Result<Value> v = r.Json();
    REQUIRE_MESSAGE(v.ok(), r.body);
    return *v;
  }

  const std::string& url() const { return process_->url(); }
  csp::test::Process& process() { return *process_; }
  CurlClient& client() { return client_; }

 private:
  csp::test::TempDir dir_;
  std::vector<std::string> extra_;
  std::string discovery_url_ = "http://127.0.0.1:1";  // refused at once: registration retries quietly
  std::unique_ptr<csp::test::Process> process_;
  CurlClient client_;
};

TEST_SUITE("shared_state.integration") {
  TEST_CASE("the original's CRUD routes and reply shapes") {
    StateService s;
    Response created = s.Call("POST", "/state", R"({"id":"s1","message":"hello"})");
    CHECK(created.status == 201);
    CHECK(s.JsonOf(created) == J(R"({"stateURL":")" + s.url() + R"(/state/s1","id":"s1","version":1})"));
    CHECK(Header(created, "Location") == s.url() + "/state/s1");
    CHECK(Header(created, "ETag") == "\"1\"");

    Response taken = s.Call("POST", "/state", R"({"id":"s1"})");
    CHECK(taken.status == 409);
    CHECK(s.JsonOf(taken) == J(R"({"error":"State ID 's1' already exists.","code":"already_exists"})"));

    Response got = s.Call("GET", "/state/s1");
    CHECK(got.status == 200);
    CHECK(got.MediaType() == "application/json");
    CHECK(s.JsonOf(got) == J(R"({"message":"hello"})"));
    CHECK(Header(got, "ETag") == "\"1\"");
    CHECK(s.Call("GET", "/state/s1", "", {{"If-None-Match", "\"1\""}}).status == 304);

    Value meta = s.JsonOf(s.Call("GET", "/state/s1?meta"));
    CHECK(meta.Find("id")->AsString() == "s1");
    CHECK(meta.Find("version")->AsInt() == 1);
    CHECK(meta.Find("createdAt")->IsString());
    CHECK(meta.Find("lastModified")->IsString());
    CHECK(meta.Find("content") == nullptr);

    Response updated = s.Call("POST", "/state/s1", R"({"n":{"a":1}})");
    CHECK(updated.status == 200);
    Value upd = s.JsonOf(updated);
    CHECK(upd.Find("status")->AsString() == "updated");
    CHECK(*upd.Find("state")->Find("content") == J(R"({"message":"hello","n":{"a":1}})"));
    CHECK(upd.Find("state")->Find("version")->AsInt() == 2);
    CHECK(Header(updated, "ETag") == "\"2\"");

    Response merged = s.Call("PATCH", "/state/s1", R"({"op":"merge","value":{"m":true}})");
    CHECK(s.JsonOf(merged).Find("status")->AsString() == "merged");
    Response patched = s.Call("PATCH", "/state/s1", R"({"op":"add","path":"/results/uppercase","value":"HELLO"})");
    CHECK(s.JsonOf(patched).Find("status")->AsString() == "patched");
    CHECK(Header(patched, "ETag") == "\"4\"");

    Value list = s.JsonOf(s.Call("GET", "/state"));
    REQUIRE(list.IsArray());
    REQUIRE(list.AsArray().size() == 1);
    CHECK(list.AsArray()[0].Find("rel")->AsString() == "item");
    CHECK(list.AsArray()[0].Find("href")->AsString() == s.url() + "/state/s1");

    CHECK(s.Call("DELETE", "/state/s1").status == 204);
    CHECK(s.Call("DELETE", "/state/s1").status == 204);
    Response gone = s.Call("GET", "/state/s1");
    CHECK(gone.status == 404);
    CHECK(s.JsonOf(gone).Find("code")->AsString() == "not_found");
  }

  TEST_CASE("PATCH and POST upsert a missing document") {
    StateService s;
    CHECK(s.Call("PATCH", "/state/up1", R"({"op":"merge","value":{"a":1}})").status == 200);
    CHECK(s.Call("PATCH", "/state/up2", R"({"op":"add","path":"/a/b","value":1})").status == 200);
    CHECK(s.Call("POST", "/state/up3", R"({"a":1})").status == 200);
    CHECK(s.JsonOf(s.Call("GET", "/state/up2")) == J(R"({"a":{"b":1}})"));
  }

  TEST_CASE("rejected requests are clear 400s and change nothing") {
    StateService s;
    REQUIRE(s.Call("PUT", "/state/r", R"({"n":5,"z":null,"l":[1]})").status == 201);
    struct Case {
      std::string body;
      HeaderList headers;
    };
    std::vector<Case> cases = {
        {R"({"op":"frob"})", {}},
        {R"({"op":"merge","value":3})", {}},
        {R"({"op":"add","path":"/n/x","value":1})", {}},
        {R"({"op":"add","path":"/z/x","value":1})", {}},
        {R"({"op":"add","path":"/l/5","value":1})", {}},
        {R"({"op":"add","path":"","value":[1]})", {}},
        {R"({"op":"add","path":"nope","value":1})", {}},
        {R"([{"op":"add","path":"/ok","value":1},{"op":"remove","path":"/missing"}])", {}},
        {"{not json", {}},
    };
    for (const Case& c : cases) {
      Response r = s.Call("PATCH", "/state/r", c.body, c.headers);
      CHECK_MESSAGE(r.status == 400, c.body, " -> ", r.status, " ", r.body);
      Value err = s.JsonOf(r);
      CHECK(err.Find("error")->IsString());
      CHECK(err.Find("code")->IsString());
    }
    Response conflict =
        s.Call("PATCH", "/state/r", R"([{"op":"add","path":"/ok","value":1},{"op":"test","path":"/n","value":6}])");
    CHECK(conflict.status == 409);
    CHECK(s.JsonOf(s.Call("GET", "/state/r")) == J(R"({"n":5,"z":null,"l":[1]})"));
    CHECK(Header(s.Call("GET", "/state/r"), "ETag") == "\"1\"");

    // ... and create nothing.
    CHECK(s.Call("PATCH", "/state/ghost", R"({"op":"frob"})").status == 400);
    CHECK(s.Call("PATCH", "/state/ghost", R"([{"op":"test","path":"/a","value":1}])").status == 409);
    CHECK(s.Call("GET", "/state/ghost").status == 404);

    Response malformed = s.Call("POST", "/state", "{\"a\":");
    CHECK(malformed.status == 400);
    CHECK(s.JsonOf(malformed).Find("code")->AsString() == "invalid_json");
    CHECK(s.Call("GET", "/state/bad%20id").status == 400);
    CHECK(s.Call("PUT", "/state/" + std::string(129, 'a'), "{}").status == 400);
    std::string deep = std::string(80, '[') + std::string(80, ']');
    CHECK(s.Call("PUT", "/state/deep", "{\"a\":" + deep + "}").status == 400);
  }

  TEST_CASE("RFC 6902 (array body) + RFC 7396 and PUT") {
    StateService s;
    Response created = s.Call("PUT", "/state/p", R"({"a":1,"n":{"x":1,"y":2}})");
    CHECK(created.status == 201);
    Response replaced = s.Call("PUT", "/state/p", R"({"a":1,"n":{"x":1,"y":2},"l":[]})");
    CHECK(replaced.status == 200);
    Response patched = s.Call("PATCH", "/state/p",
                              R"([{"op":"test","path":"/a","value":1},{"op":"add","path":"/l/-","value":"x"},
                                  {"op":"move","from":"/a","path":"/b"}])");
    CHECK(patched.status == 200);
    CHECK(s.JsonOf(patched).Find("status")->AsString() == "patched");
    Response merged =
        s.Call("PATCH", "/state/p", R"({"n":{"x":null}})", {{"Content-Type", "application/merge-patch+json"}});
    CHECK(merged.status == 200);
    CHECK(s.JsonOf(s.Call("GET", "/state/p")) == J(R"({"n":{"y":2},"l":["x"],"b":1})"));
  }

  // KNOWN LIMITATION (services/shared-state/README.md): Pistache 0.0.5 parses Content-Type itself
  // (its MediaType parser takes the "json" prefix of "json-patch+json" for its own subtype and then
  // fails) and answers a plain-text 415 before any handler runs; it has no hook to replace that
  // parser. This pins the behaviour: the day a Pistache upgrade lets the header through, this test
  // fails, and the README's limitation and this test are to be replaced by the real check (the
  // route already handles the media type). The same patch as a JSON array is applied (below).
  TEST_CASE("Content-Type application/json-patch+json is refused by Pistache and the array form works") {
    StateService s;
    REQUIRE(s.Call("PUT", "/state/p", R"({"a":1})").status == 201);
    HeaderList json_patch = {{"Content-Type", "application/json-patch+json"}};
    Response refused = s.Call("PATCH", "/state/p", R"([{"op":"replace","path":"/a","value":2}])", json_patch);
    CHECK_MESSAGE(refused.status == 415, refused.body);
    CHECK(s.JsonOf(s.Call("GET", "/state/p")) == J(R"({"a":1})"));
    Response patched = s.Call("PATCH", "/state/p", R"([{"op":"replace","path":"/a","value":2}])");
    CHECK_MESSAGE(patched.status == 200, patched.body);
    CHECK(s.JsonOf(s.Call("GET", "/state/p")) == J(R"({"a":2})"));
  }

  TEST_CASE("sub-documents + history + versions and restore") {
    StateService s;
    REQUIRE(s.Call("PUT", "/state/h", R"({"results":{"uppercase":"A"},"history":"key"})").status == 201);
    REQUIRE(s.Call("PATCH", "/state/h", R"({"op":"add","path":"/results/uppercase","value":"B"})").status == 200);
    Response value = s.Call("GET", "/state/h/results/uppercase");
    CHECK(value.status == 200);
    CHECK(value.body == "\"B\"");
    CHECK(Header(value, "ETag") == "\"2\"");
    CHECK(s.Call("GET", "/state/h/results/nope").status == 404);
    CHECK(s.Call("GET", "/state/h?pointer=/history").body == "\"key\"");

    Value history = s.JsonOf(s.Call("GET", "/state/h/history"));
    REQUIRE(history.IsArray());
    REQUIRE(history.AsArray().size() == 2);
    CHECK(history.AsArray()[0].Find("version")->AsInt() == 2);
    CHECK(history.AsArray()[1].Find("version")->AsInt() == 1);
    CHECK(history.AsArray()[0].Find("sizeBytes")->IsInt());

    CHECK(s.JsonOf(s.Call("GET", "/state/h?version=1")) == J(R"({"results":{"uppercase":"A"},"history":"key"})"));
    Response restored = s.Call("POST", "/state/h/restore", R"({"version":1})");
    CHECK(restored.status == 200);
    CHECK(Header(restored, "ETag") == "\"3\"");
    CHECK(s.Call("GET", "/state/h/results/uppercase").body == "\"A\"");

    Response removed = s.Call("DELETE", "/state/h/results/uppercase");
    CHECK(removed.status == 200);
    CHECK(Header(removed, "ETag") == "\"4\"");
    CHECK(s.JsonOf(s.Call("GET", "/state/h")) == J(R"({"results":{},"history":"key"})"));
  }

  TEST_CASE("history keeps the last --history revisions") {
    StateService s({"--history", "2"});
    for (int i = 0; i < 4; ++i) REQUIRE(s.Call("POST", "/state/k", "{\"n\":" + std::to_string(i) + "}").status == 200);
    Value history = s.JsonOf(s.Call("GET", "/state/k/history"));
    REQUIRE(history.AsArray().size() == 2);
    CHECK(history.AsArray()[0].Find("version")->AsInt() == 4);
    CHECK(s.Call("GET", "/state/k?version=2").status == 404);
  }

  TEST_CASE("concurrent If-Match writers: exactly one wins") {
    StateService s;
    REQUIRE(s.Call("PUT", "/state/race", "{}").status == 201);
    constexpr int kWriters = 8;
    std::vector<std::future<int>> results;
    for (int i = 0; i < kWriters; ++i) {
      results.push_back(std::async(std::launch::async, [&s, i] {
        Request req;
        req.method = "PATCH";
        req.url = s.url() + "/state/race";
        req.body = R"({"op":"add","path":"/winner","value":)" + std::to_string(i) + "}";
        req.headers = {{"If-Match", "\"1\""}};
        csp::Result<Response> r = s.client().Send(req);
        return r.ok() ? r->status : -1;
      }));
    }
    int ok = 0;
    int failed = 0;
    for (auto& f : results) {
      int status = f.get();
      ok += status == 200;
      failed += status == 412;
    }
    CHECK(ok == 1);
    CHECK(failed == kWriters - 1);
    CHECK(Header(s.Call("GET", "/state/race"), "ETag") == "\"2\"");
  }

  TEST_CASE("If-None-Match: * and If-Match on PUT and DELETE") {
    StateService s;
    CHECK(s.Call("PUT", "/state/c", "{}", {{"If-None-Match", "*"}}).status == 201);
    CHECK(s.Call("PUT", "/state/c", "{}", {{"If-None-Match", "*"}}).status == 412);
    CHECK(s.Call("DELETE", "/state/c", "", {{"If-Match", "W/\"5\""}}).status == 412);
    CHECK(s.Call("GET", "/state/c").status == 200);
    CHECK(s.Call("DELETE", "/state/c", "", {{"If-Match", "\"9\", \"1\""}}).status == 204);
  }

  TEST_CASE("an acknowledged write survives SIGKILL") {
    StateService s;
    REQUIRE(s.Call("POST", "/state", R"({"id":"durable","a":1})").status == 201);
    REQUIRE(s.Call("PATCH", "/state/durable", R"({"op":"add","path":"/b","value":2})").status == 200);
    s.process().Kill();
    s.Start();
    Response r = s.Call("GET", "/state/durable");
    CHECK(r.status == 200);
    CHECK(s.JsonOf(r) == J(R"({"a":1,"b":2})"));
    CHECK(Header(r, "ETag") == "\"2\"");
    CHECK(s.JsonOf(s.Call("GET", "/state/durable/history")).AsArray().size() == 2);
  }

  TEST_CASE("a watch wakes on a write and answers like GET") {
    StateService s;
    REQUIRE(s.Call("PUT", "/state/w", R"({"a":1})").status == 201);
    auto started = std::chrono::steady_clock::now();
    auto watch =
        std::async(std::launch::async, [&s] { return s.Call("GET", "/state/w?wait=20s&version=1", "", {}, 30s); });
    // Write once the watch is parked (the gauge says so), then expect a prompt answer.
    REQUIRE(csp::test::WaitFor(
        [&] { return s.Call("GET", "/metrics").body.find("shared_state_watchers 1") != std::string::npos; }));
    REQUIRE(s.Call("POST", "/state/w", R"({"b":2})").status == 200);
    REQUIRE(watch.wait_for(5s) == std::future_status::ready);
    Response r = watch.get();
    CHECK(r.status == 200);
    CHECK(s.JsonOf(r) == J(R"({"a":1,"b":2})"));
    CHECK(Header(r, "ETag") == "\"2\"");
    CHECK(std::chrono::steady_clock::now() - started < 10s);
  }

  TEST_CASE("a watch on a missing document waits for its creation") {
    StateService s;
    auto watch = std::async(std::launch::async, [&s] { return s.Call("GET", "/state/later?wait=20s", "", {}, 30s); });
    REQUIRE(csp::test::WaitFor(
        [&] { return s.Call("GET", "/metrics").body.find("shared_state_watchers 1") != std::string::npos; }));
    REQUIRE(s.Call("POST", "/state", R"({"id":"later","x":1})").status == 201);
    REQUIRE(watch.wait_for(5s) == std::future_status::ready);
    Response r = watch.get();
    CHECK(r.status == 200);
    CHECK(s.JsonOf(r) == J(R"({"x":1})"));
  }

  TEST_CASE("a watch with no change ends with 304") {
    StateService s;
    REQUIRE(s.Call("PUT", "/state/q", "{}").status == 201);
    auto started = std::chrono::steady_clock::now();
    Response r = s.Call("GET", "/state/q?wait=300ms&version=1");
    CHECK(r.status == 304);
    CHECK(Header(r, "ETag") == "\"1\"");
    CHECK(std::chrono::steady_clock::now() - started >= 250ms);
  }

  TEST_CASE("shutdown answers parked watches at once and exits 0") {
    StateService s;
    auto watch = std::async(std::launch::async, [&s] { return s.Call("GET", "/state/x?wait=60s", "", {}, 30s); });
    REQUIRE(csp::test::WaitFor(
        [&] { return s.Call("GET", "/metrics").body.find("shared_state_watchers 1") != std::string::npos; }));
    auto started = std::chrono::steady_clock::now();
    CHECK(s.process().Terminate(10s) == 0);
    REQUIRE(watch.wait_for(5s) == std::future_status::ready);
    CHECK(watch.get().status == 304);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
  }

  TEST_CASE("limits: body over --max-body and document over --max-document are 413") {
    StateService s({"--max-body", "2KiB", "--max-document", "1KiB"});
    Response body = s.Call("PUT", "/state/big", "{\"a\":\"" + std::string(3000, 'x') + "\"}");
    CHECK(body.status == 413);
    CHECK(s.JsonOf(body).Find("code")->AsString() == "body_too_large");
    Response doc = s.Call("PUT", "/state/big", "{\"a\":\"" + std::string(1500, 'x') + "\"}");
    CHECK(doc.status == 413);
    CHECK(s.JsonOf(doc).Find("code")->AsString() == "body_too_large");
    // Growing a document past the limit by small steps is refused too.
    REQUIRE(s.Call("PUT", "/state/grow", "{\"a\":\"" + std::string(600, 'x') + "\"}").status == 201);
    CHECK(s.Call("POST", "/state/grow", "{\"b\":\"" + std::string(600, 'x') + "\"}").status == 413);
    CHECK(s.Call("GET", "/state/big").status == 404);
  }

  TEST_CASE("unknown route 404 + wrong method 405 with Allow + / and /forms + /ping + /health") {
    StateService s;
    Response unknown = s.Call("GET", "/nope");
    CHECK(unknown.status == 404);
    CHECK(s.JsonOf(unknown).Find("code")->AsString() == "not_found");
    Response wrong = s.Call("PUT", "/state");
    CHECK(wrong.status == 405);
    CHECK(s.JsonOf(wrong).Find("code")->AsString() == "method_not_allowed");
    CHECK(Header(wrong, "Allow").find("GET") != std::string::npos);
    CHECK(s.Call("PATCH", "/state/x/history").status == 405);

    CHECK(s.JsonOf(s.Call("GET", "/")).Find("name")->AsString() == "shared-state");
    Value forms = s.JsonOf(s.Call("GET", "/forms"));
    REQUIRE(forms.IsArray());
    CHECK(forms.AsArray()[0].Find("rel")->AsString() == "create-state");
    CHECK(forms.AsArray()[0].Find("href")->AsString() == s.url() + "/state");
    CHECK(s.JsonOf(s.Call("GET", "/ping")) == J(R"({"status":"ok"})"));
    Value health = s.JsonOf(s.Call("GET", "/health"));
    CHECK(health.Find("status")->AsString() == "ok");
    CHECK(health.Find("service")->AsString() == "shared-state");
    CHECK(health.Find("store")->AsString() == "ok");
  }

  TEST_CASE("metrics: documents + writes by op + watchers") {
    StateService s;
    REQUIRE(s.Call("PUT", "/state/m1", "{}").status == 201);
    REQUIRE(s.Call("PATCH", "/state/m1", R"({"op":"merge","value":{}})").status == 200);
    std::string text = s.Call("GET", "/metrics").body;
    CHECK(text.find("shared_state_documents 1") != std::string::npos);
    CHECK(text.find("shared_state_writes_total{op=\"put\"} 1") != std::string::npos);
    CHECK(text.find("shared_state_writes_total{op=\"merge\"} 1") != std::string::npos);
    CHECK(text.find("shared_state_watchers 0") != std::string::npos);
  }

  TEST_CASE("bad flags exit 2 with one line") {
    for (std::vector<std::string> args :
         {std::vector<std::string>{"--history", "0"}, std::vector<std::string>{"--max-document", "lots"},
          std::vector<std::string>{"--no-such-flag"}}) {
      args.insert(args.begin(), csp::test::BinaryPath("shared-state"));
      csp::test::CommandResult r = csp::test::RunCommand(args);
      CHECK_MESSAGE(r.exit_code == 2, args[1]);
      CHECK(r.err.find("shared-state:") == 0);
    }
    csp::test::CommandResult help = csp::test::RunCommand({csp::test::BinaryPath("shared-state"), "--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("--history") != std::string::npos);
    CHECK(help.out.find("--max-document") != std::string::npos);
  }

  TEST_CASE("registers with discovery") {
    csp::test::TempDir discovery_dir;
    auto discovery = csp::test::Process::Start(
        csp::test::BinaryPath("discovery"), {"--port", "0", "--data-dir", discovery_dir.path(), "--log-level", "warn"});
    REQUIRE_MESSAGE(discovery.ok(), (discovery.ok() ? "" : discovery.error().message));
    std::string discovery_url = (*discovery)->url();

    csp::test::TempDir dir;
    auto state = csp::test::Process::Start(
        csp::test::BinaryPath("shared-state"),
        {"--port", "0", "--data-dir", dir.path(), "--discovery-url", discovery_url, "--log-level", "warn"});
    REQUIRE_MESSAGE(state.ok(), (state.ok() ? "" : state.error().message));
    std::string state_url = (*state)->url();

    CurlClient client;
    Value entry;
    bool found = csp::test::WaitFor([&] {
      csp::Result<Response> r = client.Get(discovery_url + "/find?name=shared-state");
      if (!r.ok() || r->status != 200) return false;
      csp::Result<Value> list = r->Json();
      if (!list.ok() || !list->IsArray() || list->AsArray().empty()) return false;
      entry = list->AsArray()[0];
      return true;
    });
    REQUIRE(found);
    CHECK(entry.Find("serviceName")->AsString() == "shared-state");
    CHECK(entry.Find("serviceURL")->AsString() == state_url);
    CHECK(entry.Find("pingURL")->AsString() == state_url + "/ping");
    CHECK(entry.Find("semanticProfile")->AsString() == "urn:example:shared-state");
    CHECK(*entry.Find("tags") == J(R"(["state","store"])"));
  }
}

}  // namespace
