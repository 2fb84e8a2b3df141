// Every call is tolerant of small shape differences between our services and the original
// ones (a bare array or {"events": [...]}; "jobId" or "id"), because the CLI is the part a user
// points at whatever platform they have.

#include "api.h"

#include <chrono>
#include <thread>

#include "csp/core/id.h"
#include "csp/core/time.h"
#include "csp/json/json.h"

namespace csp::job_runner {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kCallTimeout{15'000};

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The service's own words: {"error": "..."} (or {"error": {"error": ...}}), else the body's start.
std::string ServerMessage(const http_client::Response& response) {
  auto body = response.Json();
  if (body) {
    const json::Value* error = body->Find("error");
    if (error != nullptr && error->IsString()) return error->AsString();
    if (error != nullptr && error->IsObject()) {
      const json::Value* inner = error->Find("error");
      if (inner != nullptr && inner->IsString()) return inner->AsString();
    }
    const json::Value* message = body->Find("message");
    if (message != nullptr && message->IsString()) return message->AsString();
  }
  std::string text = response.body.substr(0, 200);
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

ErrorCode CodeForStatus(int status, const http_client::Response& response) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kAlreadyExists;
    case 412:
      return ErrorCode::kFailedPrecondition;
    case 413:
      return ErrorCode::kTooLarge;
    case 500:
      return ErrorCode::kInternal;
    case 502:
      return ErrorCode::kBadGateway;
    case 503:
      return response.body.find("overloaded") != std::string::npos ? ErrorCode::kOverloaded
                                                                   : ErrorCode::kUnavailable;
    case 504:
      return ErrorCode::kDeadlineExceeded;
    default:
      return status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInvalidArgument;
  }
}

// Problems job-control listed for an invalid job: {"error": "...", "problems": [...]} or similar.
std::string ProblemList(const http_client::Response& response) {
  auto body = response.Json();
  if (!body) return "";
  for (const char* key : {"problems", "details", "errors"}) {
    const json::Value* list = body->Find(key);
    if (list == nullptr || !list->IsArray()) continue;
    std::string out;
    for (const auto& p : list->AsArray()) out += "\n  " + (p.IsString() ? p.AsString() : json::Dump(p));
    return out;
  }
  return "";
}

bool IsRetryable(const Error& e) {
  return e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kDeadlineExceeded ||
         e.code == ErrorCode::kOverloaded || e.code == ErrorCode::kBadGateway;
}

std::string FirstString(const json::Value& v, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    const json::Value* found = v.Find(key);
    if (found != nullptr && found->IsString()) return found->AsString();
  }
  return "";
}

}  // namespace

Error HttpError(const std::string& what, const http_client::Response& response) {
  std::string message = what + ": " + std::to_string(response.status);
  std::string server = ServerMessage(response);
  if (!server.empty()) message += " " + server;
  return Error(CodeForStatus(response.status, response), message);
}

std::string StateIdFromUrl(const std::string& doc_url) {
  const std::string marker = "/state/";
  auto at = doc_url.rfind(marker);
  if (at == std::string::npos) return "";
  std::string id = doc_url.substr(at + marker.size());
  auto end = id.find_first_of("?#/");
  return end == std::string::npos ? id : id.substr(0, end);
}

Api::Api(const Options& options, http_client::Client& http, std::ostream* verbose)
    : options_(options), http_(http), verbose_(verbose) {}

Result<http_client::Response> Api::Send(http_client::Request request) {
  const auto start = std::chrono::steady_clock::now();
  auto response = http_.Send(request);
  if (verbose_ == nullptr) return response;
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  *verbose_ << "[verbose] " << request.method << " " << request.url << " -> ";
  if (response) {
    *verbose_ << response->status;
  } else {
    *verbose_ << response.error().message;
  }
  *verbose_ << " in " << FormatDuration(took) << "\n";
  return response;
}

