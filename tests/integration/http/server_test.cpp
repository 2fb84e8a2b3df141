// The HTTP server over real sockets: the middleware every service relies on.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "csp/http/server.h"
#include "csp/http_client/client.h"
#include "csp/json/json.h"
#include "csp/test_support/process.h"

using namespace csp;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  http::MetricsRegistry metrics;
  std::unique_ptr<http::Server> server;
  http_client::CurlClient client;
  std::atomic<int> slow_pending{0};

  explicit Fixture(http::ServerOptions options = {}) {
    http_client::CurlClient::GlobalInit();
    http::Router router;
    router.Get("/hello/:name", [](const http::Request& req) {
      return http::Response::Json(200, json::Object{{"hello", req.Param("name")}, {"rid", req.request_id}});
    });
    router.Post("/echo", [](const http::Request& req) {
      auto body = req.JsonBody();
      if (!body) return http::Response::FromError(body.error());
      return http::Response::Json(200, *body);
    });
    router.Get("/throw", [](const http::Request&) -> http::Response { throw std::runtime_error("secret detail"); });
    router.AddAsync(http::Method::kGet, "/slow", [this](http::Request req, http::Reply reply) {
      ++slow_pending;
      auto hold = std::chrono::milliseconds(std::stoi(req.Query("hold").value_or("300")));
      std::thread([this, reply, hold] {
        std::this_thread::sleep_for(hold);  // the slow work being simulated
        --slow_pending;
        reply(http::Response::Json(200, json::Object{{"slow", true}}));
      }).detach();
    });
    options.service_name = "test";
    server = std::make_unique<http::Server>(options, std::move(router), metrics);
    REQUIRE(server->Start());
  }

  std::string Url(const std::string& path) const { return server->url() + path; }
};

json::Value JsonOf(const Result<http_client::Response>& r) {
  REQUIRE(r);
  auto v = r->Json();
  REQUIRE(v);
  return *v;
}

// Sends raw bytes and returns everything read until the server closes or 2 s pass.
std::string RawExchange(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.find("\r\n\r\n") != std::string::npos && out.find("}") != std::string::npos) break;
  }
  close(fd);
  return out;
}

}  // namespace

