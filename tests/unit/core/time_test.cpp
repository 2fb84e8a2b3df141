#include <doctest/doctest.h>

#include "csp/core/time.h"

using namespace std::chrono;

TEST_SUITE("core") {
  TEST_CASE("ISO 8601 formatting matches toISOString") {
    CHECK(csp::FormatIso8601(csp::FromUnixMillis(0)) == "1970-01-01T00:00:00.000Z");
    CHECK(csp::FormatIso8601(csp::FromUnixMillis(1'745'154'000'123)) == "2025-04-20T13:00:00.123Z");
  }

  TEST_CASE("ISO 8601 parsing round-trips and accepts offsets") {
    auto t = csp::ParseIso8601("2025-04-20T13:00:00.123Z");
    REQUIRE(t);
    CHECK(csp::ToUnixMillis(*t) == 1'745'154'000'123);
    auto off = csp::ParseIso8601("2025-04-20T15:00:00+02:00");
    REQUIRE(off);
    CHECK(csp::ToUnixMillis(*off) == 1'745'154'000'000);
    CHECK_FALSE(csp::ParseIso8601("2025-04-20"));
    CHECK_FALSE(csp::ParseIso8601("2025-13-20T00:00:00Z"));
    CHECK_FALSE(csp::ParseIso8601("2025-04-20T00:00:00Zjunk"));
  }

  TEST_CASE("durations") {
    CHECK(*csp::ParseDuration("500ms") == milliseconds(500));
    CHECK(*csp::ParseDuration("2s") == milliseconds(2000));
    CHECK(*csp::ParseDuration("5m") == milliseconds(300'000));
    CHECK(*csp::ParseDuration("1h") == milliseconds(3'600'000));
    CHECK(*csp::ParseDuration("30") == milliseconds(30'000));
    CHECK(*csp::ParseDuration("7d") == milliseconds(604'800'000));
    CHECK(*csp::ParseDuration("1.5s") == milliseconds(1500));
    CHECK_FALSE(csp::ParseDuration(""));
    CHECK_FALSE(csp::ParseDuration("-1s"));
    CHECK_FALSE(csp::ParseDuration("5 parsecs"));
    CHECK_FALSE(csp::ParseDuration("ms"));
    CHECK(csp::FormatDuration(milliseconds(250)) == "250ms");
    CHECK(csp::FormatDuration(milliseconds(1500)) == "1.5s");
  }
}