Result<std::string> Api::Resolve(const std::string& service_name, const std::string& configured,
                                 const std::string& flag, std::optional<std::string>& cache, std::string& source) {
  if (cache) return *cache;
  if (!configured.empty()) {
    cache = configured;
    source = flag;
    return *cache;
  }
  auto entries = FindByName(service_name);
  if (!entries) return entries.error();
  for (const auto& entry : entries->AsArray()) {
    std::string url = FirstString(entry, {"serviceURL", "url"});
    if (url.empty()) continue;
    while (!url.empty() && url.back() == '/') url.pop_back();
    cache = url;
    source = "discovery";
    return *cache;
  }
  return Unavailable(service_name + " is not registered in discovery at " + options_.discovery_url +
                     " (start the platform: scripts/start-all.sh, or pass " + flag + ")");
}

Result<std::string> Api::JobControlUrl() {
  return Resolve("job-control", options_.job_url, "--job-url", job_url_, job_source_);
}

Result<std::string> Api::SharedStateUrl() {
  return Resolve("shared-state", options_.state_url, "--state-url", state_url_, state_source_);
}

std::string Api::JobControlSource() const { return job_source_; }
std::string Api::SharedStateSource() const { return state_source_; }

Result<json::Value> Api::AllEntries() {
  http_client::Request request;
  request.url = options_.discovery_url + "/find";
  request.timeout = kCallTimeout;
  auto response = Send(request);
  if (!response) return Unavailable("cannot reach discovery at " + options_.discovery_url + ": " + response.error().message);
  if (!response->ok()) return HttpError("discovery GET /find", *response);
  auto body = response->Json();
  if (!body || !body->IsArray()) return Error(ErrorCode::kBadGateway, "discovery GET /find: expected a JSON array");
  return body;
}

Result<json::Value> Api::FindByName(const std::string& service_name) {
  http_client::Request request;
  request.url = options_.discovery_url + "/find?name=" + UrlEncode(service_name);
  request.timeout = kCallTimeout;
  auto response = Send(request);
  if (!response) return Unavailable("cannot reach discovery at " + options_.discovery_url + ": " + response.error().message);
  if (!response->ok()) return HttpError("discovery GET /find", *response);
  auto body = response->Json();
  if (!body || !body->IsArray()) return Error(ErrorCode::kBadGateway, "discovery GET /find: expected a JSON array");
  // An original discovery ignores ?name= and lists everything: filter here, passing ones first.
  json::Value passing = json::Value::MakeArray();
  json::Value others = json::Value::MakeArray();
  for (const auto& entry : body->AsArray()) {
    if (FirstString(entry, {"serviceName"}) != service_name) continue;
    const std::string status = FirstString(entry, {"status"});
    (status.empty() || status == "passing" ? passing : others).PushBack(entry);
  }
  for (auto& e : others.AsArray()) passing.PushBack(std::move(e));
  return passing;
}

Result<json::Value> Api::FindByTag(const std::string& tag) {
  http_client::Request request;
  request.url = options_.discovery_url + "/find?tag=" + UrlEncode(tag);
  request.timeout = kCallTimeout;
  auto response = Send(request);
  if (!response) return Unavailable("cannot reach discovery at " + options_.discovery_url + ": " + response.error().message);
  if (!response->ok()) return HttpError("discovery GET /find", *response);
  auto body = response->Json();
  if (!body || !body->IsArray()) return Error(ErrorCode::kBadGateway, "discovery GET /find: expected a JSON array");
  return body;
}

Result<std::optional<json::Value>> Api::GetDocument(const std::string& doc_url) {
  http_client::Request request;
  request.url = doc_url;
  request.timeout = kCallTimeout;
  auto response = Send(request);
  if (!response) return Unavailable("cannot reach shared-state: " + response.error().message);
  if (response->status == 404) return std::optional<json::Value>();
  if (!response->ok()) return HttpError("GET " + doc_url, *response);
  auto body = response->Json();
  if (!body) return Error(ErrorCode::kBadGateway, "GET " + doc_url + ": not JSON: " + body.error().message);
  return std::optional<json::Value>(std::move(*body));
}

