#include "csp/http/message.h"

#include <cctype>

#include "csp/json/json.h"

namespace csp::http {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const std::string kEmpty;

}  // namespace

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kPatch: return "PATCH";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

Method MethodFromName(std::string_view name) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch, Method::kDelete,
                   Method::kOptions}) {
    if (MethodName(m) == name) return m;
  }
  return Method::kOther;
}

void Headers::Set(std::string name, std::string value) {
  for (auto& e : entries_) {
    if (EqualsIgnoreCase(e.first, name)) {
      e.second = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& e : entries_) {
    if (EqualsIgnoreCase(e.first, name)) return std::string_view(e.second);
  }
  return std::nullopt;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  for (const auto& q : query) {
    if (q.first == name) return q.second;
  }
  return std::nullopt;
}

const std::string& Request::Param(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? kEmpty : it->second;
}

std::string Request::BaseUrl() const {
  auto host = Header("Host");
  if (!host || host->empty()) return "http://127.0.0.1";
  return "http://" + std::string(*host);
}

Result<json::Value> Request::JsonBody() const {
  bool blank = true;
  for (char c : body) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      blank = false;
      break;
    }
  }
  if (blank) return Error(ErrorCode::kInvalidJson, "request body is empty; expected JSON");
  return json::Parse(body);
}

std::string Request::MediaType() const {
  auto ct = Header("Content-Type");
  if (!ct) return "";
  std::string out;
  for (char c : *ct) {
    if (c == ';') break;
    if (c == ' ' || c == '\t') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

Response Response::Json(int status, const json::Value& v) {
  Response r;
  r.status = status;
  r.body = json::Dump(v);
  return r;
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::Empty(int status) {
  Response r;
  r.status = status;
  r.content_type.clear();
  return r;
}

Response Response::FromError(const Error& e) {
  json::Value body = json::Object{{"error", e.message}, {"code", std::string(ErrorCodeName(e.code))}};
  return Json(StatusFor(e.code), body);
}

Response& Response::WithHeader(std::string name, std::string value) {
  for (auto& h : headers) {
    if (EqualsIgnoreCase(h.first, name)) {
      h.second = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::optional<std::string_view> Response::Header(std::string_view name) const {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.first, name)) return std::string_view(h.second);
  }
  return std::nullopt;
}

int StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kInvalidJson: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kFailedPrecondition: return 412;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kUnimplemented: return 501;
    case ErrorCode::kBadGateway: return 502;
    case ErrorCode::kUnavailable:
    case ErrorCode::kOverloaded: return 503;
    case ErrorCode::kDeadlineExceeded: return 504;
  }
  return 500;
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view qs) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos <= qs.size() && !qs.empty()) {
    size_t amp = qs.find('&', pos);
    std::string_view part = qs.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(PercentDecode(part, true), "");
      } else {
        out.emplace_back(PercentDecode(part.substr(0, eq), true), PercentDecode(part.substr(eq + 1), true));
      }
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

}  // namespace csp::http
