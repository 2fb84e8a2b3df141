#pragma once
// Typed client of the discovery service (spec/10-discovery.md), used by every other component:
// lookups, and a Registrar that keeps a service registered for as long as it runs.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "csp/core/result.h"
#include "csp/http_client/client.h"
#include "csp/json/value.h"

namespace csp::clients {

struct ServiceEntry {
  std::string registry_id;
  std::string service_name;
  std::string service_url;
  std::vector<std::string> tags;
  std::string semantic_profile;
  std::vector<std::string> media_types;
  std::string ping_url;
  std::string status;  // "passing", "critical", or "" from an original discovery
};

struct FindQuery {
  std::string tag, name, profile, media_type;
  bool healthy_only = false;
};

class DiscoveryClient {
 public:
  DiscoveryClient(std::string discovery_url, http_client::Client& client);
  // GET /find with the query's non-empty fields. Errors: kUnavailable (discovery down or not 200).
  Result<std::vector<ServiceEntry>> Find(const FindQuery& query) const;
  // The URL of the first (healthiest) instance registered under serviceName `name`.
  // Errors: kNotFound "no service named X is registered in discovery", kUnavailable.
  Result<std::string> UrlOf(const std::string& name) const;
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  http_client::Client& client_;
};

struct Registration {
  std::string service_name;
  std::string service_url;
  std::vector<std::string> tags;
  std::string semantic_profile;
  std::vector<std::string> media_types{"application/json"};
  std::string ping_url;  // default <service_url>/ping
  int ttl_seconds = 0;
  json::Object metadata;
};

// Keeps a registration alive (spec/00-platform.md "Self-registration"): registers with backoff
// (never giving up while running), renews every `renew_interval`, registers again when a renewal
// gets 404 (discovery lost its registry), and unregisters on Stop(). Runs on its own thread; the
// service works while discovery is down.
class Registrar {
 public:
  Registrar(std::string discovery_url, Registration registration, http_client::Client& client,
            std::chrono::milliseconds renew_interval = std::chrono::seconds(10));
  ~Registrar();  // Stop()
  void Start();
  // Unregisters (bounded by ~2 s) and joins the thread. Idempotent.
  void Stop();
  bool registered() const;
  std::string registry_id() const;

 private:
  void Run();
  bool Register();
  // true: renewed; false: must register again (404 or error)
  bool Renew();

  std::string discovery_url_;
  Registration registration_;
  http_client::Client& client_;
  std::chrono::milliseconds renew_interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string registry_id_;
  int failures_ = 0;  // consecutive failed calls, for log throttling; registrar thread only
  std::thread thread_;
};

}  // namespace csp::clients
