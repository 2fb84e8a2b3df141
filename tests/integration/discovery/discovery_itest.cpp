// The real discovery binary on port 0 with a temporary data dir, driven over HTTP.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "csp/http_client/client.h"
#include "csp/json/json.h"
#include "csp/test_support/process.h"

namespace {

using csp::json::Value;
using namespace std::chrono_literals;

Value J(const std::string& text) {
  auto v = csp::json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

// Flags that keep health checking fast enough for tests.
std::vector<std::string> Args(const std::string& data_dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--port",          "0",     "--data-dir",    data_dir, "--check-interval", "100ms",
                                   "--check-timeout", "200ms", "--evict-after", "2",      "--log-level",      "warn"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::unique_ptr<csp::test::Process> StartDiscovery(const std::string& data_dir, std::vector<std::string> extra = {}) {
  auto p = csp::test::Process::Start(csp::test::BinaryPath("discovery"), Args(data_dir, std::move(extra)));
  REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message));
  return std::move(*p);
}

// A client bound to one discovery process.
struct Disco {
  csp::test::TempDir dir;
  std::unique_ptr<csp::test::Process> process;
  csp::http_client::CurlClient client;

  explicit Disco(std::vector<std::string> extra = {}) : process(StartDiscovery(dir.path(), std::move(extra))) {}

  const std::string& url() const { return process->url(); }

  csp::http_client::Response Send(const std::string& method, const std::string& path, const std::string& body = "") {
    csp::http_client::Request req;
    req.method = method;
    req.url = url() + path;
    req.body = body;
    req.timeout = 10s;
    auto r = client.Send(req);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return std::move(*r);
  }
  csp::http_client::Response Get(const std::string& path) { return Send("GET", path); }
  csp::http_client::Response Post(const std::string& path, const std::string& body) { return Send("POST", path, body); }
  std::string Register(const std::string& body) {
    auto r = Post("/register", body);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return J(r.body).Find("registryID")->AsString();
  }
  std::vector<Value> Find(const std::string& query = "") {
    auto r = Get("/find" + query);
    REQUIRE(r.status == 200);
    return J(r.body).AsArray();
  }
};

void CheckError(const csp::http_client::Response& r, int status, const std::string& code,
                const std::string& message_part) {
  CHECK(r.status == status);
  CHECK(r.MediaType() == "application/json");
  Value body = J(r.body);
  REQUIRE(body.IsObject());
  CHECK(body.Find("code")->AsString() == code);
  CHECK_MESSAGE(body.Find("error")->AsString().find(message_part) != std::string::npos, body.Find("error")->AsString());
}

uint64_t IndexOf(const csp::http_client::Response& r) {
  auto h = r.Header("X-Registry-Index");
  REQUIRE(h.has_value());
  return std::stoull(std::string(*h));
}

// The value of an unlabelled or labelled sample in the /metrics text, or -1.
double Metric(Disco& d, const std::string& sample) {
  std::string text = d.Get("/metrics").body;
  size_t at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + sample.size() + 2));
}

}  // namespace

