#include <doctest/doctest.h>

#include <string>

#include "csp/core/result.h"

using csp::Error;
using csp::ErrorCode;
using csp::Result;
using csp::Status;

namespace {
Result<int> Half(int x) {
  if (x % 2 != 0) return csp::InvalidArgument("odd");
  return x / 2;
}
}  // namespace

TEST_SUITE("core") {
  TEST_CASE("result holds a value or an error") {
    auto ok = Half(4);
    REQUIRE(ok);
    CHECK(*ok == 2);
    auto bad = Half(3);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == ErrorCode::kInvalidArgument);
    CHECK(bad.value_or(-1) == -1);
  }

  TEST_CASE("status") {
    Status s = csp::Ok();
    CHECK(s.ok());
    Status e = csp::NotFound("x");
    CHECK_FALSE(e.ok());
    CHECK(e.error().message == "x");
  }

  TEST_CASE("error prefix and code names") {
    Error e = csp::InvalidArgument("expected a string").WithPrefix("steps[0].tag");
    CHECK(e.message == "steps[0].tag: expected a string");
    CHECK(csp::ErrorCodeName(ErrorCode::kInvalidJson) == "invalid_json");
    CHECK(csp::ErrorCodeName(ErrorCode::kTooLarge) == "body_too_large");
    CHECK(csp::ErrorCodeName(ErrorCode::kMethodNotAllowed) == "method_not_allowed");
  }
}
