#include "csp/clients/state.h"

#include "csp/json/json.h"

namespace csp::clients {

namespace {

ErrorCode CodeForStatus(int status) {
  switch (status) {
    case 400: return ErrorCode::kInvalidArgument;
    case 401: return ErrorCode::kUnauthenticated;
    case 403: return ErrorCode::kPermissionDenied;
    case 404: return ErrorCode::kNotFound;
    case 409: return ErrorCode::kConflict;
    case 412: return ErrorCode::kFailedPrecondition;
    case 413: return ErrorCode::kTooLarge;
    case 503: return ErrorCode::kUnavailable;
    case 504: return ErrorCode::kDeadlineExceeded;
    default: return ErrorCode::kBadGateway;
  }
}

// The content in a write's reply ({"state": {"content": …}}), or null when it has none.
json::Value WrittenContent(const http_client::Response& reply) {
  auto body = reply.Json();
  if (!body || !body->IsObject()) return json::Value();
  json::Value* state = body->Find("state");
  json::Value* content = state != nullptr && state->IsObject() ? state->Find("content") : nullptr;
  if (content == nullptr || !content->IsObject()) return json::Value();
  return std::move(*content);
}

}  // namespace

Error ErrorFromServiceReply(const std::string& method, const std::string& url, const http_client::Response& reply) {
  std::string message = method + " " + url + ": " + std::to_string(reply.status);
  if (auto body = reply.Json(); body && body->IsObject()) {
    if (const json::Value* e = body->Find("error"); e != nullptr && e->IsString()) message += " " + e->AsString();
  }
  return Error(CodeForStatus(reply.status), std::move(message));
}

StateClient::StateClient(http_client::Client& client, std::chrono::milliseconds timeout)
    : client_(client), timeout_(timeout) {}

http_client::Request StateClient::Make(std::string method, const std::string& url) const {
  http_client::Request r;
  r.method = std::move(method);
  r.url = url;
  r.timeout = timeout_;
  r.request_id = request_id_;
  return r;
}

Result<std::string> StateClient::Create(const std::string& base_url, const std::string& id, const json::Value& content) {
  json::Value body = json::Object{};
  if (!id.empty()) body.Set("id", id);
  if (content.IsObject()) {
    for (const auto& [k, v] : content.AsObject()) {
      if (k != "id") body.Set(k, v);
    }
  }
  std::string url = base_url + "/state";
  auto req = Make("POST", url);
  req.body = json::Dump(body);
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  if (reply->status == 409) return Error(ErrorCode::kAlreadyExists, ErrorFromServiceReply("POST", url, *reply).message);
  if (!reply->ok()) return ErrorFromServiceReply("POST", url, *reply);
  auto parsed = reply->Json();
  if (parsed) {
    if (const json::Value* s = parsed->Find("stateURL"); s != nullptr && s->IsString()) return s->AsString();
  }
  if (!id.empty()) return url + "/" + id;
  return Error(ErrorCode::kBadGateway, "POST " + url + ": the reply has no stateURL");
}

Result<StateDocument> StateClient::Get(const std::string& state_url) {
  auto reply = client_.Send(Make("GET", state_url));
  if (!reply) return reply.error();
  if (!reply->ok()) return ErrorFromServiceReply("GET", state_url, *reply);
  auto parsed = reply->Json();
  if (!parsed) return Error(ErrorCode::kBadGateway, "GET " + state_url + ": the reply is not JSON");
  StateDocument doc;
  doc.content = std::move(*parsed);
  if (auto etag = reply->Header("ETag")) doc.etag = std::string(*etag);
  return doc;
}

Status StateClient::Merge(const std::string& state_url, const json::Value& value, json::Value* document) {
  auto req = Make("PATCH", state_url);
  req.body = json::Dump(json::Object{{"op", "merge"}, {"value", value}});
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  if (!reply->ok()) return ErrorFromServiceReply("PATCH", state_url, *reply);
  if (document != nullptr) *document = WrittenContent(*reply);
  return Ok();
}

Status StateClient::Add(const std::string& state_url, const std::string& path, const json::Value& value) {
  auto req = Make("PATCH", state_url);
  req.body = json::Dump(json::Object{{"op", "add"}, {"path", path}, {"value", value}});
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  if (!reply->ok()) return ErrorFromServiceReply("PATCH", state_url, *reply);
  return Ok();
}

Result<std::string> StateClient::ApplyPatch(const std::string& state_url, const json::Value& patch,
                                            const std::string& if_match, json::Value* document) {
  auto req = Make("PATCH", state_url);
  req.body = json::Dump(patch);
  // shared-state takes an array body as RFC 6902 whatever the media type. The media type is not
  // named because Pistache 0.0.5 cannot parse "application/json-patch+json" and answers 415
  // before the service sees the request.
  if (!if_match.empty()) req.headers.emplace_back("If-Match", if_match);
  auto reply = client_.Send(req);
  if (!reply) return reply.error();
  if (!reply->ok()) return ErrorFromServiceReply("PATCH", state_url, *reply);
  if (document != nullptr) *document = WrittenContent(*reply);
  auto etag = reply->Header("ETag");
  return etag ? std::string(*etag) : std::string();
}

Status StateClient::Delete(const std::string& state_url) {
  auto reply = client_.Send(Make("DELETE", state_url));
  if (!reply) return reply.error();
  if (!reply->ok() && reply->status != 404) return ErrorFromServiceReply("DELETE", state_url, *reply);
  return Ok();
}

}  // namespace csp::clients
