// The Pistache adapter: the only file that includes <pistache/...>. Everything Pistache gets
// wrong by default (stack notes §0) is corrected here, once, for every service.
#include "csp/http/server.h"

#include <malloc.h>
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/http_headers.h>
#include <pistache/mime.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <thread>

#include "csp/core/id.h"
#include "csp/log/log.h"

namespace csp::http {

namespace P = Pistache;

namespace {

// Pistache only serialises typed headers (addRaw'd ones are dropped, #967); this one carries any
// name and value.
class AnyHeader final : public P::Http::Header::Header {
 public:
  AnyHeader(std::string name, std::string value) : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void write(std::ostream& os) const override { os << value_; }
  // Used by Pistache's typed lookups only, which never ask for these names.
  uint64_t hash() const override { return P::Http::Header::detail::hash(name_.c_str()); }

 private:
  std::string name_;
  std::string value_;
};

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Constant-time comparison, so response timing says nothing about the token.
bool SameSecret(std::string_view given, std::string_view secret) {
  if (secret.empty()) return false;
  unsigned char diff = given.size() == secret.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ secret[i % secret.size()]);
  }
  return diff == 0;
}

bool IsMutating(Method m) { return m != Method::kGet && m != Method::kHead && m != Method::kOptions; }

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, Router router, MetricsRegistry& metrics)
      : options_(std::move(options)),
        router_(std::move(router)),
        log_(options_.service_name.empty() ? "http" : options_.service_name),
        requests_(metrics.AddCounter("http_requests_total", "HTTP requests by method, route and status")),
        latency_(metrics.AddHistogram("http_request_duration_seconds", "HTTP request latency by method and route")),
        in_flight_gauge_(metrics.AddGauge("http_requests_in_flight", "HTTP requests being served")),
        metrics_(metrics) {}

  // Pistache's threads are joined here, first, while every member they may touch still exists.
  ~Impl() { endpoint_.reset(); }

  Status Start();
  void Shutdown(std::chrono::milliseconds deadline);
  void Handle(const P::Http::Request& preq, P::Http::ResponseWriter rw);

  uint16_t port() const { return port_; }
  std::string url() const {
    std::string host = options_.host;
    if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
    return "http://" + host + ":" + std::to_string(port_);
  }
  void BeginDrain() { draining_ = true; }
  bool draining() const { return draining_; }

 private:
  struct Context {
    std::chrono::steady_clock::time_point start;
    Method method;
    std::string method_name;
    std::string path;
    std::string request_id;
    std::string route = "unmatched";
    bool client_close = false;
  };

  void Route(Request req, const std::shared_ptr<Context>& ctx, const Reply& reply);
  Response Health() const;
  void Send(P::Http::ResponseWriter& w, const Context& ctx, Response r);
  void Finish() {
    std::lock_guard<std::mutex> lock(drain_mu_);
    --in_flight_;
    drain_cv_.notify_all();
  }

  ServerOptions options_;
  Router router_;
  log::Logger log_;
  Counter& requests_;
  Histogram& latency_;
  Gauge& in_flight_gauge_;
  MetricsRegistry& metrics_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  std::shared_ptr<P::Http::Endpoint> endpoint_;
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<bool> shut_down_{false};

  std::mutex drain_mu_;
  std::condition_variable drain_cv_;
  int64_t in_flight_ = 0;
  // Responses handed to Pistache but not yet written to the socket: a reply sent from another
  // thread is only queued, and Pistache's shutdown drops what is still queued.
  std::atomic<int64_t> pending_writes_{0};

  // Replies that arrive after Shutdown must not touch Pistache (its writers hold raw pointers).
  std::shared_mutex stop_mu_;
  bool stopped_ = false;

};

namespace {

class PistacheHandler final : public P::Http::Handler {
 public:
  HTTP_PROTOTYPE(PistacheHandler)
  explicit PistacheHandler(Server::Impl* impl) : impl_(impl) {}
  void onRequest(const P::Http::Request& req, P::Http::ResponseWriter rw) override {
    impl_->Handle(req, std::move(rw));
  }

 private:
  Server::Impl* impl_;
};

Request Convert(const P::Http::Request& preq) {
  Request req;
  req.method = MethodFromName(P::Http::methodString(preq.method()));
  req.path = preq.resource();
  const auto& q = preq.query();
  // Pistache keeps the query as a map; rebuild the string for the rare route that wants it.
  std::string qs = q.as_str();
  req.query_string = qs.empty() ? qs : qs.substr(1);
  for (auto it = q.parameters_begin(); it != q.parameters_end(); ++it) {
    req.query.emplace_back(PercentDecode(it->first, true), PercentDecode(it->second, true));
  }
  for (const auto& h : preq.headers().list()) {
    std::ostringstream os;
    h->write(os);
    req.headers.Set(h->name(), os.str());
  }
  for (const auto& [name, raw] : preq.headers().rawList()) req.headers.Set(raw.name(), raw.value());
  req.body = preq.body();
  req.remote_address = preq.address().host();
  return req;
}

}  // namespace

