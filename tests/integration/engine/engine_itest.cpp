// The real engine binary on port 0 with a temporary data dir, driven over HTTP.

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "csp/http_client/client.h"
#include "csp/json/json.h"
#include "csp/test_support/engine_contract.h"
#include "csp/test_support/process.h"

namespace {

using csp::json::Value;
using namespace std::chrono_literals;

Value J(const std::string& text) {
  auto v = csp::json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

std::string Binary(const std::string& name) { return csp::test::BinaryPath(name); }

std::string DesignPath(const std::string& name) { return csp::test::SourcePath("examples/designs/" + name); }

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// An unreachable discovery, so a test engine never registers with whatever runs on :4000.
constexpr const char* kNoDiscovery = "http://127.0.0.1:1";

std::unique_ptr<csp::test::Process> StartEngine(const std::string& design, const std::string& data_dir,
                                                const std::string& discovery_url = kNoDiscovery) {
  auto p = csp::test::Process::Start(Binary("engine"), {"--design", design, "--port", "0", "--data-dir", data_dir,
                                                        "--discovery-url", discovery_url, "--log-level", "warn"});
  REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message));
  return std::move(*p);
}

// One engine process and a client for it.
struct EngineUnderTest {
  explicit EngineUnderTest(const std::string& design_name = "person.json")
      : process(StartEngine(DesignPath(design_name), dir.path())) {}

  void Restart(bool crash) {
    if (crash) {
      process->Kill();
    } else {
      CHECK(process->Terminate(10s) == 0);
    }
    process = StartEngine(DesignPath("person.json"), dir.path());
  }

  csp::http_client::Response Send(const std::string& method, const std::string& path, const std::string& body = "") {
    csp::http_client::Request req;
    req.method = method;
    req.url = process->url() + path;
    req.body = body;
    req.timeout = 10s;
    auto r = client.Send(req);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return std::move(*r);
  }
  csp::http_client::Response Post(const std::string& path, const std::string& body) { return Send("POST", path, body); }
  csp::http_client::Response Get(const std::string& path) { return Send("GET", path); }

  csp::test::TempDir dir;
  std::unique_ptr<csp::test::Process> process;
  csp::http_client::CurlClient client;
};

Value BodyOf(const csp::http_client::Response& r) { return J(r.body); }

std::string ErrorOf(const csp::http_client::Response& r) {
  auto v = csp::json::Parse(r.body);
  if (!v || v->Find("error") == nullptr) return "<no error in: " + r.body + ">";
  return v->Find("error")->AsString();
}

csp::test::EngineContractConfig PersonContract() {
  csp::test::EngineContractConfig c;
  c.resource = "person";
  c.create_payload = csp::json::Object{{"email", "contract@example.org"}, {"givenName", "Con"}};
  c.update_payload = csp::json::Object{{"givenName", "Changed"}, {"telephone", "555-0100"}};
  return c;
}

