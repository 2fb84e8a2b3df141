// DiscoveryClient and Registrar against a scripted fake http_client::Client (no sockets).

#include "csp/clients/discovery.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "csp/json/json.h"
#include "csp/log/log.h"

using namespace std::chrono_literals;
namespace json = csp::json;
using csp::http_client::Request;
using csp::http_client::Response;

namespace {

// Records every request and answers through a scripted function (thread-safe: the Registrar
// calls it from its own thread).
class FakeClient final : public csp::http_client::Client {
 public:
  using Script = std::function<csp::Result<Response>(const Request&)>;
  explicit FakeClient(Script script) : script_(std::move(script)) {}

  csp::Result<Response> Send(const Request& request) override {
    Script script;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
      script = script_;
    }
    return script(request);
  }

  void SetScript(Script script) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(script);
  }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  // Requests whose URL ends with `suffix` (e.g. "/register").
  std::vector<Request> To(const std::string& suffix) const {
    std::vector<Request> out;
    for (auto& r : requests()) {
      if (r.url.size() >= suffix.size() && r.url.compare(r.url.size() - suffix.size(), suffix.size(), suffix) == 0) {
        out.push_back(r);
      }
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  Script script_;
  std::vector<Request> requests_;
};

Response Reply(int status, const std::string& body = "") {
  Response r;
  r.status = status;
  r.body = body;
  if (!body.empty()) r.headers = {{"Content-Type", "application/json"}};
  return r;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

json::Value BodyOf(const Request& r) {
  auto v = json::Parse(r.body);
  REQUIRE(v.ok());
  return *v;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

csp::clients::Registration PersonRegistration() {
  csp::clients::Registration r;
  r.service_name = "person";
  r.service_url = "http://127.0.0.1:4600";
  r.tags = {"person", "people"};
  r.semantic_profile = "urn:example:person";
  return r;
}

struct QuietLogs {
  QuietLogs() { csp::log::SetLevel(csp::log::Level::kError); }
  ~QuietLogs() { csp::log::SetLevel(csp::log::Level::kInfo); }
};

constexpr const char* kTwoEntries = R"([
  {"registryID":"r1","serviceName":"person","serviceURL":"http://127.0.0.1:4601","tags":["person"],
   "semanticProfile":"urn:example:person","mediaTypes":["application/json"],
   "pingURL":"http://127.0.0.1:4601/ping","status":"passing","lastRenewed":"2026-11-22T10:00:00.000Z"},
  {"registryID":"r2","serviceName":"person","serviceURL":"http://127.0.0.1:4602","tags":"person"}
])";

}  // namespace

TEST_SUITE("clients.discovery") {
  TEST_CASE("Find builds the query string from the non-empty fields") {
    FakeClient fake([](const Request&) { return Reply(200, "[]"); });
    csp::clients::DiscoveryClient discovery("http://disco:4000/", fake);
    CHECK(discovery.url() == "http://disco:4000");

    csp::clients::FindQuery query;
    query.tag = "a b";
    query.name = "x&y=z";
    query.profile = "urn:example:person";
    query.media_type = "application/json";
    query.healthy_only = true;
    REQUIRE(discovery.Find(query).ok());

    REQUIRE(discovery.Find({}).ok());
    csp::clients::FindQuery by_tag;
    by_tag.tag = "upper~case_1.0-x";
    REQUIRE(discovery.Find(by_tag).ok());

    auto requests = fake.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[0].method == "GET");
    CHECK(requests[0].url ==
          "http://disco:4000/find?tag=a%20b&name=x%26y%3Dz&profile=urn%3Aexample%3Aperson"
          "&mediaType=application%2Fjson&healthy=true");
    CHECK(requests[1].url == "http://disco:4000/find");
    CHECK(requests[2].url == "http://disco:4000/find?tag=upper~case_1.0-x");
  }

  TEST_CASE("Find parses entries and tolerates missing or odd fields") {
    FakeClient fake([](const Request&) { return Reply(200, kTwoEntries); });
    csp::clients::DiscoveryClient discovery("http://disco:4000", fake);
    auto entries = discovery.Find({});
    REQUIRE(entries.ok());
    REQUIRE(entries->size() == 2);
    const auto& first = (*entries)[0];
    CHECK(first.registry_id == "r1");
    CHECK(first.service_name == "person");
    CHECK(first.service_url == "http://127.0.0.1:4601");
    CHECK(first.tags == std::vector<std::string>{"person"});
    CHECK(first.semantic_profile == "urn:example:person");
    CHECK(first.media_types == std::vector<std::string>{"application/json"});
    CHECK(first.ping_url == "http://127.0.0.1:4601/ping");
    CHECK(first.status == "passing");
    const auto& second = (*entries)[1];
    CHECK(second.registry_id == "r2");
    CHECK(second.tags == std::vector<std::string>{"person"});  // the original stores a string as sent
    CHECK(second.media_types.empty());
    CHECK(second.ping_url.empty());
    CHECK(second.status.empty());
  }

  TEST_CASE("Find maps failures to kUnavailable") {
    FakeClient fake([](const Request&) { return Reply(503, R"({"error":"draining"})"); });
    csp::clients::DiscoveryClient discovery("http://disco:4000", fake);
    auto not_ok = discovery.Find({});
    REQUIRE_FALSE(not_ok.ok());
    CHECK(not_ok.error().code == csp::ErrorCode::kUnavailable);

    fake.SetScript([](const Request&) { return Reply(200, R"({"not":"an array"})"); });
    auto bad_body = discovery.Find({});
    REQUIRE_FALSE(bad_body.ok());
    CHECK(bad_body.error().code == csp::ErrorCode::kUnavailable);

    fake.SetScript([](const Request& r) -> csp::Result<Response> {
      return csp::Error(csp::ErrorCode::kDeadlineExceeded, "GET " + r.url + ": Timeout was reached");
    });
    auto timed_out = discovery.Find({});
    REQUIRE_FALSE(timed_out.ok());
    CHECK(timed_out.error().code == csp::ErrorCode::kUnavailable);
    CHECK(timed_out.error().message.find("Timeout was reached") != std::string::npos);
  }

  TEST_CASE("UrlOf returns the first instance of the named service") {
    FakeClient fake([](const Request&) { return Reply(200, kTwoEntries); });
    csp::clients::DiscoveryClient discovery("http://disco:4000", fake);
    auto url = discovery.UrlOf("person");
    REQUIRE(url.ok());
    CHECK(*url == "http://127.0.0.1:4601");
    REQUIRE(fake.requests().size() == 1);
    CHECK(fake.requests()[0].url == "http://disco:4000/find?name=person");
  }

  TEST_CASE("UrlOf is kNotFound when no such service is registered") {
    // An original discovery ignores ?name= and lists everything: other names must not match.
    FakeClient fake([](const Request&) { return Reply(200, kTwoEntries); });
    csp::clients::DiscoveryClient discovery("http://disco:4000", fake);
    auto url = discovery.UrlOf("shared-state");
    REQUIRE_FALSE(url.ok());
    CHECK(url.error().code == csp::ErrorCode::kNotFound);
    CHECK(url.error().message == "no service named shared-state is registered in discovery");

    fake.SetScript([](const Request&) { return Reply(200, "[]"); });
    CHECK(discovery.UrlOf("person").error().code == csp::ErrorCode::kNotFound);
  }
}

