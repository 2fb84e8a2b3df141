#pragma once
// Where a task's call goes: discovery lookups by tag or name, a service's forms, round-robin over
// instances, and the "only registered origins" rule (spec "Operations"). Lookups and forms are
// cached briefly (default 2 s) so a step of many tasks costs one lookup. The registered origins
// are a set filled from every lookup result (an entry discovery returned is registered), each
// origin expiring some time (default 30 s) after it was last seen; only an origin missing from it
// costs a fetch of the whole registry, at most one per cache_ttl.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "csp/clients/discovery.h"
#include "csp/core/clock.h"
#include "csp/core/result.h"
#include "csp/http_client/client.h"
#include "job_model.h"

namespace csp::job_control {

// Scheme, host and port of a URL; localhost, 127.0.0.1 and [::1] are one host; the port defaults
// to 80/443 by scheme. nullopt for anything that is not an absolute http(s) URL.
struct Origin {
  std::string scheme;
  std::string host;
  int port = 0;
  bool operator==(const Origin& o) const { return scheme == o.scheme && host == o.host && port == o.port; }
};
std::optional<Origin> ParseOrigin(std::string_view url);

struct Form {
  std::string rel;
  std::string method;
  std::string href;
};

struct DirectoryOptions {
  std::chrono::milliseconds cache_ttl{2000};
  std::chrono::milliseconds allowed_ttl{30'000};  // an origin seen in a lookup stays callable this long
  bool allow_unregistered_urls = false;
  std::chrono::milliseconds timeout{5000};  // discovery and /forms calls
};

class ServiceDirectory {
 public:
  ServiceDirectory(std::string discovery_url, http_client::Client& client, const Clock& clock,
                   DirectoryOptions options = {});

  // Base URLs of the instances that can serve the task, passing ones first: task.url itself
  // (checked against discovery unless unregistered URLs are allowed), or discovery's
  // /find?name= / ?tag=. Errors: kNotFound "No service found for tag X" (the original's message),
  // kUnavailable when discovery cannot be asked, kPermissionDenied for an unregistered url.
  Result<std::vector<std::string>> Instances(const TaskSpec& task);

  // A rotating start index for spreading calls of one selector over its instances.
  size_t NextIndex(const std::string& key);

  // GET <service_url>/forms (cached). Errors: kUnavailable / kBadGateway naming the URL.
  Result<std::vector<Form>> Forms(const std::string& service_url);
  // The href of the form with this rel, or nullopt; errors as Forms.
  Result<std::optional<std::string>> FormHref(const std::string& service_url, const std::string& rel);
  // Forgets cached forms and lookups (after a call to the service failed).
  void Forget(const std::string& service_url);

  // Ok when url's origin is that of a service registered in discovery, or when unregistered URLs
  // are allowed. Errors: kPermissionDenied naming the URL, kUnavailable when discovery is down.
  // Consults the origins seen in lookups first; on a miss, looks up shared-state by name (the
  // usual owner of a state URL), then fetches the whole registry unless that was done less than
  // cache_ttl ago.
  Status CheckAllowed(const std::string& url);

  // The base URL of the shared-state service (discovery serviceName "shared-state").
  Result<std::string> SharedStateUrl();

  const std::string& discovery_url() const { return discovery_.url(); }

 private:
  struct CachedEntries {
    std::chrono::steady_clock::time_point at;
    std::vector<clients::ServiceEntry> entries;
  };
  struct CachedForms {
    std::chrono::steady_clock::time_point at;
    std::vector<Form> forms;
  };
  Result<std::vector<clients::ServiceEntry>> Lookup(const clients::FindQuery& query, const std::string& key);
  bool Fresh(std::chrono::steady_clock::time_point at) const;
  // Marks the origins of these entries as registered now. Requires mu_.
  void NoteOriginsLocked(const std::vector<clients::ServiceEntry>& entries);
  bool OriginAllowed(const std::string& key);

  clients::DiscoveryClient discovery_;
  http_client::Client& client_;
  const Clock& clock_;
  DirectoryOptions options_;
  std::mutex mu_;
  std::map<std::string, CachedEntries> lookups_;
  std::map<std::string, CachedForms> forms_;
  std::map<std::string, size_t> round_robin_;
  std::map<std::string, std::chrono::steady_clock::time_point> origins_;  // origin key -> last seen
  std::mutex full_fetch_mu_;  // one whole-registry fetch at a time; the others wait for its result
  std::optional<std::chrono::steady_clock::time_point> full_fetch_at_;
};

}  // namespace csp::job_control
