#pragma once
// The platform for job-control's integration tests: the real discovery, shared-state, engines and
// job-control binaries on port 0 with temporary data dirs, plus small in-test services (a
// csp::http::Server registered in discovery) whose behaviour a test scripts.

#include <doctest/doctest.h>

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "csp/http/metrics.h"
#include "csp/http/router.h"
#include "csp/http/server.h"
#include "csp/http_client/client.h"
#include "csp/json/json.h"
#include "csp/test_support/process.h"

namespace csp::job_control::itest {

using json::Value;
using namespace std::chrono_literals;

inline Value J(const std::string& text) {
  auto v = json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

inline std::string Str(const Value& v, std::string_view key) {
  const Value* m = v.Find(key);
  return m != nullptr && m->IsString() ? m->AsString() : std::string();
}

inline std::string Binary(const std::string& name) { return test::BinaryPath(name); }

inline std::string DesignPath(const std::string& name) { return test::SourcePath("examples/designs/" + name); }

struct Reply {
  int status = 0;
  Value body;
  std::string text;
  http_client::Response raw;
};

// A tiny service inside the test: scripted routes behind a real server, registered in discovery.
class TestService {
 public:
  // Routes are added before Start().
  http::Router& router() { return router_; }

  void Start(int threads = 8) {
    http::ServerOptions options;
    options.service_name = "test-service";
    options.port = 0;
    options.threads = threads;
    server_ = std::make_unique<http::Server>(options, std::move(router_), metrics_);
    REQUIRE(server_->Start().ok());
  }
  std::string url() const { return server_->url(); }
  ~TestService() {
    if (on_stop_) on_stop_();
    if (server_) {
      server_->BeginDrain();
      server_->Shutdown(std::chrono::seconds(2));
    }
  }
  void OnStop(std::function<void()> fn) { on_stop_ = std::move(fn); }

 private:
  http::MetricsRegistry metrics_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::function<void()> on_stop_;
};

// Forms for an in-test service: execute, repeat and revert under its URL.
inline http::Response FormsFor(const http::Request& req) {
  std::string base = req.BaseUrl();
  json::Array forms;
  for (const char* rel : {"ping", "execute", "repeat", "revert"}) {
    forms.push_back(json::Object{{"rel", rel}, {"method", "POST"}, {"href", base + "/" + rel}});
  }
  return http::Response::Json(200, Value(forms));
}

class Platform {
 public:
  Platform() : client_() {}

  void StartDiscovery() {
    discovery_ = Start("discovery", {"--data-dir", Dir("discovery"), "--check-interval", "500ms"});
  }
  void StartSharedState() {
    state_ = Start("shared-state", {"--data-dir", Dir("shared-state"), "--discovery-url", discovery_url()});
    REQUIRE(WaitRegistered("shared-state"));
  }
  // Starts an engine with examples/designs/<name>.json and waits for its registration.
  void StartEngine(const std::string& name) {
    engines_[name] = Start("engine", {"--design", DesignPath(name + ".json"), "--data-dir", Dir("engine-" + name),
                                      "--discovery-url", discovery_url()});
    REQUIRE(WaitRegistered(name));
  }
  void StartJobControl(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--data-dir", Dir("job-control"), "--discovery-url", discovery_url(), "--workers",
                                     "4"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--log-level", "info"});
    job_control_args_ = args;
    job_control_ = Start("job-control", args);
  }
  // SIGKILL and start again on the same data dir (a new port).
  void KillJobControl() {
    job_control_->Kill();
    job_control_.reset();
  }
  void RestartJobControl() { job_control_ = Start("job-control", job_control_args_); }
  test::Process& job_control() { return *job_control_; }

  std::string discovery_url() const { return discovery_->url(); }
  std::string jc() const { return job_control_->url(); }
  std::string state_url() const { return state_->url(); }
  std::string engine_url(const std::string& name) const { return engines_.at(name)->url(); }

  // Registers an in-test service in discovery.
  void Register(const std::string& name, const std::string& url, const std::vector<std::string>& tags) {
    json::Array t;
    for (auto& s : tags) t.emplace_back(s);
    auto r = Post(discovery_url() + "/register",
                  json::Object{{"serviceName", name}, {"serviceURL", url}, {"tags", t}, {"pingURL", url + "/ping"}});
    REQUIRE_MESSAGE(r.status / 100 == 2, r.text);
  }

  bool WaitRegistered(const std::string& name) {
    return test::WaitFor([&] {
      auto r = Get(discovery_url() + "/find?name=" + name);
      return r.status == 200 && r.body.IsArray() && !r.body.AsArray().empty();
    }, 15s);
  }

  Reply Send(const std::string& method, const std::string& url, const std::string& body = "",
             http_client::HeaderList headers = {}, std::chrono::milliseconds timeout = 30s) {
    http_client::Request req;
    req.method = method;
    req.url = url;
    req.body = body;
    req.headers = std::move(headers);
    req.timeout = timeout;
    auto r = client_.Send(req);
    if (!r) FAIL(r.error().message << "\n" << Diagnose());
    Reply out;
    out.status = r->status;
    out.text = r->body;
    if (auto v = json::Parse(r->body)) out.body = std::move(*v);
    out.raw = std::move(*r);
    return out;
  }
  Reply Get(const std::string& url) { return Send("GET", url); }
  Reply Post(const std::string& url, const Value& body, http_client::HeaderList headers = {},
             std::chrono::milliseconds timeout = 30s) {
    return Send("POST", url, json::Dump(body), std::move(headers), timeout);
  }

  // POST /jobs; returns the job id.
  std::string Submit(const Value& job, http_client::HeaderList headers = {}) {
    auto r = Post(jc() + "/jobs", job, std::move(headers));
    REQUIRE_MESSAGE(r.status == 202, r.text);
    return Str(r.body, "jobId");
  }
  Value Job(const std::string& id) {
    auto r = Get(jc() + "/jobs/" + id);
    REQUIRE_MESSAGE(r.status == 200, r.text);
    return r.body;
  }
  // Follows the job's events (long polls) until it ends; returns its record.
  Value WaitForEnd(const std::string& id, std::chrono::milliseconds timeout = 60s) {
    int64_t after = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = Get(jc() + "/jobs/" + id + "/events?after=" + std::to_string(after) + "&wait=5s");
      REQUIRE_MESSAGE(r.status == 200, r.text);
      for (auto& e : r.body.AsArray()) {
        after = e.Find("seq")->AsInt();
        if (Str(e, "type") == "job_ended") return Job(id);
      }
      if (r.body.AsArray().empty()) {
        // A wait that ends empty while the job has ended means a lost event: say so.
        Value job = Job(id);
        std::string status = Str(job, "status");
        if (status == "completed" || status == "failed" || status == "revert-failed" || status == "cancelled") {
          FAIL("job " << id << " ended (" << status << ") but its events after " << after << " are empty");
        }
      }
    }
    FAIL("job " << id << " did not end: " << json::Dump(Job(id)) << "\njob-control log:\n" << job_control_->log());
    return Value();
  }
  std::vector<Value> Events(const std::string& id) {
    auto r = Get(jc() + "/jobs/" + id + "/events");
    REQUIRE(r.status == 200);
    return r.body.AsArray();
  }

  // Every record of an engine, via its list command.
  std::vector<Value> Records(const std::string& engine, const std::string& resource) {
    auto r = Post(engine_url(engine) + "/execute", json::Object{{"command", "list"}, {"resource", resource}});
    REQUIRE_MESSAGE(r.status == 200, r.text);
    return r.body.Find("result")->AsArray();
  }
  // A record by id, or null.
  Value Read(const std::string& engine, const std::string& resource, const std::string& id) {
    auto r = Post(engine_url(engine) + "/execute", json::Object{{"command", "read"}, {"resource", resource}, {"id", id}});
    if (r.status == 404) return Value();
    REQUIRE_MESSAGE(r.status == 200, r.text);
    return *r.body.Find("result");
  }

  std::string Dir(const std::string& name) const { return root_.path() + "/" + name; }

  // For failure messages: every unfinished job with its events, and job-control's log.
  std::string Diagnose() {
    if (!job_control_ || diagnosing_) return "";
    diagnosing_ = true;
    std::string out;
    http_client::Request req;
    req.url = jc() + "/jobs";
    req.timeout = 5s;
    auto jobs = client_.Send(req);
    if (jobs && jobs->ok()) {
      auto list = jobs->Json();
      for (const auto& j : list ? list->AsArray() : json::Array{}) {
        std::string status = Str(j, "status");
        if (status == "completed" || status == "failed" || status == "cancelled") continue;
        req.url = jc() + "/jobs/" + Str(j, "id") + "/events";
        auto events = client_.Send(req);
        out += "job " + Str(j, "id") + " " + status + " events: " + (events ? events->body : events.error().message) + "\n";
      }
    } else {
      out += "GET /jobs failed: " + (jobs ? std::to_string(jobs->status) : jobs.error().message) + "\n";
    }
    out += "job-control log:\n" + job_control_->log();
    diagnosing_ = false;
    return out;
  }

 private:
  std::unique_ptr<test::Process> Start(const std::string& binary, std::vector<std::string> args) {
    if (std::find(args.begin(), args.end(), "--log-level") == args.end()) args.insert(args.begin(), {"--log-level", "warn"});
    args.insert(args.begin(), {"--port", "0"});
    auto p = test::Process::Start(Binary(binary), args);
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message));
    return std::move(*p);
  }

  test::TempDir root_;
  http_client::CurlClient client_;
  std::unique_ptr<test::Process> discovery_;
  std::unique_ptr<test::Process> state_;
  std::map<std::string, std::unique_ptr<test::Process>> engines_;
  std::unique_ptr<test::Process> job_control_;
  std::vector<std::string> job_control_args_;
  bool diagnosing_ = false;
};

}  // namespace csp::job_control::itest