TEST_SUITE("clients.registrar") {
  TEST_CASE("registration is retried with backoff until discovery answers") {
    QuietLogs quiet;
    std::atomic<int> attempts{0};
    FakeClient fake([&](const Request& r) -> csp::Result<Response> {
      if (EndsWith(r.url, "/register") && ++attempts < 3) return csp::Unavailable("connection refused");
      if (EndsWith(r.url, "/register")) return Reply(201, R"({"registryID":"r1"})");
      return Reply(200, R"({"status":"renewed"})");
    });
    csp::clients::Registrar registrar("http://disco:4000", PersonRegistration(), fake, 10s);
    CHECK_FALSE(registrar.registered());
    auto start = std::chrono::steady_clock::now();
    registrar.Start();
    REQUIRE(WaitFor([&] { return registrar.registered(); }));
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(registrar.registry_id() == "r1");
    CHECK(attempts.load() == 3);
    CHECK(elapsed >= 600ms);  // 200 ms + 400 ms of backoff
    CHECK(elapsed < 3s);

    auto registers = fake.To("/register");
    REQUIRE(registers.size() == 3);
    CHECK(registers[2].method == "POST");
    CHECK(registers[2].url == "http://disco:4000/register");
    json::Value body = BodyOf(registers[2]);
    CHECK(body == json::Value(json::Object{{"serviceName", "person"},
                                           {"serviceURL", "http://127.0.0.1:4600"},
                                           {"tags", json::Array{"person", "people"}},
                                           {"semanticProfile", "urn:example:person"},
                                           {"mediaTypes", json::Array{"application/json"}},
                                           {"pingURL", "http://127.0.0.1:4600/ping"}}));
    registrar.Stop();
  }

  TEST_CASE("ttlSeconds, metadata and an explicit pingURL are sent when set") {
    QuietLogs quiet;
    FakeClient fake([](const Request&) { return Reply(200, R"({"registryID":"r9"})"); });
    auto registration = PersonRegistration();
    registration.ttl_seconds = 30;
    registration.metadata = json::Object{{"design", "person.json"}};
    registration.ping_url = "http://127.0.0.1:4600/health";
    csp::clients::Registrar registrar("http://disco:4000", registration, fake, 10s);
    registrar.Start();
    REQUIRE(WaitFor([&] { return registrar.registered(); }));
    json::Value body = BodyOf(fake.To("/register").at(0));
    CHECK(body.Find("ttlSeconds") != nullptr);
    CHECK(*body.Find("ttlSeconds") == json::Value(30));
    CHECK(*body.Find("metadata") == json::Value(json::Object{{"design", "person.json"}}));
    CHECK(*body.Find("pingURL") == json::Value("http://127.0.0.1:4600/health"));
    registrar.Stop();
  }

  TEST_CASE("renewals go out on the interval and a 404 makes it register again") {
    QuietLogs quiet;
    std::mutex mu;
    int registrations = 0;
    int renewals = 0;
    FakeClient fake([&](const Request& r) -> csp::Result<Response> {
      std::lock_guard<std::mutex> lock(mu);
      if (EndsWith(r.url, "/register")) {
        ++registrations;
        return Reply(201, R"({"registryID":"r)" + std::to_string(registrations) + R"("})");
      }
      if (EndsWith(r.url, "/renew")) {
        ++renewals;
        if (renewals == 2) return Reply(404, R"({"error":"Service not found in registry"})");
        return Reply(200, R"({"status":"renewed"})");
      }
      return Reply(204);
    });
    csp::clients::Registrar registrar("http://disco:4000", PersonRegistration(), fake, 20ms);
    registrar.Start();
    REQUIRE(WaitFor([&] { return registrar.registry_id() == "r2"; }));
    REQUIRE(WaitFor([&] {
      auto renews = fake.To("/renew");
      return !renews.empty() && BodyOf(renews.back()) == json::Value(json::Object{{"registryID", "r2"}});
    }));
    auto renews = fake.To("/renew");
    REQUIRE(renews.size() >= 3);
    CHECK(BodyOf(renews[0]) == json::Value(json::Object{{"registryID", "r1"}}));
    CHECK(BodyOf(renews[1]) == json::Value(json::Object{{"registryID", "r1"}}));
    // The register right after the 404 comes before any further renewal.
    auto all = fake.requests();
    size_t second_renew = 0;
    int seen = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      if (EndsWith(all[i].url, "/renew") && ++seen == 2) second_renew = i;
    }
    REQUIRE(second_renew + 1 < all.size());
    CHECK(EndsWith(all[second_renew + 1].url, "/register"));
    registrar.Stop();
  }

  TEST_CASE("a failed renewal other than 404 keeps the registration") {
    QuietLogs quiet;
    FakeClient fake([](const Request& r) -> csp::Result<Response> {
      if (EndsWith(r.url, "/register")) return Reply(201, R"({"registryID":"r1"})");
      if (EndsWith(r.url, "/renew")) return csp::Unavailable("POST " + r.url + ": Couldn't connect to server");
      return Reply(204);
    });
    csp::clients::Registrar registrar("http://disco:4000", PersonRegistration(), fake, 10ms);
    registrar.Start();
    REQUIRE(WaitFor([&] { return fake.To("/renew").size() >= 5; }));
    CHECK(fake.To("/register").size() == 1);
    CHECK(registrar.registry_id() == "r1");
    registrar.Stop();
  }

  TEST_CASE("Stop unregisters a registered service and is idempotent") {
    QuietLogs quiet;
    FakeClient fake([](const Request& r) -> csp::Result<Response> {
      if (EndsWith(r.url, "/register")) return Reply(201, R"({"registryID":"r1"})");
      if (EndsWith(r.url, "/unregister")) return Reply(204);
      return Reply(200, R"({"status":"renewed"})");
    });
    csp::clients::Registrar registrar("http://disco:4000", PersonRegistration(), fake, 10s);
    registrar.Start();
    REQUIRE(WaitFor([&] { return registrar.registered(); }));
    registrar.Stop();
    CHECK_FALSE(registrar.registered());
    auto unregisters = fake.To("/unregister");
    REQUIRE(unregisters.size() == 1);
    CHECK(unregisters[0].method == "POST");
    CHECK(unregisters[0].url == "http://disco:4000/unregister");
    CHECK(unregisters[0].timeout <= 2s);
    CHECK(BodyOf(unregisters[0]) == json::Value(json::Object{{"registryID", "r1"}}));
    CHECK(fake.requests().back().url == "http://disco:4000/unregister");

    registrar.Stop();
    CHECK(fake.To("/unregister").size() == 1);
  }

  TEST_CASE("Stop interrupts the backoff at once and sends no unregister when never registered") {
    QuietLogs quiet;
    FakeClient fake([](const Request&) -> csp::Result<Response> { return csp::Unavailable("connection refused"); });
    csp::clients::Registrar registrar("http://disco:4000", PersonRegistration(), fake, 10s);
    registrar.Start();
    // After 4 failures the registrar is in a 1.6 s backoff wait.
    REQUIRE(WaitFor([&] { return fake.To("/register").size() >= 4; }));
    auto start = std::chrono::steady_clock::now();
    registrar.Stop();
    CHECK(std::chrono::steady_clock::now() - start < 500ms);
    CHECK(fake.To("/unregister").empty());
    CHECK_FALSE(registrar.registered());
  }

  TEST_CASE("a registrar that never started stops cleanly") {
    FakeClient fake([](const Request&) { return Reply(201, R"({"registryID":"r1"})"); });
    {
      csp::clients::Registrar registrar("http://disco:4000", PersonRegistration(), fake);
      registrar.Stop();
      registrar.Start();  // after Stop: does nothing
      CHECK_FALSE(registrar.registered());
    }
    CHECK(fake.requests().empty());
  }
}