Status Api::CreateDocument(const std::string& base, const std::string& id, const json::Value& content) {
  json::Value body = json::Value::MakeObject();
  body.Set("id", id);
  if (content.IsObject()) {
    for (const auto& [key, value] : content.AsObject()) {
      if (key != "id") body.Set(key, value);
    }
  }
  http_client::Request request;
  request.method = "POST";
  request.url = base + "/state";
  request.body = json::Dump(body);
  request.timeout = kCallTimeout;
  auto response = Send(request);
  if (!response) return Unavailable("cannot reach shared-state: " + response.error().message);
  if (response->status == 409) {
    return AlreadyExists("Shared state with id '" + id + "' already exists. Use --overwrite to replace it.");
  }
  if (!response->ok()) return HttpError("POST " + request.url, *response);
  return Ok();
}

Status Api::ReplaceDocument(const std::string& base, const std::string& id, const json::Value& content) {
  http_client::Request request;
  request.method = "PUT";
  request.url = base + "/state/" + id;
  request.body = json::Dump(content);
  request.timeout = kCallTimeout;
  auto response = Send(request);
  if (!response) return Unavailable("cannot reach shared-state: " + response.error().message);
  if (response->ok()) return Ok();
  if (response->status != 404 && response->status != 405) return HttpError("PUT " + request.url, *response);
  // An original shared-state has no PUT (and its POST /state/:id merges): delete, then create.
  if (auto s = DeleteDocument(request.url); !s) return s;
  return CreateDocument(base, id, content);
}

Status Api::DeleteDocument(const std::string& doc_url) {
  http_client::Request request;
  request.method = "DELETE";
  request.url = doc_url;
  request.timeout = kCallTimeout;
  auto response = Send(request);
  if (!response) return Unavailable("cannot reach shared-state: " + response.error().message);
  if (!response->ok() && response->status != 404) return HttpError("DELETE " + doc_url, *response);
  return Ok();
}

