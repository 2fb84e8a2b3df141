#include <doctest/doctest.h>

#include <thread>

#include "csp/http/router.h"
#include "csp/json/json.h"

using namespace csp::http;

namespace {
Request Make(Method m, std::string path) {
  Request r;
  r.method = m;
  r.path = std::move(path);
  return r;
}
Handler Echo(std::string tag) {
  return [tag](const Request& req) {
    csp::json::Value body = csp::json::Object{{"tag", tag}};
    for (const auto& [k, v] : req.params) body.Set(k, v);
    return Response::Json(200, body);
  };
}
csp::json::Value Body(const Response& r) { return *csp::json::Parse(r.body); }
}  // namespace

TEST_SUITE("http") {
  TEST_CASE("parameters, literals and order") {
    Router router;
    router.Get("/state/:id/history", Echo("history"));
    router.Get("/state/:id", Echo("one"));
    router.Get("/state", Echo("all"));
    auto r = router.Dispatch(Make(Method::kGet, "/state/abc"));
    CHECK(r.status == 200);
    CHECK(Body(r).Find("tag")->AsString() == "one");
    CHECK(Body(r).Find("id")->AsString() == "abc");
    CHECK(Body(router.Dispatch(Make(Method::kGet, "/state/abc/history"))).Find("tag")->AsString() == "history");
    CHECK(Body(router.Dispatch(Make(Method::kGet, "//state//"))).Find("tag")->AsString() == "all");
  }

  TEST_CASE("parameters are percent-decoded") {
    Router router;
    router.Get("/x/:id", Echo("x"));
    CHECK(Body(router.Dispatch(Make(Method::kGet, "/x/a%20b"))).Find("id")->AsString() == "a b");
  }

  TEST_CASE("splat takes the rest of the path") {
    Router router;
    router.Get("/state/:id/*", Echo("sub"));
    auto body = Body(router.Dispatch(Make(Method::kGet, "/state/s1/results/upper%2Fcase")));
    CHECK(body.Find("id")->AsString() == "s1");
    CHECK(body.Find("*")->AsString() == "results/upper/case");
  }

  TEST_CASE("unknown path is a JSON 404, wrong method a JSON 405 with Allow") {
    Router router;
    router.Get("/a", Echo("a"));
    router.Post("/a", Echo("a"));
    auto nf = router.Dispatch(Make(Method::kGet, "/b"));
    CHECK(nf.status == 404);
    CHECK(Body(nf).Find("code")->AsString() == "not_found");
    auto na = router.Dispatch(Make(Method::kDelete, "/a"));
    CHECK(na.status == 405);
    CHECK(Body(na).Find("code")->AsString() == "method_not_allowed");
    REQUIRE(na.Header("Allow"));
    CHECK(*na.Header("allow") == "GET, POST");
  }

  TEST_CASE("HEAD is served by GET") {
    Router router;
    router.Get("/a", Echo("a"));
    CHECK(router.Dispatch(Make(Method::kHead, "/a")).status == 200);
  }

  TEST_CASE("async routes answer from another thread") {
    Router router;
    router.AddAsync(Method::kGet, "/slow", [](Request, Reply reply) {
      std::thread([reply] { reply(Response::Json(202, csp::json::Object{{"ok", true}})); }).detach();
    });
    CHECK(router.Dispatch(Make(Method::kGet, "/slow")).status == 202);
  }
}
