#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <string>

#include "csp/core/id.h"

namespace {

// The Unix milliseconds in the first 48 bits of a UUID v7.
long long MillisOf(const std::string& id) {
  std::string hex = id.substr(0, 8) + id.substr(9, 4);
  return std::strtoll(hex.c_str(), nullptr, 16);
}

long long NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_SUITE("core") {
  TEST_CASE("uuid v4 shape and uniqueness") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
      std::string id = csp::NewUuid();
      CHECK(csp::IsUuid(id));
      CHECK(id[14] == '4');
      CHECK((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
      seen.insert(id);
    }
    CHECK(seen.size() == 1000);
    CHECK_FALSE(csp::IsUuid("not-a-uuid"));
  }

  TEST_CASE("uuid v7 shape, uniqueness and the time it carries") {
    std::set<std::string> seen;
    const long long before = NowMillis();
    for (int i = 0; i < 1000; ++i) {
      std::string id = csp::NewTimeOrderedUuid();
      CHECK(csp::IsUuid(id));
      CHECK(id[14] == '7');
      CHECK((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
      CHECK(id.find_first_of("ABCDEF") == std::string::npos);
      seen.insert(id);
    }
    const long long after = NowMillis();
    CHECK(seen.size() == 1000);
    const long long stamped = MillisOf(*seen.begin());
    CHECK(stamped >= before);
    CHECK(MillisOf(*seen.rbegin()) <= after);
  }

  TEST_CASE("uuid v7 ids made later sort after earlier ones") {
    // Within one millisecond the order rests on the sub-millisecond bits; across milliseconds it
    // is certain. Make ids until the clock has moved on 3 ms, and check each against the first.
    const std::string first = csp::NewTimeOrderedUuid();
    const long long start = MillisOf(first);
    std::string last = first;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (MillisOf(last) < start + 3 && std::chrono::steady_clock::now() < deadline) {
      std::string next = csp::NewTimeOrderedUuid();
      if (MillisOf(next) > start) CHECK(next > first);
      last = next;
    }
    CHECK(MillisOf(last) >= start + 3);
    CHECK(last > first);
  }
}
