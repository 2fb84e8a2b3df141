#pragma once
// Fakes for the job-control unit tests: a scripted HTTP world (discovery, engines, a state
// document) behind the http_client::Client interface, and a settable clock. No sockets.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "csp/core/clock.h"
#include "csp/http_client/client.h"
#include "csp/json/json.h"
#include "csp/json/patch.h"
#include "csp/json/value.h"

namespace csp::job_control::testing {

class FakeClock final : public Clock {
 public:
  FakeClock() : now_ms_(1'800'000'000'000) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }

 private:
  std::atomic<int64_t> now_ms_;
};

inline http_client::Response JsonReply(int status, const json::Value& body) {
  http_client::Response r;
  r.status = status;
  r.body = json::Dump(body);
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

// Routes requests by "METHOD URL" (URL without its query) to handlers; records every request.
class FakeHttp final : public http_client::Client {
 public:
  using Handler = std::function<Result<http_client::Response>(const http_client::Request&)>;

  void Route(const std::string& method, const std::string& url, Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[method + " " + url] = std::move(h);
  }

  Result<http_client::Response> Send(const http_client::Request& request) override {
    Handler h;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(request);
      std::string url = request.url.substr(0, request.url.find('?'));
      auto it = routes_.find(request.method + " " + url);
      if (it == routes_.end()) {
        return Error(ErrorCode::kUnavailable, request.method + " " + request.url + ": Failed to connect: Couldn't connect to server");
      }
      h = it->second;
    }
    return h(request);
  }

  std::vector<http_client::Request> Calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  // Calls whose URL (without query) equals url.
  std::vector<http_client::Request> CallsTo(const std::string& method, const std::string& url) const {
    std::vector<http_client::Request> out;
    for (auto& c : Calls()) {
      if (c.method == method && c.url.substr(0, c.url.find('?')) == url) out.push_back(c);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Handler> routes_;
  std::vector<http_client::Request> calls_;
};

// A discovery at kDiscovery answering /find?tag=&name= from a list of registrations.
inline constexpr const char* kDiscovery = "http://disco:4000";

struct FakeService {
  std::string name;
  std::string url;
  std::vector<std::string> tags;
  std::string status = "passing";
};

inline std::string QueryParam(const std::string& url, const std::string& key) {
  size_t q = url.find('?');
  if (q == std::string::npos) return "";
  std::string query = url.substr(q + 1);
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string pair = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return "";
}

class FakeDiscovery {
 public:
  explicit FakeDiscovery(FakeHttp& http) {
    http.Route("GET", std::string(kDiscovery) + "/find", [this](const http_client::Request& r) {
      std::string tag = QueryParam(r.url, "tag");
      std::string name = QueryParam(r.url, "name");
      json::Array out;
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& s : services_) {
        bool has_tag = tag.empty();
        for (const auto& t : s.tags) has_tag = has_tag || t == tag;
        if (!has_tag || (!name.empty() && s.name != name)) continue;
        json::Array tags;
        for (const auto& t : s.tags) tags.emplace_back(t);
        out.push_back(json::Object{{"registryID", s.name + "-id"}, {"serviceName", s.name}, {"serviceURL", s.url},
                                   {"tags", tags}, {"status", s.status}});
      }
      return Result<http_client::Response>(JsonReply(200, json::Value(out)));
    });
  }
  void Add(FakeService s) {
    std::lock_guard<std::mutex> lock(mu_);
    services_.push_back(std::move(s));
  }
  void Remove(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    services_.erase(std::remove_if(services_.begin(), services_.end(), [&](const FakeService& s) { return s.name == name; }),
                    services_.end());
  }

 private:
  std::mutex mu_;
  std::vector<FakeService> services_;
};

// An engine-like service: /forms (execute, repeat, revert), and scripted /execute, /repeat,
// /revert. By default every call answers 200 {"result": {"echo": <body>}} and reverts answer
// {"status":"reverted"}.
class FakeEngine {
 public:
  using Script = std::function<Result<http_client::Response>(const json::Value& body, const std::string& endpoint)>;

  FakeEngine(FakeHttp& http, std::string url) : url_(std::move(url)) {
    http.Route("GET", url_ + "/forms", [this](const http_client::Request&) {
      json::Array forms;
      for (const char* rel : {"ping", "execute", "repeat", "revert"}) {
        forms.push_back(json::Object{{"rel", rel}, {"method", "POST"}, {"href", url_ + "/" + rel}});
      }
      return Result<http_client::Response>(JsonReply(200, json::Value(forms)));
    });
    for (const char* ep : {"execute", "repeat", "revert"}) {
      std::string endpoint = ep;
      http.Route("POST", url_ + "/" + endpoint, [this, endpoint](const http_client::Request& r) {
        auto body = json::Parse(r.body);
        json::Value b = body ? *body : json::Value();
        Script s;
        {
          std::lock_guard<std::mutex> lock(mu_);
          seen_.push_back({endpoint, b});
          s = script_;
        }
        if (s) return s(b, endpoint);
        if (endpoint == "revert") {
          return Result<http_client::Response>(JsonReply(200, json::Object{{"status", "reverted"}}));
        }
        return Result<http_client::Response>(JsonReply(200, json::Object{{"result", json::Object{{"echo", b}}}}));
      });
    }
  }
  void SetScript(Script s) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(s);
  }
  struct Seen {
    std::string endpoint;
    json::Value body;
  };
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::vector<Seen> seen(const std::string& endpoint) const {
    std::vector<Seen> out;
    for (auto& s : seen()) {
      if (s.endpoint == endpoint) out.push_back(s);
    }
    return out;
  }
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  mutable std::mutex mu_;
  Script script_;
  std::vector<Seen> seen_;
};

