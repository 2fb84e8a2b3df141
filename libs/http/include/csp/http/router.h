#pragma once
// A method + path router over our own Request/Response.
//
// Patterns: literal segments, ":name" parameters (one segment), and a final "*" that matches the
// rest of the path, including further slashes (available as Param("*"), percent-decoded per
// segment and rejoined with '/'). Trailing and doubled slashes are ignored. Literals compare
// case-sensitively. Routes are tried in the order added; the first match wins.

#include <string>
#include <string_view>
#include <vector>

#include "csp/http/message.h"

namespace csp::http {

class Router {
 public:
  Router& Add(Method method, std::string pattern, Handler handler);
  Router& AddAsync(Method method, std::string pattern, AsyncHandler handler);
  Router& Get(std::string pattern, Handler h) { return Add(Method::kGet, std::move(pattern), std::move(h)); }
  Router& Post(std::string pattern, Handler h) { return Add(Method::kPost, std::move(pattern), std::move(h)); }
  Router& Put(std::string pattern, Handler h) { return Add(Method::kPut, std::move(pattern), std::move(h)); }
  Router& Patch(std::string pattern, Handler h) { return Add(Method::kPatch, std::move(pattern), std::move(h)); }
  Router& Delete(std::string pattern, Handler h) { return Add(Method::kDelete, std::move(pattern), std::move(h)); }

  struct Match {
    const Handler* handler = nullptr;             // one of handler/async_handler is set on a match
    const AsyncHandler* async_handler = nullptr;
    std::string pattern;                          // the matched route's pattern (metrics label)
    std::unordered_map<std::string, std::string> params;
    std::vector<Method> allowed;                  // on 405: the methods the path does accept
    bool path_known = false;                      // some route matched the path, maybe not the method
  };

  // HEAD is served by the GET route of the same path.
  Match Find(Method method, std::string_view path) const;

  // Runs a synchronous route, or answers 404/405 as JSON; for tests and the adapter. An async
  // route is run and waited for on the calling thread (tests only).
  Response Dispatch(Request request) const;

 private:
  struct Route {
    Method method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    AsyncHandler async_handler;
  };
  std::vector<Route> routes_;
};

// "GET, POST" for an Allow header.
std::string AllowHeader(const std::vector<Method>& methods);

}  // namespace csp::http
