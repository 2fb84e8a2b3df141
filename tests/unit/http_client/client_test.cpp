// CurlClient against an in-process csp::http::Server on 127.0.0.1, port 0.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "csp/http/server.h"
#include "csp/http_client/client.h"
#include "csp/json/json.h"
#include "csp/log/log.h"
#include "csp/test_support/process.h"

using namespace std::chrono_literals;
using csp::http_client::CurlClient;
using csp::http_client::CurlOptions;
namespace http = csp::http;
namespace json = csp::json;

namespace {

std::string HeaderOr(const http::Request& req, std::string_view name) {
  auto value = req.Header(name);
  return value ? std::string(*value) : std::string("<none>");
}

// Describes the request it got, so tests can check what the client sent.
http::Response Echo(const http::Request& req) {
  return http::Response::Json(200, json::Object{{"method", std::string(http::MethodName(req.method))},
                                                {"path", req.path},
                                                {"a", req.Query("a").value_or("<none>")},
                                                {"bodySize", static_cast<int64_t>(req.body.size())},
                                                {"body", req.body},
                                                {"requestId", HeaderOr(req, "X-Request-Id")},
                                                {"authorization", HeaderOr(req, "Authorization")},
                                                {"expect", HeaderOr(req, "Expect")},
                                                {"contentType", HeaderOr(req, "Content-Type")},
                                                {"contentLength", HeaderOr(req, "Content-Length")},
                                                {"custom", HeaderOr(req, "X-Custom")}});
}

// A server with the routes the tests need. /slow answers only when released (or after 10 s), from
// its own thread, as an async route must.
class TestServer {
 public:
  TestServer() {
    csp::log::SetLevel(csp::log::Level::kWarn);  // no access log lines in test output
    http::Router router;
    for (auto method : {http::Method::kGet, http::Method::kPost, http::Method::kPut, http::Method::kPatch,
                        http::Method::kDelete}) {
      router.Add(method, "/echo", Echo);
    }
    router.Get("/bytes/:n", [](const http::Request& req) {
      return http::Response::Text(200, std::string(std::stoul(req.Param("n")), 'x'));
    });
    router.Get("/teapot", [](const http::Request&) {
      return http::Response::Json(418, json::Object{{"error", "short and stout"}})
          .WithHeader("X-Custom", "yes");
    });
    router.Get("/redirect", [](const http::Request&) {
      return http::Response::Empty(302).WithHeader("Location", "/echo");
    });
    router.AddAsync(http::Method::kGet, "/slow", [this](http::Request, http::Reply reply) {
      std::lock_guard<std::mutex> lock(mu_);
      slow_threads_.emplace_back([future = release_.get_future().share(), reply = std::move(reply)] {
        future.wait_for(10s);
        reply(http::Response::Json(200, json::Object{{"late", true}}));
      });
    });
    http::ServerOptions options;
    options.service_name = "client-test";
    options.max_body = 4u << 20;
    server_ = std::make_unique<http::Server>(options, std::move(router), metrics_);
    REQUIRE(server_->Start().ok());
  }

  ~TestServer() {
    ReleaseSlow();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& t : slow_threads_) t.join();
    }
    server_->Shutdown(2s);
  }

  void ReleaseSlow() {
    std::call_once(released_, [this] { release_.set_value(); });
  }

  std::string Url(const std::string& path) const { return server_->url() + path; }
  uint16_t port() const { return server_->port(); }

 private:
  http::MetricsRegistry metrics_;
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  std::promise<void> release_;
  std::once_flag released_;
  std::vector<std::thread> slow_threads_;
};

json::Value JsonOf(const csp::http_client::Response& response) {
  auto parsed = response.Json();
  REQUIRE(parsed.ok());
  return *parsed;
}

std::string Str(const json::Value& v, std::string_view key) {
  const json::Value* member = v.Find(key);
  REQUIRE(member != nullptr);
  if (member->IsInt()) return std::to_string(member->AsInt());
  REQUIRE(member->IsString());
  return member->AsString();
}

// TCP sockets (either end, any state but LISTEN) on 127.0.0.1 that involve `port`, from
// /proc/net/tcp: with keep-alive one connection shows up as two rows; without it, every request
// leaves a TIME_WAIT row behind.
int SocketsOnPort(uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  int count = 0;
  char port_hex[8];
  std::snprintf(port_hex, sizeof port_hex, ":%04X", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "0A") continue;  // the listening socket
    if (local.find(port_hex) != std::string::npos || remote.find(port_hex) != std::string::npos) ++count;
  }
  return count;
}

}  // namespace

