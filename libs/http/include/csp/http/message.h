#pragma once
// Our HTTP request and response: plain values that routes take and return, testable without a
// socket. Pistache never appears outside src/pistache_adapter.cpp.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view MethodName(Method m);
Method MethodFromName(std::string_view name);

// Header names compare case-insensitively; the first of repeated headers wins.
class Headers {
 public:
  void Set(std::string name, std::string value);
  std::optional<std::string_view> Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

struct Request {
  Method method = Method::kGet;
  std::string path;          // without the query, as sent (not percent-decoded)
  std::string query_string;  // without '?'
  std::vector<std::pair<std::string, std::string>> query;  // percent-decoded, in order
  Headers headers;
  std::string body;
  std::unordered_map<std::string, std::string> params;  // path parameters, percent-decoded
  std::string request_id;  // from X-Request-Id or generated
  std::string remote_address;

  std::optional<std::string_view> Header(std::string_view name) const { return headers.Get(name); }
  // First value of a query parameter; a parameter given without '=' ("?meta") has value "".
  std::optional<std::string> Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const { return Query(name).has_value(); }
  // Path parameter by name (without ':'); "" when the route has no such parameter.
  const std::string& Param(std::string_view name) const;
  // "http://<Host header>" (the original builds hrefs this way); falls back to 127.0.0.1.
  std::string BaseUrl() const;
  // The body parsed as JSON whatever Content-Type says. An empty body is kInvalidJson
  // "request body is empty; expected JSON".
  Result<json::Value> JsonBody() const;
  // The media type of Content-Type without parameters, lower case ("application/json"), or "".
  std::string MediaType() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(int status, const json::Value& v);
  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // No body and no Content-Type (204, 304).
  static Response Empty(int status);
  // {"error": message, "code": machine code} with the status csp::http::StatusFor gives.
  static Response FromError(const Error& e);

  Response& WithHeader(std::string name, std::string value);
  std::optional<std::string_view> Header(std::string_view name) const;
};

// The single mapping from error codes to HTTP statuses.
int StatusFor(ErrorCode code);

// Decodes %XX and (when plus_is_space) '+'. Invalid escapes are kept as written.
std::string PercentDecode(std::string_view s, bool plus_is_space = false);
// Encodes everything but unreserved characters (RFC 3986).
std::string PercentEncode(std::string_view s);
// Splits "a=1&b=&c" into decoded pairs.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query_string);

// Answer exactly once, from any thread.
using Reply = std::function<void(Response)>;
using Handler = std::function<Response(const Request&)>;
// For slow work (long polls, outbound calls): keep the reply and call it when ready, from any
// thread, without blocking the server's worker.
using AsyncHandler = std::function<void(Request, Reply)>;

}  // namespace csp::http
