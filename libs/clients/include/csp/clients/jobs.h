#pragma once
// Typed client of job-control (spec/40-job-control.md), for job-runner and tests: submit a job,
// follow its event log, read, list, cancel and delete jobs. Job records are returned as JSON
// (their shape is documented in services/job-control/README.md).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "csp/core/result.h"
#include "csp/http_client/client.h"
#include "csp/json/value.h"

namespace csp::clients {

struct SubmitReply {
  int http_status = 0;   // 202 (new job), 200 (an Idempotency-Key named an earlier job)
  std::string job_id;
  std::string status;    // "queued", or the earlier job's current status
  std::string href;
};

// The reply of the synchronous POST /run-job: 200 completed, 500 failed (with error), or a
// 4xx/5xx before any job was run (problems lists validation problems).
struct RunReply {
  int http_status = 0;
  std::string job_id;    // "" when no job was started
  json::Value body;      // the whole reply
};

class JobsClient {
 public:
  // base_url: job-control's URL ("http://127.0.0.1:4700"), without trailing '/'.
  JobsClient(std::string base_url, http_client::Client& client,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // POST /jobs. Errors: kInvalidArgument (400; the message lists every problem), kOverloaded
  // (503 overloaded), kUnavailable (transport), others mapped from the status.
  Result<SubmitReply> Submit(const json::Value& job, const std::string& idempotency_key = "");

  // POST /run-job and wait for the job to end (the timeout is `wait`). Transport errors only;
  // the status says how the job ended.
  Result<RunReply> RunSync(const json::Value& job, std::chrono::milliseconds wait);

  // GET /jobs/:id (detailed record). Errors: kNotFound.
  Result<json::Value> Get(const std::string& job_id);

  // GET /jobs[?status=][&limit=]: the array of job summaries.
  Result<json::Value> List(const std::string& status = "", int64_t limit = 0);

  // GET /jobs/:id/events?after=N[&wait=]: events with seq > after, oldest first. With a wait,
  // job-control holds the request until there is something new (or the job has ended).
  Result<std::vector<json::Value>> Events(const std::string& job_id, int64_t after,
                                          std::optional<std::chrono::milliseconds> wait = std::nullopt);

  // POST /jobs/:id/cancel; returns the reply body. Errors: kNotFound, kConflict (already ended).
  Result<json::Value> Cancel(const std::string& job_id);

  // DELETE /jobs/:id. Errors: kNotFound, kConflict (not finished).
  Status Delete(const std::string& job_id);

  const std::string& url() const { return base_url_; }

 private:
  http_client::Request Make(std::string method, const std::string& path) const;

  std::string base_url_;
  http_client::Client& client_;
  std::chrono::milliseconds timeout_;
};

}  // namespace csp::clients