Result<Api::Submitted> Api::SubmitJob(const json::Value& job, milliseconds sync_timeout) {
  auto base = JobControlUrl();
  if (!base) return base.error();
  http_client::Request request;
  request.method = "POST";
  request.url = *base + "/jobs";
  request.body = json::Dump(job);
  request.headers.emplace_back("Idempotency-Key", NewTimeOrderedUuid());
  request.timeout = kCallTimeout;

  Result<http_client::Response> response = Unavailable("not sent");
  milliseconds backoff{250};
  for (int attempt = 1; attempt <= 4; ++attempt) {
    response = Send(request);
    Error error = response ? HttpError("job-control POST /jobs", *response)
                           : Error(response.error().code, "cannot reach job-control at " + *base + ": " +
                                                              response.error().message);
    if (response && response->ok()) break;
    if (attempt == 4 || !IsRetryable(error)) break;
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  if (!response) {
    return Error(response.error().code, "cannot reach job-control at " + *base + ": " + response.error().message);
  }
  if (response->status == 404 || response->status == 405) {
    // The original job-control: only the synchronous POST /run-job.
    request.url = *base + "/run-job";
    request.headers.clear();
    request.timeout = sync_timeout.count() > 0 ? sync_timeout : milliseconds(std::chrono::hours(24));
    response = Send(request);
    if (!response) return Error(response.error().code, "cannot reach job-control at " + *base + ": " + response.error().message);
    auto body = response->Json();
    if (!body || body->Find("jobId") == nullptr) return HttpError("job-control POST /run-job", *response);
    Submitted s{FirstString(*body, {"jobId"}), response->ok() ? "completed" : "failed", true, std::move(*body)};
    return s;
  }
  if (!response->ok()) {
    Error e = HttpError("job-control rejected the job", *response);
    e.message += ProblemList(*response);
    return e;
  }
  auto body = response->Json();
  if (!body) return Error(ErrorCode::kBadGateway, "job-control POST /jobs: reply is not JSON");
  Submitted s{FirstString(*body, {"jobId", "id"}), FirstString(*body, {"status"}), false, std::move(*body)};
  if (s.id.empty()) return Error(ErrorCode::kBadGateway, "job-control POST /jobs: reply has no jobId");
  return s;
}

Result<json::Value> Api::GetJob(const std::string& id) {
  auto base = JobControlUrl();
  if (!base) return base.error();
  http_client::Request request;
  request.url = *base + "/jobs/" + UrlEncode(id);
  request.timeout = kCallTimeout;
  auto response = Send(request);
  if (!response) return Error(response.error().code, "cannot reach job-control at " + *base + ": " + response.error().message);
  if (response->status == 404) return NotFound("job " + id + " not found");
  if (!response->ok()) return HttpError("job-control GET /jobs/" + id, *response);
  auto body = response->Json();
  if (!body || !body->IsObject()) return Error(ErrorCode::kBadGateway, "job-control GET /jobs/" + id + ": not a JSON object");
  return body;
}

Result<std::optional<json::Array>> Api::Events(const std::string& id, int64_t after, milliseconds wait) {
  auto base = JobControlUrl();
  if (!base) return base.error();
  http_client::Request request;
  request.url = *base + "/jobs/" + UrlEncode(id) + "/events?after=" + std::to_string(after);
  if (wait.count() > 0) request.url += "&wait=" + std::to_string(wait.count()) + "ms";
  request.timeout = wait + kCallTimeout;
  auto response = Send(request);
  if (!response) return Error(response.error().code, "cannot reach job-control at " + *base + ": " + response.error().message);
  if (response->status == 404 || response->status == 405) {
    // Either the job is unknown or job-control has no events route: GetJob tells which.
    auto job = GetJob(id);
    if (!job) return job.error();
    return std::optional<json::Array>();
  }
  if (response->status == 304 || response->status == 204) return std::optional<json::Array>(json::Array{});
  if (!response->ok()) return HttpError("job-control GET /jobs/" + id + "/events", *response);
  auto body = response->Json();
  if (!body) return Error(ErrorCode::kBadGateway, "job-control events: reply is not JSON");
  if (body->IsArray()) return std::optional<json::Array>(body->AsArray());
  const json::Value* events = body->Find("events");
  if (events != nullptr && events->IsArray()) return std::optional<json::Array>(events->AsArray());
  return Error(ErrorCode::kBadGateway, "job-control events: expected a JSON array");
}

Result<json::Value> Api::ListJobs(const std::string& status) {
  auto base = JobControlUrl();
  if (!base) return base.error();
  http_client::Request request;
  request.url = *base + "/jobs";
  if (!status.empty()) request.url += "?status=" + UrlEncode(status);
  request.timeout = kCallTimeout;
  auto response = Send(request);
  if (!response) return Error(response.error().code, "cannot reach job-control at " + *base + ": " + response.error().message);
  if (!response->ok()) return HttpError("job-control GET /jobs", *response);
  auto body = response->Json();
  if (!body) return Error(ErrorCode::kBadGateway, "job-control GET /jobs: reply is not JSON");
  if (body->IsObject()) {
    const json::Value* jobs = body->Find("jobs");
    if (jobs != nullptr && jobs->IsArray()) return json::Value(jobs->AsArray());
  }
  if (!body->IsArray()) return Error(ErrorCode::kBadGateway, "job-control GET /jobs: expected a JSON array");
  if (status.empty()) return body;
  // An original job-control ignores ?status=: filter here too.
  json::Value filtered = json::Value::MakeArray();
  for (const auto& job : body->AsArray()) {
    if (FirstString(job, {"status"}) == status) filtered.PushBack(job);
  }
  return filtered;
}

Result<json::Value> Api::CancelJob(const std::string& id) {
  auto base = JobControlUrl();
  if (!base) return base.error();
  http_client::Request request;
  request.method = "POST";
  request.url = *base + "/jobs/" + UrlEncode(id) + "/cancel";
  request.body = "{}";
  request.timeout = kCallTimeout;
  auto response = Send(request);
  if (!response) return Error(response.error().code, "cannot reach job-control at " + *base + ": " + response.error().message);
  if (response->status == 404) return NotFound("job " + id + " not found");
  if (!response->ok()) return HttpError("job-control POST /jobs/" + id + "/cancel", *response);
  auto body = response->Json();
  return body ? std::move(*body) : json::Value::MakeObject();
}

}  // namespace csp::job_runner