TEST_SUITE("discovery.integration") {
  TEST_CASE("register renew find services unregister over HTTP") {
    Disco d;
    const std::string person = R"({"serviceName":"person","serviceURL":"http://127.0.0.1:4600",
        "tags":["person"],"semanticProfile":"urn:example:person","mediaTypes":["application/json"]})";
    auto created = d.Post("/register", person);
    CHECK(created.status == 201);
    std::string id = J(created.body).Find("registryID")->AsString();
    CHECK(created.Header("Location").value_or("") == "/services/" + id);
    auto again = d.Post("/register", person);
    CHECK(again.status == 200);
    CHECK(J(again.body).Find("registryID")->AsString() == id);
    // Any Content-Type: the body is JSON whatever the header says.
    csp::http_client::Request plain;
    plain.method = "POST";
    plain.url = d.url() + "/register";
    plain.body = R"({"serviceName":"other","serviceURL":"http://127.0.0.1:4601","tags":["person"]})";
    plain.headers = {{"Content-Type", "text/plain"}};
    auto other = d.client.Send(plain);
    REQUIRE(other.ok());
    CHECK(other->status == 201);
    std::string other_id = J(other->body).Find("registryID")->AsString();

    auto found = d.Get("/find?tag=person");
    CHECK(found.status == 200);
    CHECK(IndexOf(found) > 0);
    auto list = J(found.body).AsArray();
    REQUIRE(list.size() == 2);
    CHECK(list[0].Find("registryID")->AsString() == id);
    CHECK(list[0].Find("serviceURL")->AsString() == "http://127.0.0.1:4600");
    CHECK(list[0].Find("status")->AsString() == "passing");
    CHECK(list[1].Find("registryID")->AsString() == other_id);
    CHECK(list[0].Find("lastRenewed")->AsString().back() == 'Z');
    CHECK(d.Find("?profile=example:person").size() == 1);
    CHECK(d.Find("?mediaType=application/json").size() == 1);
    CHECK(d.Find("?name=other").size() == 1);
    CHECK(d.Find("?tag=nothing").empty());
    CHECK(d.Find().size() == 2);

    auto renewed = d.Post("/renew", R"({"registryID":")" + id + R"("})");
    CHECK(renewed.status == 200);
    CHECK(renewed.body == R"({"status":"renewed"})");

    auto one = d.Get("/services/" + id);
    CHECK(one.status == 200);
    CHECK(J(one.body).Find("serviceName")->AsString() == "person");
    auto services = d.Get("/services");
    CHECK(services.status == 200);
    CHECK(IndexOf(services) == IndexOf(d.Get("/find")));
    CHECK(J(services.body).Find("person")->Find("url")->AsString() == "http://127.0.0.1:4600");

    auto unregistered = d.Post("/unregister", R"({"registryID":")" + id + R"("})");
    CHECK(unregistered.status == 204);
    CHECK(unregistered.body.empty());
    CheckError(d.Post("/unregister", R"({"registryID":")" + id + R"("})"), 404, "not_found",
               "Service not found in registry");
    CHECK(d.Post("/unregister", R"({"serviceURL":"http://127.0.0.1:4601"})").status == 204);
    CHECK(d.Find().empty());

    std::string gone = d.Register(R"({"serviceName":"x","serviceURL":"http://127.0.0.1:9"})");
    CHECK(d.Send("DELETE", "/services/" + gone).status == 204);
    CheckError(d.Send("DELETE", "/services/" + gone), 404, "not_found", "Service not found in registry");
    CheckError(d.Get("/services/" + gone), 404, "not_found", "Service not found in registry");
    CheckError(d.Post("/renew", R"({"registryID":")" + gone + R"("})"), 404, "not_found",
               "Service not found in registry");
  }

  TEST_CASE("bind unbind endpoints forms root ping health metrics") {
    Disco d;
    std::string a = d.Register(R"({"serviceName":"a","serviceURL":"http://127.0.0.1:1"})");
    std::string b = d.Register(R"({"serviceName":"b","serviceURL":"http://127.0.0.1:2"})");
    auto bound = d.Post("/bind", R"({"sourceRegistryID":")" + a + R"(","targetRegistryID":")" + b + R"("})");
    CHECK(bound.status == 201);
    std::string binding = J(bound.body).Find("bindingID")->AsString();
    CHECK(bound.Header("Location").value_or("") == "/bindings/" + binding);
    CHECK(d.Get("/bindings/" + binding).status == 200);
    CheckError(d.Post("/bind", R"({"sourceRegistryID":")" + a + R"(","targetRegistryID":"nope"})"), 404, "not_found",
               "Source or target service not found");
    CHECK(d.Post("/unbind", R"({"bindingID":")" + binding + R"("})").status == 204);
    CheckError(d.Post("/unbind", R"({"bindingID":")" + binding + R"("})"), 404, "not_found", "Binding not found");

    auto endpoints = d.Get("/endpoints");
    CHECK(endpoints.status == 200);
    auto list = J(endpoints.body).AsArray();
    REQUIRE(list.size() == 6);
    std::string host = d.url().substr(std::string("http://").size());
    CHECK(list[0].Find("url")->AsString() == "http://" + host + "/register");
    CHECK(list[3].Find("url")->AsString() == "http://" + host + "/find");

    auto forms = J(d.Get("/forms").body).AsArray();
    REQUIRE(forms.size() == 7);
    CHECK(forms[0].Find("rel")->AsString() == "register");
    CHECK(forms[0].Find("href")->AsString() == "http://" + host + "/register");

    auto root = J(d.Get("/").body);
    CHECK(root.Find("name")->AsString() == "discovery");
    CHECK(d.Get("/ping").body == R"({"status":"ok"})");
    auto health = d.Get("/health");
    CHECK(health.status == 200);
    CHECK(J(health.body).Find("service")->AsString() == "discovery");
    CHECK(J(health.body).Find("store")->AsString() == "ok");
    CHECK(Metric(d, "discovery_registrations{status=\"passing\"}") == 2);
  }

  TEST_CASE("every error is JSON with a code: bad JSON wrong types unknown route wrong method") {
    Disco d;
    auto bad_json = d.Post("/register", R"({"serviceName": "a",)");
    CheckError(bad_json, 400, "invalid_json", "offset");
    CheckError(d.Post("/register", ""), 400, "invalid_json", "empty");
    CheckError(d.Post("/register", R"({"serviceURL":"http://h"})"), 400, "invalid_argument",
               "serviceName: is required (serviceName and serviceURL are required)");
    CheckError(d.Post("/register", R"({"serviceName":"a","serviceURL":"http://h","tags":["ok",3]})"), 400,
               "invalid_argument", "tags[1]: expected a string, got number");
    CheckError(d.Post("/register", R"({"serviceName":"a","serviceURL":"ftp://h"})"), 400, "invalid_argument",
               "serviceURL: expected an http or https URL");
    CheckError(d.Post("/register", R"({"serviceName":"a","serviceURL":"http://h","ttlSeconds":"x"})"), 400,
               "invalid_argument", "ttlSeconds: expected an integer");
    CheckError(d.Post("/renew", R"({"registryID":7})"), 400, "invalid_argument", "registryID: expected a string");
    CheckError(d.Post("/bind", R"([])"), 400, "invalid_argument", "expected a JSON object");
    CheckError(d.Get("/find?index=x"), 400, "invalid_argument", "index:");
    CheckError(d.Get("/find?healthy=perhaps"), 400, "invalid_argument", "healthy:");
    CheckError(d.Get("/no/such/route"), 404, "not_found", "");
    auto wrong = d.Send("PUT", "/register", "{}");
    CheckError(wrong, 405, "method_not_allowed", "");
    CHECK(wrong.Header("Allow").value_or("") == "POST");
    auto wrong_get = d.Send("POST", "/find", "{}");
    CheckError(wrong_get, 405, "method_not_allowed", "");
    CHECK(wrong_get.Header("Allow").value_or("") == "GET");
  }

  TEST_CASE("a body over --max-body gets 413 body_too_large") {
    Disco d({"--max-body", "1KiB"});
    std::string big =
        R"({"serviceName":"a","serviceURL":"http://h","metadata":{"pad":")" + std::string(2000, 'x') + "\"}}";
    CheckError(d.Post("/register", big), 413, "body_too_large", "");
    CHECK(d.Post("/register", R"({"serviceName":"a","serviceURL":"http://h"})").status == 201);
  }

  TEST_CASE("a service whose ping fails goes critical and is evicted") {
    Disco d;
    int closed = csp::test::FreePort();
    std::string id =
        d.Register(R"({"serviceName":"dead","serviceURL":"http://127.0.0.1:)" + std::to_string(closed) +
                   R"(","tags":["dead"],"pingURL":"http://127.0.0.1:)" + std::to_string(closed) + R"(/ping"})");
    std::string keep = d.Register(R"({"serviceName":"alive","serviceURL":"http://127.0.0.1:1"})");
    std::string binding =
        J(d.Post("/bind", R"({"sourceRegistryID":")" + keep + R"(","targetRegistryID":")" + id + R"("})").body)
            .Find("bindingID")
            ->AsString();
    CHECK(csp::test::WaitFor([&] { return d.Find("?tag=dead").empty(); }, 10s));
    CHECK(d.Get("/services/" + id).status == 404);
    CHECK(d.Get("/bindings/" + binding).status == 404);
    CHECK(d.Get("/services/" + keep).status == 200);
    CHECK(Metric(d, "discovery_evictions_total{reason=\"ping\"}") == 1);
    CHECK(Metric(d, "discovery_health_checks_total{result=\"critical\"}") >= 2);
  }

  TEST_CASE("a service whose ping answers 2xx is checked and stays passing") {
    Disco d;
    std::string id = d.Register(R"({"serviceName":"self","serviceURL":")" + d.url() + R"(","pingURL":")" + d.url() +
                                R"(/ping","tags":["self"]})");
    CHECK(csp::test::WaitFor(
        [&] {
          auto e = J(d.Get("/services/" + id).body);
          return e.Find("lastChecked")->IsString();
        },
        10s));
    auto e = J(d.Get("/services/" + id).body);
    CHECK(e.Find("status")->AsString() == "passing");
    CHECK(e.Find("failures")->AsInt() == 0);
    CHECK(d.Find("?tag=self&healthy=true").size() == 1);
  }

  TEST_CASE("a TTL entry that is not renewed is evicted") {
    Disco d;
    std::string id = d.Register(R"({"serviceName":"ttl","serviceURL":"http://127.0.0.1:1","ttlSeconds":1})");
    CHECK(csp::test::WaitFor([&] { return d.Get("/services/" + id).status == 404; }, 10s));
    CHECK(Metric(d, "discovery_evictions_total{reason=\"ttl\"}") == 1);
  }

  TEST_CASE("registrations survive a restart on the same data dir") {
    csp::test::TempDir dir;
    std::string a, b, binding;
    {
      auto p = StartDiscovery(dir.path());
      csp::http_client::CurlClient client;
      auto reg = [&](const std::string& body) {
        auto r = client.PostJson(p->url() + "/register", J(body));
        REQUIRE(r.ok());
        REQUIRE(r->status == 201);
        return J(r->body).Find("registryID")->AsString();
      };
      a = reg(R"({"serviceName":"a","serviceURL":"http://127.0.0.1:1","tags":["t"],"metadata":{"k":1}})");
      b = reg(R"({"serviceName":"b","serviceURL":"http://127.0.0.1:2","tags":["t"]})");
      auto bound = client.PostJson(p->url() + "/bind",
                                   Value(csp::json::Object{{"sourceRegistryID", a}, {"targetRegistryID", b}}));
      REQUIRE(bound.ok());
      binding = J(bound->body).Find("bindingID")->AsString();
      CHECK(p->Terminate() == 0);
    }
    auto p = StartDiscovery(dir.path());
    csp::http_client::CurlClient client;
    auto found = client.Get(p->url() + "/find?tag=t");
    REQUIRE(found.ok());
    auto list = J(found->body).AsArray();
    REQUIRE(list.size() == 2);
    CHECK(list[0].Find("registryID")->AsString() == a);
    CHECK(list[1].Find("registryID")->AsString() == b);
    CHECK(csp::json::Dump(*list[0].Find("metadata")) == R"({"k":1})");
    auto bound = client.Get(p->url() + "/bindings/" + binding);
    REQUIRE(bound.ok());
    CHECK(bound->status == 200);
    // Registering the same name and URL after the restart updates the stored entry.
    auto same = client.PostJson(p->url() + "/register", J(R"({"serviceName":"a","serviceURL":"http://127.0.0.1:1"})"));
    REQUIRE(same.ok());
    CHECK(same->status == 200);
    CHECK(J(same->body).Find("registryID")->AsString() == a);
  }

  TEST_CASE("a blocking query returns as soon as a registration changes the index") {
    Disco d;
    uint64_t index = IndexOf(d.Get("/find"));
    csp::http_client::Response held;
    std::chrono::steady_clock::duration took{};
    std::thread watcher([&] {
      csp::http_client::CurlClient own;
      auto start = std::chrono::steady_clock::now();
      auto r = own.Get(d.url() + "/find?tag=late&index=" + std::to_string(index) + "&wait=30s", 40s);
      took = std::chrono::steady_clock::now() - start;
      if (r.ok()) held = std::move(*r);
    });
    // Parked: the watcher gauge shows it, and it has not been answered.
    bool parked = csp::test::WaitFor([&] { return Metric(d, "discovery_watchers") == 1; }, 10s);
    CHECK(parked);
    d.Register(R"({"serviceName":"late","serviceURL":"http://127.0.0.1:7","tags":["late"]})");
    watcher.join();
    CHECK(held.status == 200);
    CHECK(IndexOf(held) > index);
    CHECK(J(held.body).AsArray().size() == 1);
    CHECK(took < 10s);
    // A wait that ends without a change answers with the same index.
    uint64_t now = IndexOf(d.Get("/find"));
    auto timed_out = d.Get("/find?index=" + std::to_string(now) + "&wait=200ms");
    CHECK(timed_out.status == 200);
    CHECK(IndexOf(timed_out) == now);
  }

  TEST_CASE("SIGTERM exits 0 - a bad flag exits 2 with one line") {
    Disco d;
    CHECK(d.process->Terminate() == 0);
    auto bad = csp::test::RunCommand(
        {csp::test::BinaryPath("discovery"), "--evict-after", "0", "--port", "0", "--data-dir", ":memory:"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--evict-after") != std::string::npos);
    auto bad_duration = csp::test::RunCommand({csp::test::BinaryPath("discovery"), "--check-interval", "soon"});
    CHECK(bad_duration.exit_code == 2);
  }
}
