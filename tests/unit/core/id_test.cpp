#include <doctest/doctest.h>

#include <set>

#include "csp/core/id.h"

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
}
