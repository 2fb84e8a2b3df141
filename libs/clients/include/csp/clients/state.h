#pragma once
// Typed client of shared-state (spec/20-shared-state.md). Documents are addressed by their full
// URL ("http://127.0.0.1:4500/state/s1"), as jobs carry them in sharedStateURL.

#include <chrono>
#include <optional>
#include <string>

#include "csp/core/result.h"
#include "csp/http_client/client.h"
#include "csp/json/value.h"

namespace csp::clients {

struct StateDocument {
  json::Value content;   // the document's content (an object)
  std::string etag;      // the ETag header as sent ("\"7\""), "" when the server sends none
};

class StateClient {
 public:
  explicit StateClient(http_client::Client& client, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Every call may carry an X-Request-Id (e.g. the job id) for the service's logs.
  void set_request_id(std::string id) { request_id_ = std::move(id); }

  // POST <base>/state with {"id": id (when not empty), ...content}. Returns the stateURL the
  // service answers. Errors: kAlreadyExists (409) when the id is taken; kUnavailable (transport);
  // kBadGateway for another status, with the service's error message.
  Result<std::string> Create(const std::string& base_url, const std::string& id, const json::Value& content);

  // GET the document. Errors: kNotFound (404), kUnavailable, kBadGateway.
  Result<StateDocument> Get(const std::string& state_url);

  // PATCH {"op":"merge","value": value}: shallow merge; creates the document when missing.
  // `document`: see ApplyPatch.
  Status Merge(const std::string& state_url, const json::Value& value, json::Value* document = nullptr);

  // PATCH {"op":"add","path": path,"value": value}: creates missing parents and the document.
  Status Add(const std::string& state_url, const std::string& path, const json::Value& value);

  // PATCH with an RFC 6902 array (applied atomically; sent as application/json, which
  // shared-state reads as JSON Patch because the body is an array). With a
  // non-empty if_match the write happens only if the document is still at that version.
  // Returns the new ETag ("" when none). Errors: kFailedPrecondition (412: changed meanwhile),
  // kNotFound (404), kConflict (409: a "test" op failed), kInvalidArgument (400), kUnavailable,
  // kBadGateway.
  // `document`, when given, receives the content of the document as this write left it, when
  // the reply carries it ({"state": {"content": …}}, as shared-state's does), else null.
  Result<std::string> ApplyPatch(const std::string& state_url, const json::Value& patch,
                                 const std::string& if_match = "", json::Value* document = nullptr);

  // DELETE the document (a missing one is fine).
  Status Delete(const std::string& state_url);

 private:
  http_client::Request Make(std::string method, const std::string& url) const;

  http_client::Client& client_;
  std::chrono::milliseconds timeout_;
  std::string request_id_;
};

// The error a non-2xx reply stands for: the status mapped to an ErrorCode, with the reply's
// {"error": ...} message when it has one ("<METHOD> <url>: 404 Job not found").
Error ErrorFromServiceReply(const std::string& method, const std::string& url, const http_client::Response& reply);

}  // namespace csp::clients
