#include <doctest/doctest.h>

#include "csp/json/value.h"

using csp::json::Array;
using csp::json::Object;
using csp::json::Value;

TEST_SUITE("json") {
  TEST_CASE("object keeps insertion order and replaces in place") {
    Object o{{"b", 1}, {"a", 2}};
    o.Set("c", 3);
    o.Set("b", 10);
    std::vector<std::string> keys;
    for (const auto& m : o) keys.push_back(m.first);
    CHECK(keys == std::vector<std::string>{"b", "a", "c"});
    CHECK(o.Find("b")->AsInt() == 10);
    CHECK(o.Erase("a"));
    CHECK_FALSE(o.Erase("a"));
    CHECK(o.size() == 2);
  }

  TEST_CASE("equality is deep, order-insensitive, and numeric across int and double") {
    Value a = Object{{"x", Array{1, 2.0, "s"}}, {"y", nullptr}};
    Value b = Object{{"y", nullptr}, {"x", Array{1.0, 2, "s"}}};
    CHECK(a == b);
    b["x"].AsArray()[2] = "t";
    CHECK(a != b);
    CHECK(Value(1) != Value("1"));
    CHECK(Value(true) != Value(1));
  }

  TEST_CASE("operator[] and PushBack promote null") {
    Value v;
    v["a"]["b"] = 1;
    CHECK(v.Find("a")->Find("b")->AsInt() == 1);
    Value arr;
    arr.PushBack(1);
    arr.PushBack("x");
    CHECK(arr.AsArray().size() == 2);
  }

  TEST_CASE("proto-like keys are ordinary data") {
    Value v = Object{{"__proto__", 1}, {"constructor", 2}};
    CHECK(v.Find("__proto__")->AsInt() == 1);
    CHECK(v.Find("constructor")->AsInt() == 2);
  }

  TEST_CASE("unsigned beyond int64 becomes a double") {
    Value v(18446744073709551615ULL);
    CHECK(v.IsDouble());
  }
}