// One shared-state document at `url` with GET (ETag), PATCH merge / json-patch with If-Match.
class FakeState {
 public:
  FakeState(FakeHttp& http, std::string url, json::Value content = json::Object{}) : content_(std::move(content)) {
    http.Route("GET", url, [this](const http_client::Request&) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!exists_) return Result<http_client::Response>(JsonReply(404, json::Object{{"error", "not found"}}));
      auto r = JsonReply(200, content_);
      r.headers.emplace_back("ETag", "\"" + std::to_string(version_) + "\"");
      return Result<http_client::Response>(r);
    });
    http.Route("PATCH", url, [this](const http_client::Request& req) {
      PatchGate gate;
      int n = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        gate = gate_;
        n = ++gated_;
      }
      if (gate) {
        if (auto answer = gate(n, req)) return Result<http_client::Response>(*answer);
      }
      std::lock_guard<std::mutex> lock(mu_);
      ++patches_;
      auto body = json::Parse(req.body);
      bool is_patch = body && body->IsArray();
      if (is_patch && fail_next_with_412_ > 0) {
        --fail_next_with_412_;
        ++version_;  // someone else wrote
        return Result<http_client::Response>(JsonReply(412, json::Object{{"error", "version changed"}}));
      }
      if (is_patch) {
        for (auto& [k, v] : req.headers) {
          if (k == "If-Match" && v != "\"" + std::to_string(version_) + "\"") {
            return Result<http_client::Response>(JsonReply(412, json::Object{{"error", "stale"}}));
          }
        }
        if (!exists_) return Result<http_client::Response>(JsonReply(404, json::Object{{"error", "not found"}}));
        json::Value copy = content_;
        if (auto s = json::ApplyPatch(copy, *body); !s) {
          return Result<http_client::Response>(JsonReply(400, json::Object{{"error", s.error().message}}));
        }
        content_ = copy;
        ++json_patches_;
      } else {
        exists_ = true;
        const json::Value* value = body->Find("value");
        if (value != nullptr && value->IsObject()) {
          for (auto& [k, v] : value->AsObject()) content_.Set(k, v);
        }
      }
      ++version_;
      // As shared-state answers: the document as this write left it.
      auto r = JsonReply(200, json::Object{{"status", is_patch ? "patched" : "merged"},
                                           {"state", json::Object{{"content", content_}, {"version", version_}}}});
      r.headers.emplace_back("ETag", "\"" + std::to_string(version_) + "\"");
      return Result<http_client::Response>(r);
    });
  }
  json::Value content() const {
    std::lock_guard<std::mutex> lock(mu_);
    return content_;
  }
  int json_patches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return json_patches_;
  }
  // Replaces the content (a write by someone else: the version changes).
  void SetContent(json::Value content) {
    std::lock_guard<std::mutex> lock(mu_);
    content_ = std::move(content);
    ++version_;
  }
  void FailNextWith412(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_with_412_ = n;
  }
  void SetMissing() {
    std::lock_guard<std::mutex> lock(mu_);
    exists_ = false;
  }
  // Runs before each PATCH (numbered from 1), outside the document's lock: it may hold the PATCH,
  // or answer it instead by returning a reply.
  using PatchGate = std::function<std::optional<http_client::Response>(int n, const http_client::Request&)>;
  void SetPatchGate(PatchGate gate) {
    std::lock_guard<std::mutex> lock(mu_);
    gate_ = std::move(gate);
  }

 private:
  PatchGate gate_;
  int gated_ = 0;
  mutable std::mutex mu_;
  json::Value content_;
  bool exists_ = true;
  int version_ = 1;
  int patches_ = 0;
  int json_patches_ = 0;
  int fail_next_with_412_ = 0;
};

}  // namespace csp::job_control::testing
