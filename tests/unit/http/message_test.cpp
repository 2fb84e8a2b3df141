#include <doctest/doctest.h>

#include "csp/http/message.h"
#include "csp/json/json.h"

using namespace csp::http;
using csp::ErrorCode;

TEST_SUITE("http") {
  TEST_CASE("every error code maps to one status") {
    CHECK(StatusFor(ErrorCode::kInvalidArgument) == 400);
    CHECK(StatusFor(ErrorCode::kInvalidJson) == 400);
    CHECK(StatusFor(ErrorCode::kUnauthenticated) == 401);
    CHECK(StatusFor(ErrorCode::kNotFound) == 404);
    CHECK(StatusFor(ErrorCode::kMethodNotAllowed) == 405);
    CHECK(StatusFor(ErrorCode::kAlreadyExists) == 409);
    CHECK(StatusFor(ErrorCode::kFailedPrecondition) == 412);
    CHECK(StatusFor(ErrorCode::kTooLarge) == 413);
    CHECK(StatusFor(ErrorCode::kInternal) == 500);
    CHECK(StatusFor(ErrorCode::kBadGateway) == 502);
    CHECK(StatusFor(ErrorCode::kUnavailable) == 503);
    CHECK(StatusFor(ErrorCode::kOverloaded) == 503);
    CHECK(StatusFor(ErrorCode::kDeadlineExceeded) == 504);
  }

  TEST_CASE("error responses are JSON with error and code") {
    Response r = Response::FromError(csp::InvalidArgument("tags[1]: expected a string"));
    CHECK(r.status == 400);
    CHECK(r.content_type == "application/json");
    auto body = csp::json::Parse(r.body);
    REQUIRE(body);
    CHECK(body->Find("error")->AsString() == "tags[1]: expected a string");
    CHECK(body->Find("code")->AsString() == "invalid_argument");
  }

  TEST_CASE("headers are case-insensitive") {
    Request req;
    req.headers.Set("Content-Type", "Application/JSON; charset=utf-8");
    CHECK(req.Header("content-type"));
    CHECK(req.MediaType() == "application/json");
    Response r = Response::Empty(204);
    r.WithHeader("ETag", "\"1\"").WithHeader("etag", "\"2\"");
    CHECK(r.headers.size() == 1);
    CHECK(*r.Header("ETAG") == "\"2\"");
  }

  TEST_CASE("query parsing and percent coding") {
    auto q = ParseQuery("tag=a%20b&meta&x=1+2&=odd");
    REQUIRE(q.size() == 4);
    CHECK(q[0] == std::pair<std::string, std::string>{"tag", "a b"});
    CHECK(q[1] == std::pair<std::string, std::string>{"meta", ""});
    CHECK(q[2].second == "1 2");
    CHECK(PercentDecode("%zz%4") == "%zz%4");
    CHECK(PercentEncode("a b/~") == "a%20b%2F~");
    Request req;
    req.query = q;
    CHECK(req.HasQuery("meta"));
    CHECK(*req.Query("tag") == "a b");
    CHECK_FALSE(req.Query("nope"));
  }

  TEST_CASE("json body: empty and malformed are invalid_json") {
    Request req;
    req.body = "  ";
    auto empty = req.JsonBody();
    REQUIRE_FALSE(empty);
    CHECK(empty.error().code == ErrorCode::kInvalidJson);
    req.body = "{\"a\":";
    CHECK(req.JsonBody().error().code == ErrorCode::kInvalidJson);
    req.body = "{\"a\":1}";
    CHECK(req.JsonBody());
  }

  TEST_CASE("base url from Host") {
    Request req;
    CHECK(req.BaseUrl() == "http://127.0.0.1");
    req.headers.Set("Host", "localhost:4500");
    CHECK(req.BaseUrl() == "http://localhost:4500");
  }
}
