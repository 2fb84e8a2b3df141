#include "csp/http/router.h"

#include <condition_variable>
#include <mutex>

namespace csp::http {

namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

// Matches segments against a pattern; fills params on success.
bool MatchSegments(const std::vector<std::string>& pattern, const std::vector<std::string_view>& parts,
                   std::unordered_map<std::string, std::string>& params) {
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    const std::string& seg = pattern[i];
    if (seg == "*") {
      std::string rest;
      for (size_t j = i; j < parts.size(); ++j) {
        if (j > i) rest.push_back('/');
        rest += PercentDecode(parts[j]);
      }
      params["*"] = std::move(rest);
      return true;
    }
    if (i >= parts.size()) return false;
    if (seg[0] == ':') {
      params[seg.substr(1)] = PercentDecode(parts[i]);
      continue;
    }
    if (seg != parts[i]) return false;
  }
  return i == parts.size();
}

}  // namespace

Router& Router::Add(Method method, std::string pattern, Handler handler) {
  std::vector<std::string> segments;
  for (auto s : SplitPath(pattern)) segments.emplace_back(s);
  routes_.push_back(Route{method, std::move(pattern), std::move(segments), std::move(handler), nullptr});
  return *this;
}

Router& Router::AddAsync(Method method, std::string pattern, AsyncHandler handler) {
  std::vector<std::string> segments;
  for (auto s : SplitPath(pattern)) segments.emplace_back(s);
  routes_.push_back(Route{method, std::move(pattern), std::move(segments), nullptr, std::move(handler)});
  return *this;
}

Router::Match Router::Find(Method method, std::string_view path) const {
  Match match;
  auto parts = SplitPath(path);
  Method wanted = method == Method::kHead ? Method::kGet : method;
  for (const Route& r : routes_) {
    std::unordered_map<std::string, std::string> params;
    if (!MatchSegments(r.segments, parts, params)) continue;
    match.path_known = true;
    if (r.method != wanted) {
      bool seen = false;
      for (Method m : match.allowed) seen = seen || m == r.method;
      if (!seen) match.allowed.push_back(r.method);
      continue;
    }
    match.handler = r.handler ? &r.handler : nullptr;
    match.async_handler = r.async_handler ? &r.async_handler : nullptr;
    match.pattern = r.pattern;
    match.params = std::move(params);
    return match;
  }
  return match;
}

Response Router::Dispatch(Request request) const {
  Match m = Find(request.method, request.path);
  if (m.handler == nullptr && m.async_handler == nullptr) {
    if (m.path_known) {
      return Response::FromError(Error(ErrorCode::kMethodNotAllowed,
                                       std::string(MethodName(request.method)) + " is not allowed on " +
                                           request.path))
          .WithHeader("Allow", AllowHeader(m.allowed));
    }
    return Response::FromError(NotFound("no route for " + std::string(MethodName(request.method)) + " " +
                                        request.path));
  }
  request.params = std::move(m.params);
  if (m.handler != nullptr) return (*m.handler)(request);
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Response> out;
  (*m.async_handler)(std::move(request), [&](Response r) {
    std::lock_guard<std::mutex> lock(mu);
    out = std::move(r);
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

std::string AllowHeader(const std::vector<Method>& methods) {
  std::string out;
  for (Method m : methods) {
    if (!out.empty()) out += ", ";
    out += MethodName(m);
  }
  return out;
}

}  // namespace csp::http
