#pragma once
// The HTTP server every service runs: our Router behind Pistache, with the middleware the
// platform needs on every route (stack notes §8):
//   - keep-alive fixed (Pistache answers "Connection: Close" by default), close while draining
//   - X-Request-Id taken or generated, echoed, and logged
//   - body limit (413 body_too_large), optional bearer auth (401), JSON 404/405 with Allow
//   - every failure a JSON error, including exceptions (500) and Pistache timeouts (408)
//   - access log line and Prometheus metrics per route and status
//   - built-in GET /ping, /health and /metrics
// Graceful shutdown: BeginDrain(), let long polls answer, then Shutdown(deadline) waits for
// in-flight requests before stopping Pistache (whose own shutdown does not drain).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "csp/core/result.h"
#include "csp/http/metrics.h"
#include "csp/http/router.h"
#include "csp/json/value.h"

namespace csp::config {
struct CommonOptions;
}

namespace csp::http {

struct HealthReport {
  bool ok = true;
  json::Object details;  // merged into the /health body, e.g. {"store":"ok"} or {"failing":"store"}
};

struct ServerOptions {
  std::string service_name;      // "discovery", "shared-state", ...
  std::string version = "0.0.0";
  std::string host = "127.0.0.1";
  uint16_t port = 0;             // 0: a free port; see Server::port()
  int threads = 2;
  size_t max_body = 1 << 20;
  std::string auth_token;        // empty: auth off
  bool auth_reads = false;       // with a token: also require it on GET/HEAD
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds body_timeout{10};
  std::chrono::seconds keepalive_timeout{60};
  // The longest a route may hold a request before answering (long polls). Pistache 0.0.5 keeps
  // its header/body timers running until the answer and would cut such a request off with a
  // 408, so when this is set both timeouts are raised to outlast it (a slow client then also
  // gets that long to send its request: put a proxy in front of untrusted clients).
  std::chrono::seconds longest_reply{0};
  std::function<HealthReport()> health;  // optional extra checks for /health
};

// Host, port, threads, body limit and auth from the common command-line flags.
ServerOptions ServerOptionsFrom(const config::CommonOptions& common, std::string service_name);

class Server {
 public:
  // The registry gets the http_* request metrics; the service adds its own to it.
  Server(ServerOptions options, Router router, MetricsRegistry& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on background threads. Prints "listening on http://HOST:PORT" on
  // stdout (tests and scripts wait for that line) and logs it. Errors: kUnavailable (bind).
  Status Start();
  uint16_t port() const;
  // "http://HOST:PORT" as bound.
  std::string url() const;

  // New requests are still served but get "Connection: close"; /health answers 503 "draining".
  void BeginDrain();
  bool draining() const;
  // Waits for in-flight requests (including pending async replies) up to `deadline`, then stops.
  void Shutdown(std::chrono::milliseconds deadline);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Blocks SIGINT/SIGTERM in the calling thread (call first thing in main, before any thread
// starts, so every thread inherits the mask) and ignores SIGPIPE.
void BlockTerminationSignals();
// Waits for SIGINT or SIGTERM and returns the signal number.
int WaitForTerminationSignal();

}  // namespace csp::http
