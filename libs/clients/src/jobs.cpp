#include "csp/clients/jobs.h"

#include "csp/clients/state.h"
#include "csp/json/json.h"

namespace csp::clients {

namespace {

std::string StringMember(const json::Value& v, std::string_view key) {
  const json::Value* m = v.Find(key);
  return m != nullptr && m->IsString() ? m->AsString() : std::string();
}

// Like ErrorFromServiceReply, but 503 "overloaded" keeps its own code, and a 400 lists problems.
Error JobsError(const std::string& method, const std::string& url, const http_client::Response& reply) {
  Error e = ErrorFromServiceReply(method, url, reply);
  auto body = reply.Json();
  if (!body) return e;
  if (StringMember(*body, "code") == "overloaded") e.code = ErrorCode::kOverloaded;
  if (const json::Value* problems = body->Find("problems"); problems != nullptr && problems->IsArray()) {
    for (const auto& p : problems->AsArray()) {
      if (p.IsString()) e.message += "\n  " + p.AsString();
    }
  }
  return e;
}

}  // namespace

JobsClient::JobsClient(std::string base_url, http_client::Client& client, std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)), client_(client), timeout_(timeout) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

http_client::Request JobsClient::Make(std::string method, const std::string& path) const {
  http_client::Request r;
  r.method = std::move(method);
  r.url = base_url_ + path;
  r.timeout = timeout_;
  return r;
}

Result<SubmitReply> JobsClient::Submit(const json::Value& job, const std::string& idempotency_key) {
  auto req = Make("POST", "/jobs");
  req.body = json::Dump(job);
  if (!idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", idempotency_key);
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  if (!reply->ok()) return JobsError("POST", req.url, *reply);
  auto body = reply->Json();
  if (!body) return Error(ErrorCode::kBadGateway, "POST " + req.url + ": the reply is not JSON");
  SubmitReply out;
  out.http_status = reply->status;
  out.job_id = StringMember(*body, "jobId");
  out.status = StringMember(*body, "status");
  out.href = StringMember(*body, "href");
  return out;
}

Result<RunReply> JobsClient::RunSync(const json::Value& job, std::chrono::milliseconds wait) {
  auto req = Make("POST", "/run-job");
  req.body = json::Dump(job);
  req.timeout = wait;
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  RunReply out;
  out.http_status = reply->status;
  auto body = reply->Json();
  if (body) {
    out.job_id = StringMember(*body, "jobId");
    out.body = std::move(*body);
  }
  return out;
}

Result<json::Value> JobsClient::Get(const std::string& job_id) {
  auto req = Make("GET", "/jobs/" + job_id);
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  if (!reply->ok()) return JobsError("GET", req.url, *reply);
  return reply->Json();
}

Result<json::Value> JobsClient::List(const std::string& status, int64_t limit) {
  std::string path = "/jobs";
  std::string sep = "?";
  if (!status.empty()) {
    path += sep + "status=" + status;
    sep = "&";
  }
  if (limit > 0) path += sep + "limit=" + std::to_string(limit);
  auto req = Make("GET", path);
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  if (!reply->ok()) return JobsError("GET", req.url, *reply);
  return reply->Json();
}

Result<std::vector<json::Value>> JobsClient::Events(const std::string& job_id, int64_t after,
                                                    std::optional<std::chrono::milliseconds> wait) {
  std::string path = "/jobs/" + job_id + "/events?after=" + std::to_string(after);
  auto req = Make("GET", path);
  if (wait) {
    req.url += "&wait=" + std::to_string(wait->count()) + "ms";
    req.timeout = *wait + timeout_;
  }
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  if (!reply->ok()) return JobsError("GET", req.url, *reply);
  auto body = reply->Json();
  if (!body || !body->IsArray()) return Error(ErrorCode::kBadGateway, "GET " + req.url + ": expected an array");
  return std::move(body->AsArray());
}

Result<json::Value> JobsClient::Cancel(const std::string& job_id) {
  auto req = Make("POST", "/jobs/" + job_id + "/cancel");
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  if (!reply->ok()) return JobsError("POST", req.url, *reply);
  return reply->Json();
}

Status JobsClient::Delete(const std::string& job_id) {
  auto req = Make("DELETE", "/jobs/" + job_id);
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  if (!reply->ok()) return JobsError("DELETE", req.url, *reply);
  return Ok();
}

}  // namespace csp::clients