TEST_SUITE("http_client") {
  TEST_CASE("each method round-trips with its body") {
    TestServer server;
    CurlClient client;
    for (std::string method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
      CAPTURE(method);
      csp::http_client::Request request;
      request.method = method;
      request.url = server.Url("/echo?a=1");
      if (method != "GET" && method != "DELETE") request.body = R"({"m":")" + method + R"("})";
      auto response = client.Send(request);
      REQUIRE(response.ok());
      CHECK(response->status == 200);
      CHECK(response->ok());
      CHECK(response->MediaType() == "application/json");
      json::Value echo = JsonOf(*response);
      CHECK(Str(echo, "method") == method);
      CHECK(Str(echo, "a") == "1");
      CHECK(Str(echo, "body") == request.body);
      if (!request.body.empty()) CHECK(Str(echo, "contentType") == "application/json");
    }
  }

  TEST_CASE("conveniences: Get, PostJson, Delete") {
    TestServer server;
    CurlClient client;
    auto got = client.Get(server.Url("/echo"));
    REQUIRE(got.ok());
    CHECK(Str(JsonOf(*got), "method") == "GET");

    auto posted = client.PostJson(server.Url("/echo"), json::Object{{"k", "v"}});
    REQUIRE(posted.ok());
    json::Value echo = JsonOf(*posted);
    CHECK(Str(echo, "method") == "POST");
    CHECK(Str(echo, "body") == R"({"k":"v"})");
    CHECK(Str(echo, "contentType") == "application/json");

    auto deleted = client.Delete(server.Url("/echo"));
    REQUIRE(deleted.ok());
    CHECK(Str(JsonOf(*deleted), "method") == "DELETE");
  }

  TEST_CASE("an empty POST sends Content-Length: 0") {
    TestServer server;
    CurlClient client;
    csp::http_client::Request request;
    request.method = "POST";
    request.url = server.Url("/echo");
    auto response = client.Send(request);
    REQUIRE(response.ok());
    json::Value echo = JsonOf(*response);
    CHECK(Str(echo, "contentLength") == "0");
    CHECK(Str(echo, "bodySize") == "0");
    CHECK(Str(echo, "contentType") == "<none>");
  }

  TEST_CASE("request id, bearer token and extra headers are sent") {
    TestServer server;
    CurlOptions options;
    options.bearer_token = "s3cret";
    CurlClient client(options);
    csp::http_client::Request request;
    request.url = server.Url("/echo");
    request.request_id = "req-42";
    request.headers = {{"X-Custom", "hello"}};
    auto response = client.Send(request);
    REQUIRE(response.ok());
    json::Value echo = JsonOf(*response);
    CHECK(Str(echo, "requestId") == "req-42");
    CHECK(Str(echo, "authorization") == "Bearer s3cret");
    CHECK(Str(echo, "custom") == "hello");
    CHECK(response->Header("x-request-id").value_or("") == "req-42");  // echoed by the server

    CurlClient anonymous;
    auto plain = anonymous.Get(server.Url("/echo"));
    REQUIRE(plain.ok());
    CHECK(Str(JsonOf(*plain), "authorization") == "<none>");
  }

  TEST_CASE("a 2 MB body goes without Expect: 100-continue") {
    TestServer server;
    CurlClient client;
    csp::http_client::Request request;
    request.method = "POST";
    request.url = server.Url("/echo");
    request.body = "\"" + std::string(2u << 20, 'a') + "\"";
    auto start = std::chrono::steady_clock::now();
    auto response = client.Send(request);
    auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE(response.ok());
    CHECK(response->status == 200);
    json::Value echo = JsonOf(*response);
    CHECK(Str(echo, "bodySize") == std::to_string(request.body.size()));
    CHECK(Str(echo, "expect") == "<none>");
    // With Expect: 100-continue libcurl would wait 1 s for an answer Pistache never sends.
    CHECK(elapsed < 900ms);
  }

  TEST_CASE("sequential requests reuse one connection") {
    TestServer server;
    CurlClient client;
    for (int i = 0; i < 200; ++i) {
      auto response = client.Get(server.Url("/echo"));
      REQUIRE(response.ok());
      REQUIRE(response->status == 200);
    }
    CHECK(SocketsOnPort(server.port()) <= 4);
  }

  TEST_CASE("the client is usable from several threads at once") {
    TestServer server;
    CurlClient client;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i) {
          auto response = client.Get(server.Url("/echo"));
          if (!response.ok() || response->status != 200) ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(failures.load() == 0);
  }

  TEST_CASE("non-2xx replies are responses and not errors and headers are collected") {
    TestServer server;
    CurlClient client;
    auto response = client.Get(server.Url("/teapot"));
    REQUIRE(response.ok());
    CHECK(response->status == 418);
    CHECK_FALSE(response->ok());
    CHECK(response->Header("X-CUSTOM").value_or("") == "yes");
    CHECK(response->Header("Content-Type").has_value());
    CHECK_FALSE(response->Header("X-Absent").has_value());
    for (const auto& [name, value] : response->headers) CHECK(name.rfind("HTTP/", 0) != 0);
  }

  TEST_CASE("redirects are not followed") {
    TestServer server;
    CurlClient client;
    auto response = client.Get(server.Url("/redirect"));
    REQUIRE(response.ok());
    CHECK(response->status == 302);
    CHECK(response->Header("Location").value_or("") == "/echo");
  }

  TEST_CASE("a reply slower than the timeout is kDeadlineExceeded") {
    TestServer server;
    CurlClient client;
    auto start = std::chrono::steady_clock::now();
    auto response = client.Get(server.Url("/slow"), 200ms);
    auto elapsed = std::chrono::steady_clock::now() - start;
    server.ReleaseSlow();
    REQUIRE_FALSE(response.ok());
    CHECK(response.error().code == csp::ErrorCode::kDeadlineExceeded);
    CHECK(response.error().message.rfind("GET " + server.Url("/slow") + ": ", 0) == 0);
    CHECK(elapsed < 5s);

    // The same thread's handle still works afterwards.
    auto after = client.Get(server.Url("/echo"));
    REQUIRE(after.ok());
    CHECK(after->status == 200);
  }

  TEST_CASE("a refused connection is kUnavailable naming method and URL") {
    CurlClient client;
    std::string url = "http://127.0.0.1:" + std::to_string(csp::test::FreePort()) + "/x";
    csp::http_client::Request request;
    request.method = "POST";
    request.url = url;
    request.body = "{}";
    auto response = client.Send(request);
    REQUIRE_FALSE(response.ok());
    CHECK(response.error().code == csp::ErrorCode::kUnavailable);
    CHECK(response.error().message.rfind("POST " + url + ": ", 0) == 0);
  }

  TEST_CASE("only http and https URLs are accepted") {
    CurlClient client;
    for (std::string url : {"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://x", "127.0.0.1:80/x", ""}) {
      CAPTURE(url);
      auto response = client.Get(url);
      REQUIRE_FALSE(response.ok());
      CHECK(response.error().code == csp::ErrorCode::kInvalidArgument);
    }
  }

  TEST_CASE("headers with line breaks are refused before any I/O") {
    CurlClient client;
    csp::http_client::Request request;
    request.url = "http://127.0.0.1:1/x";
    request.request_id = "abc\r\nX-Injected: 1";
    auto response = client.Send(request);
    REQUIRE_FALSE(response.ok());
    CHECK(response.error().code == csp::ErrorCode::kInvalidArgument);

    request.request_id.clear();
    request.headers = {{"X-Custom", "a\nb"}};
    auto second = client.Send(request);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code == csp::ErrorCode::kInvalidArgument);
  }

  TEST_CASE("responses over max_response_bytes are refused") {
    TestServer server;
    CurlOptions options;
    options.max_response_bytes = 1000;
    CurlClient client(options);
    auto small = client.Get(server.Url("/bytes/1000"));
    REQUIRE(small.ok());
    CHECK(small->body.size() == 1000);

    auto big = client.Get(server.Url("/bytes/5000"));
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().code == csp::ErrorCode::kUnavailable);
    CHECK(big.error().message.find("response larger than 1000 bytes") != std::string::npos);
  }

  TEST_CASE("Response helpers") {
    csp::http_client::Response response;
    response.status = 204;
    response.headers = {{"content-type", " Application/JSON ; charset=utf-8"}};
    CHECK(response.ok());
    CHECK(response.MediaType() == "application/json");
    response.body = "[1,2";
    auto bad = response.Json();
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == csp::ErrorCode::kInvalidJson);
    response.headers.clear();
    CHECK(response.MediaType().empty());
  }
}
