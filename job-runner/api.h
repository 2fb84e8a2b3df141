#pragma once
// The platform as job-runner sees it: discovery lookups, shared-state documents and job-control
// jobs, over csp::http_client. Small on purpose: the CLI needs a dozen calls, and keeping them
// here (instead of libs/clients) lets it speak to the original Node.js services too (no
// /jobs -> the synchronous /run-job; no PUT -> delete + create; no ?name= -> filter locally).
//
// Errors: transport failures are kUnavailable/kDeadlineExceeded naming the URL. An HTTP error
// reply becomes an Error whose message is "<what>: <status> <the service's error message>" and
// whose code follows the status: 404 kNotFound, 409 kAlreadyExists, 401 kUnauthenticated,
// 403 kPermissionDenied, other 4xx kInvalidArgument, 500 kInternal, 502 kBadGateway,
// 503 kUnavailable (or kOverloaded), 504 kDeadlineExceeded.

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

#include "csp/core/result.h"
#include "csp/http_client/client.h"
#include "csp/json/value.h"
#include "options.h"

namespace csp::job_runner {

// Builds the Error for a non-2xx reply (see above).
Error HttpError(const std::string& what, const http_client::Response& response);

class Api {
 public:
  // `verbose`: where "[verbose] GET url -> 200 in 3ms" lines go; nullptr for none.
  Api(const Options& options, http_client::Client& http, std::ostream* verbose);

  const std::string& discovery_url() const { return options_.discovery_url; }

  // Base URLs: --job-url / --state-url (or config, env) when set, else the first healthy instance
  // registered in discovery under serviceName "job-control" / "shared-state". Cached.
  // Errors: kUnavailable "cannot reach discovery at URL: ..." or "job-control is not registered
  // in discovery at URL (start the platform: scripts/start-all.sh, or pass --job-url)".
  Result<std::string> JobControlUrl();
  Result<std::string> SharedStateUrl();
  // Where the URL came from: "--job-url", "discovery", ... (after the call above succeeded).
  std::string JobControlSource() const;
  std::string SharedStateSource() const;

  // --- discovery
  // Entries (a JSON array) with that serviceName; healthy ("passing") ones first.
  Result<json::Value> FindByName(const std::string& service_name);
  // GET /find?tag=...
  Result<json::Value> FindByTag(const std::string& tag);
  // Every entry: GET /find.
  Result<json::Value> AllEntries();

  // --- shared-state; doc_url is "<shared-state>/state/<id>"
  // The content, or nullopt on 404.
  Result<std::optional<json::Value>> GetDocument(const std::string& doc_url);
  // POST <base>/state {"id": id, ...content}. kAlreadyExists on 409.
  Status CreateDocument(const std::string& base, const std::string& id, const json::Value& content);
  // PUT doc_url content (replace); with a service that has no PUT: DELETE, then create.
  Status ReplaceDocument(const std::string& base, const std::string& id, const json::Value& content);
  Status DeleteDocument(const std::string& doc_url);

  // --- job-control
  struct Submitted {
    std::string id;
    std::string status;
    bool synchronous = false;  // an original job-control: the job has already ended
    json::Value reply;
  };
  // POST /jobs (Idempotency-Key: a fresh UUID, the same on retries of transport failures and
  // 503s). A job-control without /jobs (404/405) gets the original's synchronous POST /run-job.
  // kInvalidArgument (400) carries every problem job-control listed.
  Result<Submitted> SubmitJob(const json::Value& job, std::chrono::milliseconds sync_timeout);
  Result<json::Value> GetJob(const std::string& id);
  // GET /jobs/:id/events?after=N&wait=W. nullopt when job-control has no events route.
  Result<std::optional<json::Array>> Events(const std::string& id, int64_t after, std::chrono::milliseconds wait);
  Result<json::Value> ListJobs(const std::string& status);
  Result<json::Value> CancelJob(const std::string& id);

  // One request with verbose logging; a transport error names `what`.
  Result<http_client::Response> Send(http_client::Request request);

 private:
  Result<std::string> Resolve(const std::string& service_name, const std::string& configured,
                              const std::string& flag, std::optional<std::string>& cache, std::string& source);

  const Options& options_;
  http_client::Client& http_;
  std::ostream* verbose_;
  std::optional<std::string> job_url_;
  std::optional<std::string> state_url_;
  std::string job_source_;
  std::string state_source_;
};

// "http://host/state/<id>" -> "<id>", or "" when the URL has no /state/ segment.
std::string StateIdFromUrl(const std::string& doc_url);

}  // namespace csp::job_runner