Status Server::Impl::Start() {
  try {
    P::Address addr(options_.host, P::Port(options_.port));
    endpoint_ = std::make_shared<P::Http::Endpoint>(addr);
    // Pistache's own limit covers headers plus body; ours (max_body) is checked first so that the
    // common oversized body gets a JSON 413. Far beyond it Pistache answers by itself.
    size_t pistache_limit = options_.max_body * 2 + 64 * 1024;
    // Pistache's header and body timers keep running while a parsed request waits for its
    // answer, and answer 408 when they fire: they must outlast the longest long poll.
    auto poll_budget = options_.longest_reply + std::chrono::seconds(30);
    auto header_timeout = options_.longest_reply.count() > 0 ? std::max(options_.header_timeout, poll_budget)
                                                             : options_.header_timeout;
    auto body_timeout = options_.longest_reply.count() > 0 ? std::max(options_.body_timeout, poll_budget)
                                                           : options_.body_timeout;
    auto opts = P::Http::Endpoint::options()
                    .threads(options_.threads)
                    .threadsName(options_.service_name.substr(0, 10) + "-w")
                    .flags(P::Tcp::Options::ReuseAddr)
                    .maxRequestSize(pistache_limit)
                    .headerTimeout(header_timeout)
                    .bodyTimeout(body_timeout)
                    .keepaliveTimeout(options_.keepalive_timeout);
    endpoint_->init(opts);
    endpoint_->setHandler(std::make_shared<PistacheHandler>(this));
    endpoint_->serveThreaded();
    port_ = static_cast<uint16_t>(endpoint_->getPort());
  } catch (const std::exception& e) {
    return Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " +
                       e.what());
  }
  // Start-up (opening and migrating the store, parsing the configuration) frees what it used,
  // but glibc keeps freed heap pages mapped: hand them back before the service settles, so an
  // idle service holds only what it still uses (about 0.5 MiB after a migration).
  malloc_trim(0);
  std::printf("listening on %s\n", url().c_str());
  std::fflush(stdout);
  log_.Info("listening", {{"url", url()}, {"port", port_}});
  return Ok();
}

void Server::Impl::Shutdown(std::chrono::milliseconds deadline) {
  if (shut_down_.exchange(true)) return;
  draining_ = true;
  {
    std::unique_lock<std::mutex> lock(drain_mu_);
    drain_cv_.wait_for(lock, deadline, [&] { return in_flight_ <= 0; });
    if (in_flight_ > 0) log_.Warn("shutdown deadline passed with requests in flight", {{"inFlight", in_flight_}});
  }
  // Then let queued replies reach their sockets (bounded: a write to a vanished client may never
  // settle its promise).
  auto writes_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (pending_writes_.load() > 0 && std::chrono::steady_clock::now() < writes_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  {
    std::unique_lock<std::shared_mutex> lock(stop_mu_);
    stopped_ = true;
  }
  if (endpoint_) endpoint_->shutdown();
}

void Server::Impl::Handle(const P::Http::Request& preq, P::Http::ResponseWriter rw) {
  {
    std::lock_guard<std::mutex> lock(drain_mu_);
    ++in_flight_;
  }
  auto ctx = std::make_shared<Context>();
  ctx->start = std::chrono::steady_clock::now();
  auto writer = std::make_shared<P::Http::ResponseWriter>(std::move(rw));
  auto done = std::make_shared<std::atomic<bool>>(false);
  Reply reply = [this, writer, ctx, done](Response r) {
    if (done->exchange(true)) return;  // answered already
    {
      std::shared_lock<std::shared_mutex> lock(stop_mu_);
      if (!stopped_) Send(*writer, *ctx, std::move(r));
    }
    Finish();
  };
  try {
    Request req = Convert(preq);
    ctx->method = req.method;
    ctx->method_name = std::string(MethodName(req.method));
    ctx->path = req.path;
    auto conn = preq.headers().tryGet<P::Http::Header::Connection>();
    ctx->client_close = (conn && conn->control() == P::Http::ConnectionControl::Close) ||
                        (!conn && preq.version() == P::Http::Version::Http10);
    auto rid = req.Header("X-Request-Id");
    req.request_id = rid && ValidRequestId(*rid) ? std::string(*rid) : NewUuid();
    ctx->request_id = req.request_id;
    Route(std::move(req), ctx, reply);
  } catch (const std::exception& e) {
    log_.Error("handler threw", {{"error", e.what()}, {"requestId", ctx->request_id}});
    reply(Response::FromError(Internal("internal error; see the service log for request " + ctx->request_id)));
  } catch (...) {
    log_.Error("handler threw a non-exception", {{"requestId", ctx->request_id}});
    reply(Response::FromError(Internal("internal error; see the service log for request " + ctx->request_id)));
  }
}

void Server::Impl::Route(Request req, const std::shared_ptr<Context>& ctx, const Reply& reply) {
  if (req.method == Method::kOther) {
    reply(Response::FromError(Error(ErrorCode::kMethodNotAllowed, "method not supported")));
    return;
  }
  if (req.body.size() > options_.max_body) {
    reply(Response::FromError(Error(ErrorCode::kTooLarge, "request body of " + std::to_string(req.body.size()) +
                                                              " bytes is over the limit of " +
                                                              std::to_string(options_.max_body))));
    return;
  }
  bool is_get = req.method == Method::kGet || req.method == Method::kHead;
  if (is_get && req.path == "/ping") {
    ctx->route = "/ping";
    reply(Response::Json(200, json::Object{{"status", "ok"}}));
    return;
  }
  if (is_get && req.path == "/health") {
    ctx->route = "/health";
    reply(Health());
    return;
  }
  if (!options_.auth_token.empty() && (IsMutating(req.method) || options_.auth_reads)) {
    auto auth = req.Header("Authorization");
    std::string_view given = auth ? *auth : std::string_view();
    constexpr std::string_view kBearer = "Bearer ";
    bool ok = given.size() > kBearer.size() && given.substr(0, kBearer.size()) == kBearer &&
              SameSecret(given.substr(kBearer.size()), options_.auth_token);
    if (!ok) {
      reply(Response::FromError(Error(ErrorCode::kUnauthenticated,
                                      auth ? "the bearer token is not valid" : "an Authorization: Bearer token is required"))
                .WithHeader("WWW-Authenticate", "Bearer"));
      return;
    }
  }
  if (is_get && req.path == "/metrics") {
    ctx->route = "/metrics";
    reply(Response::Text(200, metrics_.Render(), "text/plain; version=0.0.4"));
    return;
  }
  Router::Match m = router_.Find(req.method, req.path);
  if (m.handler == nullptr && m.async_handler == nullptr) {
    if (m.path_known) {
      reply(Response::FromError(Error(ErrorCode::kMethodNotAllowed,
                                      ctx->method_name + " is not allowed on " + req.path))
                .WithHeader("Allow", AllowHeader(m.allowed)));
      return;
    }
    reply(Response::FromError(NotFound("no route for " + ctx->method_name + " " + req.path)));
    return;
  }
  ctx->route = m.pattern;
  req.params = std::move(m.params);
  if (m.handler != nullptr) {
    reply((*m.handler)(req));
    return;
  }
  (*m.async_handler)(std::move(req), reply);
}

Response Server::Impl::Health() const {
  HealthReport report;
  if (options_.health) report = options_.health();
  bool ok = report.ok && !draining_;
  json::Value body = json::Object{
      {"status", ok ? "ok" : (draining_ ? "draining" : "degraded")},
      {"service", options_.service_name},
      {"version", options_.version},
      {"uptimeSeconds", std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)
                            .count()}};
  for (auto& [k, v] : report.details) body.Set(k, v);
  return Response::Json(ok ? 200 : 503, body);
}

