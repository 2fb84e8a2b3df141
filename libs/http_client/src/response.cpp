// Response helpers and the Client conveniences: everything that does not touch libcurl.

#include <algorithm>
#include <cctype>

#include "csp/http_client/client.h"
#include "csp/json/json.h"

namespace csp::http_client {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> Response::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::string Response::MediaType() const {
  auto content_type = Header("Content-Type");
  if (!content_type) return "";
  std::string_view type = *content_type;
  type = Trim(type.substr(0, type.find(';')));
  std::string lower(type);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

Result<json::Value> Response::Json() const { return json::Parse(body); }

Result<Response> Client::Get(const std::string& url, std::chrono::milliseconds timeout) {
  Request request;
  request.method = "GET";
  request.url = url;
  request.timeout = timeout;
  return Send(request);
}

Result<Response> Client::PostJson(const std::string& url, const json::Value& body,
                                  std::chrono::milliseconds timeout) {
  Request request;
  request.method = "POST";
  request.url = url;
  request.body = json::Dump(body);
  request.headers.emplace_back("Content-Type", "application/json");
  request.timeout = timeout;
  return Send(request);
}

Result<Response> Client::Delete(const std::string& url, std::chrono::milliseconds timeout) {
  Request request;
  request.method = "DELETE";
  request.url = url;
  request.timeout = timeout;
  return Send(request);
}

}  // namespace csp::http_client