TEST_SUITE("http_server") {
  TEST_CASE("routes, request ids and keep-alive") {
    Fixture f;
    http_client::Request req;
    req.url = f.Url("/hello/world");
    req.request_id = "abc-123";
    auto r = f.client.Send(req);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(*r->Header("X-Request-Id") == "abc-123");
    CHECK(JsonOf(r).Find("rid")->AsString() == "abc-123");
    REQUIRE(r->Header("Connection"));
    CHECK(*r->Header("Connection") == "Keep-Alive");
    // Without one, the server makes an id up.
    auto r2 = f.client.Get(f.Url("/hello/x"));
    REQUIRE(r2);
    CHECK(r2->Header("X-Request-Id")->size() == 36);
  }

  TEST_CASE("a client that asks to close gets Connection: close") {
    Fixture f;
    std::string reply = RawExchange(f.server->port(), "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(reply.find("HTTP/1.1 200") == 0);
    CHECK(reply.find("Connection: Close") != std::string::npos);
  }

  TEST_CASE("built-in ping, health and metrics") {
    Fixture f;
    CHECK(JsonOf(f.client.Get(f.Url("/ping"))).Find("status")->AsString() == "ok");
    auto health = JsonOf(f.client.Get(f.Url("/health")));
    CHECK(health.Find("status")->AsString() == "ok");
    CHECK(health.Find("service")->AsString() == "test");
    CHECK(health.Find("uptimeSeconds")->IsInt());
    auto m = f.client.Get(f.Url("/metrics"));
    REQUIRE(m);
    CHECK(m->status == 200);
    CHECK(m->body.find("http_requests_total{method=\"GET\",route=\"/ping\",status=\"200\"} 1") != std::string::npos);
  }

  TEST_CASE("health reports a failing check as 503 degraded") {
    http::ServerOptions o;
    o.health = [] {
      http::HealthReport r;
      r.ok = false;
      r.details.Set("failing", "store");
      return r;
    };
    Fixture f(o);
    auto r = f.client.Get(f.Url("/health"));
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(JsonOf(r).Find("status")->AsString() == "degraded");
    CHECK(JsonOf(r).Find("failing")->AsString() == "store");
  }

  TEST_CASE("every failure is a JSON error") {
    http::ServerOptions o;
    o.max_body = 1024;
    Fixture f(o);
    auto not_found = f.client.Get(f.Url("/nope"));
    CHECK(not_found->status == 404);
    CHECK(JsonOf(not_found).Find("code")->AsString() == "not_found");

    http_client::Request del;
    del.method = "DELETE";
    del.url = f.Url("/echo");
    auto wrong = f.client.Send(del);
    CHECK(wrong->status == 405);
    CHECK(*wrong->Header("Allow") == "POST");
    CHECK(JsonOf(wrong).Find("code")->AsString() == "method_not_allowed");

    http_client::Request bad;
    bad.method = "POST";
    bad.url = f.Url("/echo");
    bad.body = "{\"a\": ";
    auto invalid = f.client.Send(bad);
    CHECK(invalid->status == 400);
    CHECK(JsonOf(invalid).Find("code")->AsString() == "invalid_json");

    bad.body = "{\"a\":\"" + std::string(2000, 'x') + "\"}";
    auto big = f.client.Send(bad);
    CHECK(big->status == 413);
    CHECK(JsonOf(big).Find("code")->AsString() == "body_too_large");

    auto thrown = f.client.Get(f.Url("/throw"));
    CHECK(thrown->status == 500);
    CHECK(JsonOf(thrown).Find("code")->AsString() == "internal");
    CHECK(thrown->body.find("secret detail") == std::string::npos);
  }

  TEST_CASE("bearer auth guards writes, and reads with auth_reads") {
    http::ServerOptions o;
    o.auth_token = "s3cret";
    Fixture f(o);
    auto no_token = f.client.PostJson(f.Url("/echo"), json::Object{{"a", 1}});
    CHECK(no_token->status == 401);
    CHECK(JsonOf(no_token).Find("code")->AsString() == "unauthorized");
    CHECK(f.client.Get(f.Url("/hello/x"))->status == 200);

    http_client::CurlClient authed(http_client::CurlOptions{"s3cret"});
    CHECK(authed.PostJson(f.Url("/echo"), json::Object{{"a", 1}})->status == 200);
    http_client::CurlClient wrong(http_client::CurlOptions{"s3creT"});
    CHECK(wrong.PostJson(f.Url("/echo"), json::Object{{"a", 1}})->status == 401);
  }

  TEST_CASE("a long poll outlives the header and body timeouts") {
    http::ServerOptions o;
    o.header_timeout = std::chrono::seconds(1);
    o.body_timeout = std::chrono::seconds(1);
    o.longest_reply = std::chrono::seconds(3);
    Fixture f(o);
    // /slow answers after 300 ms; hold a second one much longer than the timeouts.
    auto start = std::chrono::steady_clock::now();
    http_client::Request req;
    req.url = f.Url("/slow?hold=2500");
    auto r = f.client.Send(req);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(std::chrono::steady_clock::now() - start >= 2400ms);
  }

  TEST_CASE("async replies do not block other requests, and shutdown drains them") {
    Fixture f;
    std::thread slow([&] {
      auto r = http_client::CurlClient().Get(f.Url("/slow?hold=1500"));
      REQUIRE(r);
      CHECK(r->status == 200);
    });
    REQUIRE(test::WaitFor([&] { return f.slow_pending.load() == 1; }));
    // Were the slow reply holding a worker, this ping would wait for it (1.5 s).
    auto start = std::chrono::steady_clock::now();
    CHECK(f.client.Get(f.Url("/ping"))->status == 200);
    CHECK(std::chrono::steady_clock::now() - start < 1000ms);
    f.server->Shutdown(5s);  // waits for the slow reply
    slow.join();
    CHECK(f.slow_pending.load() == 0);
  }
}