void Server::Impl::Send(P::Http::ResponseWriter& w, const Context& ctx, Response r) {
  auto& headers = w.headers();
  headers.remove<P::Http::Header::Connection>();
  bool close = ctx.client_close || draining_;
  headers.add<P::Http::Header::Connection>(close ? P::Http::ConnectionControl::Close
                                                 : P::Http::ConnectionControl::KeepAlive);
  headers.add(std::make_shared<AnyHeader>("X-Request-Id", ctx.request_id));
  for (auto& [name, value] : r.headers) headers.add(std::make_shared<AnyHeader>(name, value));
  if (ctx.method == Method::kHead) r.body.clear();
  auto code = static_cast<P::Http::Code>(r.status);
  P::Http::Mime::MediaType mime;  // invalid = no Content-Type
  if (!r.content_type.empty()) {
    try {
      mime = P::Http::Mime::MediaType::fromString(r.content_type);
    } catch (...) {
      mime = P::Http::Mime::MediaType(P::Http::Mime::Type::Application, P::Http::Mime::Subtype::Json);
    }
  }
  ++pending_writes_;
  w.send(code, r.body, mime).then([this](ssize_t) { --pending_writes_; },
                                  [this](std::exception_ptr) { --pending_writes_; });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.start).count();
  requests_.Inc({{"method", ctx.method_name}, {"route", ctx.route}, {"status", std::to_string(r.status)}});
  latency_.Observe({{"method", ctx.method_name}, {"route", ctx.route}}, seconds);
  if (log_.Enabled(log::Level::kInfo)) {
    log_.Info("request", {{"method", ctx.method_name},
                          {"path", ctx.path},
                          {"status", r.status},
                          {"durationMs", std::round(seconds * 1e6) / 1000.0},
                          {"requestId", ctx.request_id}});
  }
}

Server::Server(ServerOptions options, Router router, MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), metrics)) {}

Server::~Server() { impl_->Shutdown(std::chrono::milliseconds(0)); }

Status Server::Start() { return impl_->Start(); }
uint16_t Server::port() const { return impl_->port(); }
std::string Server::url() const { return impl_->url(); }
void Server::BeginDrain() { impl_->BeginDrain(); }
bool Server::draining() const { return impl_->draining(); }
void Server::Shutdown(std::chrono::milliseconds deadline) { impl_->Shutdown(deadline); }

void BlockTerminationSignals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int WaitForTerminationSignal() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  int sig = 0;
  sigwait(&sigs, &sig);
  return sig;
}

}  // namespace csp::http