TEST_SUITE("engine.http") {
  TEST_CASE("every verb over HTTP, with the original's reply shapes") {
    EngineUnderTest e;
    auto create = e.Post("/execute", R"({"command":"create","resource":"person","id":"q1w2e3r4",
      "payload":{"email":"ann@example.org","givenName":"Ann"},"requestId":"r-create"})");
    CHECK(create.status == 201);
    CHECK(
        create.body ==
        R"({"statusCode":201,"result":{"status":"pending","email":"ann@example.org","givenName":"Ann","id":"q1w2e3r4"}})");
    CHECK(create.MediaType() == "application/json");

    auto read = e.Post("/execute", R"({"command":"read","resource":"person","id":"q1w2e3r4"})");
    CHECK(read.status == 200);
    CHECK(read.body ==
          R"({"result":{"status":"pending","email":"ann@example.org","givenName":"Ann","id":"q1w2e3r4"}})");

    auto update = e.Post("/execute",
                         R"({"command":"update","resource":"person","id":"q1w2e3r4","payload":{"familyName":"Lee"}})");
    CHECK(update.status == 200);
    CHECK(BodyOf(update).Find("result")->Find("familyName")->AsString() == "Lee");

    auto status =
        e.Post("/execute", R"({"command":"status","resource":"person","id":"q1w2e3r4","payload":{"status":"active"}})");
    CHECK(status.status == 200);
    CHECK(BodyOf(status).Find("result")->Find("status")->AsString() == "active");

    REQUIRE(e.Post("/execute", R"({"command":"create","resource":"person","payload":{"email":"bob@example.org"}})")
                .status == 201);
    auto list = e.Post("/execute", R"({"command":"list","resource":"person"})");
    CHECK(list.status == 200);
    REQUIRE(BodyOf(list).Find("result")->AsArray().size() == 2);
    CHECK(BodyOf(list).Find("result")->AsArray()[0].Find("id")->AsString() == "q1w2e3r4");

    auto filter = e.Post("/execute", R"({"command":"filter","resource":"person","payload":{"email":"BOB"}})");
    CHECK(filter.status == 200);
    REQUIRE(BodyOf(filter).Find("result")->AsArray().size() == 1);
    CHECK(BodyOf(filter).Find("result")->AsArray()[0].Find("email")->AsString() == "bob@example.org");

    auto page = e.Post("/execute?limit=1", R"({"command":"list","resource":"person"})");
    CHECK(BodyOf(page).Find("result")->AsArray().size() == 1);
    CHECK(BodyOf(page).Find("next") != nullptr);

    auto del = e.Post("/execute", R"({"command":"delete","resource":"person","id":"q1w2e3r4"})");
    CHECK(del.status == 204);
    CHECK(del.body.empty());
    CHECK(e.Post("/execute", R"({"command":"read","resource":"person","id":"q1w2e3r4"})").status == 404);

    auto warned =
        e.Post("/execute", R"({"command":"create","resource":"person","payload":{"email":"c@x.org","shoeSize":44}})");
    CHECK(warned.status == 201);
    CHECK(csp::json::Dump(*BodyOf(warned).Find("warnings")) == R"(["shoeSize"])");
  }

  TEST_CASE("every error over HTTP") {
    EngineUnderTest e;
    auto post = [&](const std::string& body) { return e.Post("/execute", body); };
    CHECK(post("").status == 400);
    CHECK(ErrorOf(post("")) == "Invalid command message format");
    CHECK(ErrorOf(post(R"({"command":"create"})")) == "Invalid command message format");
    auto bad_json = post("{nope");
    CHECK(bad_json.status == 400);
    CHECK(BodyOf(bad_json).Find("code")->AsString() == "invalid_json");
    CHECK(ErrorOf(post(R"({"command":"frob","resource":"person"})")) == "Unknown command: frob");
    CHECK(ErrorOf(post(R"({"command":"create","resource":"robot"})")) == "Unsupported resource: robot");
    CHECK(ErrorOf(post(R"({"command":"create","resource":"person","payload":{}})")) == "Missing required input: email");
    auto slippy = post(R"({"command":"create","resource":"person","payload":{"email":"a@b.c","status":"slippy"}})");
    CHECK(slippy.status == 400);
    CHECK(ErrorOf(slippy) == "Invalid value for 'status': 'slippy'. Must be one of [pending, active, suspended]");
    REQUIRE(post(R"({"command":"create","resource":"person","id":"p1","payload":{"email":"a@b.c"}})").status == 201);
    auto dup = post(R"({"command":"create","resource":"person","id":"p1","payload":{"email":"a@b.c"}})");
    CHECK(dup.status == 409);
    CHECK(ErrorOf(dup) == "Resource with ID 'p1' already exists.");
    for (const char* command : {"read", "update", "status", "delete"}) {
      CAPTURE(command);
      auto r = post(std::string(R"({"command":")") + command +
                    R"(","resource":"person","id":"nobody","payload":{"status":"active"}})");
      CHECK(r.status == 404);
      CHECK(ErrorOf(r) == "Resource not found: nobody");
    }
    CHECK(ErrorOf(post(R"({"command":"list","resource":"person","requestId":7})")) ==
          "requestId: expected a non-empty string");
    CHECK(e.Post("/execute?limit=0", R"({"command":"list","resource":"person"})").status == 400);
    CHECK(e.Post("/revert", "{nope").status == 400);

    auto wrong_method = e.Get("/execute");
    CHECK(wrong_method.status == 405);
    CHECK(wrong_method.Header("Allow").has_value());
    auto unknown = e.Get("/nowhere");
    CHECK(unknown.status == 404);
    CHECK(BodyOf(unknown).Find("code")->AsString() == "not_found");
  }

  TEST_CASE("type checks and x-strict over HTTP (order design)") {
    EngineUnderTest e("order.json");
    auto ok = e.Post("/execute", R"({"command":"create","resource":"order","id":"o1",
      "payload":{"personId":"p1","item":"book","quantity":2,"placedAt":"2026-11-22T10:00:00Z"}})");
    CHECK(ok.status == 201);
    CHECK(BodyOf(ok).Find("result")->Find("currency")->AsString() == "EUR");
    auto strict = e.Post(
        "/execute", R"({"command":"create","resource":"order","payload":{"personId":"p1","item":"book","gift":true}})");
    CHECK(strict.status == 400);
    CHECK(ErrorOf(strict) == "Undeclared inputs for command 'create': gift");
    auto typed =
        e.Post("/execute",
               R"({"command":"create","resource":"order","payload":{"personId":"p1","item":"book","quantity":1.5}})");
    CHECK(typed.status == 400);
    CHECK(ErrorOf(typed) == "payload.quantity: expected an integer, got a number");
    auto shipped =
        e.Post("/execute", R"({"command":"status","resource":"order","id":"o1","payload":{"status":"shipped"}})");
    CHECK(shipped.status == 200);
  }

  TEST_CASE("a declared command that is not a built-in verb") {
    csp::test::TempDir dir;
    const std::string design = WriteFile(dir.path(), "archive.json", R"({
      "serviceInfo": {"serviceName": "archiver", "tags": ["archive"]},
      "resourceType": "box",
      "commands": {"archive": {"inputs": {"required": [], "optional": []}}}
    })");
    auto process = StartEngine(design, dir.path());
    csp::http_client::CurlClient client;
    auto r = client.PostJson(process->url() + "/execute", J(R"({"command":"archive","resource":"box"})"));
    REQUIRE(r.ok());
    CHECK(r->status == 400);
    CHECK(ErrorOf(*r) == "Command not implemented: archive");
  }

  TEST_CASE("forms, design, root, ping, health and metrics") {
    EngineUnderTest e;
    auto forms = e.Get("/forms");
    REQUIRE(forms.status == 200);
    std::vector<std::string> rels;
    const Value all_forms = BodyOf(forms);
    for (const Value& f : all_forms.AsArray()) {
      rels.push_back(f.Find("rel")->AsString());
      CHECK(f.Find("href")->AsString().rfind(e.process->url(), 0) == 0);
    }
    for (const char* rel : {"ping", "execute", "repeat", "revert", "design", "forms", "command"}) {
      CAPTURE(rel);
      CHECK(std::find(rels.begin(), rels.end(), rel) != rels.end());
    }
    auto design = e.Get("/design");
    CHECK(design.status == 200);
    std::ifstream in(DesignPath("person.json"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(BodyOf(design) == J(text));
    CHECK(BodyOf(e.Get("/")) ==
          J(R"({"name":"person","version":"1.0.0","title":"Person Service","resourceType":"person","engine":")" +
            std::string(CSP_VERSION) + "\"}"));
    CHECK(e.Get("/ping").body == R"({"status":"ok"})");
    auto health = e.Get("/health");
    CHECK(health.status == 200);
    CHECK(BodyOf(health).Find("store")->AsString() == "ok");
    REQUIRE(e.Post("/execute", R"({"command":"create","resource":"person","payload":{"email":"a@b.c"}})").status ==
            201);
    auto metrics = e.Get("/metrics");
    CHECK(metrics.body.find(R"(engine_commands_total{command="create",status="201"} 1)") != std::string::npos);
    CHECK(metrics.body.find("engine_records 1") != std::string::npos);
  }

  TEST_CASE("the execute/repeat/revert contract holds") {
    EngineUnderTest e;
    std::vector<std::string> problems = csp::test::CheckExecuteRepeatRevertContract(e.process->url(), PersonContract());
    CHECK_MESSAGE(problems.empty(), csp::test::JoinProblems(problems));

    EngineUnderTest todo("todo.json");
    csp::test::EngineContractConfig c;
    c.resource = "todo";
    c.create_payload = csp::json::Object{{"title", "water the plants"}};
    c.update_payload = csp::json::Object{{"assignee", "ann"}};
    problems = csp::test::CheckExecuteRepeatRevertContract(todo.process->url(), c);
    CHECK_MESSAGE(problems.empty(), csp::test::JoinProblems(problems));
  }

  TEST_CASE("the contract helper reports a broken engine") {
    // Pointing the helper at the wrong resource makes every call fail; it must say so, not pass.
    EngineUnderTest e;
    csp::test::EngineContractConfig c = PersonContract();
    c.resource = "robot";
    std::vector<std::string> problems = csp::test::CheckExecuteRepeatRevertContract(e.process->url(), c);
    CHECK_FALSE(problems.empty());
  }

  TEST_CASE("a request from before a restart can be reverted") {
    EngineUnderTest e;
    REQUIRE(e.Post("/execute",
                   R"({"command":"create","resource":"person","id":"p1","payload":{"email":"a@b.c"},"requestId":"r1"})")
                .status == 201);
    REQUIRE(e.Post("/execute", R"({"command":"create","resource":"person","id":"p2","payload":{"email":"b@b.c"}})")
                .status == 201);
    REQUIRE(e.Post("/execute",
                   R"({"command":"update","resource":"person","id":"p2","payload":{"givenName":"B"},"requestId":"r2"})")
                .status == 200);
    e.Restart(/*crash=*/false);
    auto revert = e.Post("/revert", R"({"requestId":"r1"})");
    CHECK(revert.status == 200);
    CHECK(revert.body == R"({"status":"reverted","requestId":"r1"})");
    CHECK(e.Post("/execute", R"({"command":"read","resource":"person","id":"p1"})").status == 404);
    CHECK(e.Post("/revert", R"({"requestId":"r2"})").body == R"({"status":"reverted","requestId":"r2"})");
    auto p2 = e.Post("/execute", R"({"command":"read","resource":"person","id":"p2"})");
    CHECK(BodyOf(p2).Find("result")->Find("givenName") == nullptr);
    CHECK(e.Post("/revert", R"({"requestId":"r1"})").body == R"({"status":"already-reverted","requestId":"r1"})");
  }

  TEST_CASE("an acknowledged execute survives SIGKILL, and /repeat returns its stored reply") {
    EngineUnderTest e;
    const std::string create =
        R"({"command":"create","resource":"person","payload":{"email":"a@b.c"},"requestId":"r-crash"})";
    auto first = e.Post("/execute", create);
    REQUIRE(first.status == 201);
    e.Restart(/*crash=*/true);
    auto again = e.Post("/repeat", create);
    CHECK(again.status == 201);
    CHECK(again.body == first.body);  // same generated id: the stored reply, not a second create
    CHECK(again.Header("Idempotent-Replayed").has_value());
    auto list = e.Post("/execute", R"({"command":"list","resource":"person"})");
    CHECK(BodyOf(list).Find("result")->AsArray().size() == 1);
  }

  TEST_CASE("engines with different designs share a data dir") {
    csp::test::TempDir dir;
    auto person = StartEngine(DesignPath("person.json"), dir.path());
    auto todo = StartEngine(DesignPath("todo.json"), dir.path());
    csp::http_client::CurlClient client;
    auto p = client.PostJson(person->url() + "/execute",
                             J(R"({"command":"create","resource":"person","payload":{"email":"a@b.c"}})"));
    auto t = client.PostJson(todo->url() + "/execute",
                             J(R"({"command":"create","resource":"todo","payload":{"title":"t"}})"));
    REQUIRE(p.ok());
    REQUIRE(t.ok());
    CHECK(p->status == 201);
    CHECK(t->status == 201);
    CHECK(FileExists(dir.path() + "/person.db"));
    CHECK(FileExists(dir.path() + "/todo.db"));
  }

  TEST_CASE("a bad design exits 2 with one line per problem") {
    csp::test::TempDir dir;
    const std::string bad = WriteFile(dir.path(), "bad.json", R"({
      "resourceType": "thing",
      "commands": {"create": {"inputs": {"required": ["a", 1]}, "output": {"statusCode": "201"}}}
    })");
    auto r = csp::test::RunCommand({Binary("engine"), "--design", bad, "--port", "0", "--data-dir", dir.path()});
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "serviceInfo: is required\n"
          "commands.create.inputs.required[1]: expected a string\n"
          "commands.create.output.statusCode: expected an integer from 200 to 299\n");

    auto malformed = csp::test::RunCommand(
        {Binary("engine"), "--design", WriteFile(dir.path(), "m.json", "{"), "--port", "0", "--data-dir", dir.path()});
    CHECK(malformed.exit_code == 2);
    CHECK(malformed.err.find("m.json: offset") != std::string::npos);

    auto missing = csp::test::RunCommand({Binary("engine"), "--design", dir.path() + "/nope.json"});
    CHECK(missing.exit_code == 2);
    CHECK(missing.err.find("nope.json: cannot read") != std::string::npos);

    auto no_flag = csp::test::RunCommand({Binary("engine"), "--port", "0"});
    CHECK(no_flag.exit_code == 2);
    CHECK(no_flag.err == "engine: --design FILE is required\n");
  }

  TEST_CASE("registers with discovery from serviceInfo") {
    csp::test::TempDir disco_dir;
    auto disco = csp::test::Process::Start(Binary("discovery"),
                                           {"--port", "0", "--data-dir", disco_dir.path(), "--log-level", "warn"});
    REQUIRE_MESSAGE(disco.ok(), (disco.ok() ? "" : disco.error().message));
    csp::test::TempDir dir;
    auto engine = StartEngine(DesignPath("person.json"), dir.path(), (*disco)->url());
    csp::http_client::CurlClient client;
    Value entry;
    const bool found = csp::test::WaitFor(
        [&] {
          auto r = client.Get((*disco)->url() + "/find?tag=person");
          if (!r || r->status != 200) return false;
          auto body = r->Json();
          if (!body || !body->IsArray() || body->AsArray().empty()) return false;
          entry = body->AsArray()[0];
          return true;
        },
        10s);
    REQUIRE(found);
    CHECK(entry.Find("serviceName")->AsString() == "person");
    CHECK(entry.Find("serviceURL")->AsString() == engine->url());
    CHECK(entry.Find("pingURL")->AsString() == engine->url() + "/ping");
    CHECK(entry.Find("semanticProfile")->AsString() == "urn:example:person");
    CHECK(csp::json::Dump(*entry.Find("mediaTypes")) == R"(["application/json"])");
    // A clean shutdown unregisters.
    CHECK(engine->Terminate(10s) == 0);
    auto after = client.Get((*disco)->url() + "/find?tag=person");
    REQUIRE(after.ok());
    CHECK(after->body == "[]");
  }
}

}  // namespace
