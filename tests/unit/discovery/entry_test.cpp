#include "discovery/entry.h"

#include <doctest/doctest.h>

#include <string>

#include "csp/json/json.h"

namespace {

using csp::ErrorCode;
using csp::discovery::Entry;
using csp::discovery::EntryFromStored;
using csp::discovery::EntryToJson;
using csp::discovery::EntryToStored;
using csp::discovery::HealthStatus;
using csp::discovery::IsHttpUrl;
using csp::discovery::ParseRegistration;
using csp::json::Value;

Value J(const std::string& text) {
  auto v = csp::json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

// The message of the error ParseRegistration gives for `text`, checking it is invalid_argument.
std::string Problem(const std::string& text) {
  auto r = ParseRegistration(J(text));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInvalidArgument);
  return r.error().message;
}

}  // namespace

TEST_SUITE("discovery.entry") {
  TEST_CASE("a minimal registration gets the original's defaults") {
    auto r = ParseRegistration(J(R"({"serviceName":"a","serviceURL":"http://127.0.0.1:4100"})"));
    REQUIRE(r.ok());
    CHECK(r->service_name == "a");
    CHECK(r->service_url == "http://127.0.0.1:4100");
    CHECK(r->tags.empty());
    CHECK(r->semantic_profile.empty());
    CHECK(r->media_types.empty());
    CHECK(r->ping_url.empty());
    CHECK(r->ttl_seconds == 0);
    CHECK(r->metadata == Value::MakeObject());
  }

  TEST_CASE("every field is read - unknown fields are ignored") {
    auto r = ParseRegistration(J(R"({"serviceName":"person","serviceURL":"https://x.example/api",
        "tags":["person","crud"],"semanticProfile":"urn:example:person","mediaTypes":["application/json"],
        "pingURL":"http://x.example/ping","ttlSeconds":30,"metadata":{"zone":"a"},"description":"ignored"})"));
    REQUIRE(r.ok());
    CHECK(r->tags == std::vector<std::string>{"person", "crud"});
    CHECK(r->semantic_profile == "urn:example:person");
    CHECK(r->media_types == std::vector<std::string>{"application/json"});
    CHECK(r->ping_url == "http://x.example/ping");
    CHECK(r->ttl_seconds == 30);
    CHECK(csp::json::Dump(r->metadata) == R"({"zone":"a"})");
  }

  TEST_CASE("pingUrl is read as pingURL - pingURL wins when both are given") {
    auto lower = ParseRegistration(J(R"({"serviceName":"s","serviceURL":"http://h","pingUrl":"http://h/ping"})"));
    REQUIRE(lower.ok());
    CHECK(lower->ping_url == "http://h/ping");
    auto both = ParseRegistration(
        J(R"({"serviceName":"s","serviceURL":"http://h","pingURL":"http://h/a","pingUrl":"http://h/b"})"));
    REQUIRE(both.ok());
    CHECK(both->ping_url == "http://h/a");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","pingUrl":"ftp://h"})") ==
          "pingUrl: expected an http or https URL");
  }

  TEST_CASE("required fields are named keeping the original's message") {
    CHECK(Problem(R"({"serviceURL":"http://h"})") ==
          "serviceName: is required (serviceName and serviceURL are required)");
    CHECK(Problem(R"({"serviceName":"s"})") == "serviceURL: is required (serviceName and serviceURL are required)");
    CHECK(Problem(R"({"serviceName":"","serviceURL":"http://h"})") ==
          "serviceName: must not be empty (serviceName and serviceURL are required)");
    CHECK(Problem(R"({"serviceName":null,"serviceURL":"http://h"})") ==
          "serviceName: is required (serviceName and serviceURL are required)");
  }

  TEST_CASE("wrong types name the field and the type found") {
    CHECK(Problem(R"({"serviceName":3,"serviceURL":"http://h"})") == "serviceName: expected a string, got number");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","tags":["a","b",7]})") ==
          "tags[2]: expected a string, got number");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","tags":"a"})") ==
          "tags: expected an array of strings, got string");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","mediaTypes":[{}]})") ==
          "mediaTypes[0]: expected a string, got object");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","semanticProfile":1})") ==
          "semanticProfile: expected a string, got number");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","ttlSeconds":"5"})") ==
          "ttlSeconds: expected an integer, got string");
    CHECK(
        Problem(R"({"serviceName":"s","serviceURL":"http://h","metadata":[]})").find("metadata: expected an object") ==
        0);
    CHECK(Problem("[1,2]") == "expected a JSON object with serviceName and serviceURL, got array");
  }

  TEST_CASE("URLs must be http or https") {
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"ftp://h"})") == "serviceURL: expected an http or https URL");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"localhost:4000"})") ==
          "serviceURL: expected an http or https URL");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","pingURL":"javascript:x"})") ==
          "pingURL: expected an http or https URL");
    CHECK(IsHttpUrl("http://127.0.0.1:4000"));
    CHECK(IsHttpUrl("HTTPS://example.com/a?b#c"));
    CHECK_FALSE(IsHttpUrl("http://"));
    CHECK_FALSE(IsHttpUrl("http:///path"));
    CHECK_FALSE(IsHttpUrl("http://a b"));
    CHECK_FALSE(IsHttpUrl("http://a\nb"));
    CHECK_FALSE(IsHttpUrl("file:///etc/passwd"));
  }

  TEST_CASE("limits are enforced and named") {
    std::string long_name(257, 'n');
    CHECK(Problem(R"({"serviceName":")" + long_name + R"(","serviceURL":"http://h"})") ==
          "serviceName: longer than 256 characters");
    std::string tags = "[";
    for (int i = 0; i < 65; ++i) tags += std::string(i ? "," : "") + "\"t\"";
    tags += "]";
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","tags":)" + tags + "}") == "tags: more than 64 items");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","tags":["ok",")" + std::string(300, 'x') + R"("]})") ==
          "tags[1]: longer than 256 characters");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","ttlSeconds":-1})") ==
          "ttlSeconds: must be between 0 and 86400");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","ttlSeconds":86401})") ==
          "ttlSeconds: must be between 0 and 86400");
    CHECK(Problem(R"({"serviceName":"s","serviceURL":"http://h","metadata":{"big":")" + std::string(17000, 'x') +
                  R"("}})") == "metadata: larger than 16384 bytes");
  }

  TEST_CASE("the wire form has every field in the documented order") {
    Entry e;
    e.registry_id = "id-1";
    e.service_name = "a";
    e.service_url = "http://h";
    e.tags = {"t"};
    e.media_types = {"application/json"};
    e.last_renewed = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795341600000));
    e.registered_at = e.last_renewed;
    e.ping_failures = 2;
    e.status = HealthStatus::kCritical;
    CHECK(csp::json::Dump(EntryToJson(e)) ==
          R"({"registryID":"id-1","serviceName":"a","serviceURL":"http://h","tags":["t"],"semanticProfile":"",)"
          R"("mediaTypes":["application/json"],"pingURL":"","lastRenewed":"2026-11-22T10:00:00.000Z",)"
          R"("registeredAt":"2026-11-22T10:00:00.000Z","status":"critical","lastChecked":null,"failures":2,)"
          R"("ttlSeconds":0,"metadata":{}})");
  }

  TEST_CASE("the stored form round-trips") {
    Entry e;
    e.registry_id = "3f0c2a9e-5b1d-4c7e-9a2f-0b1c2d3e4f50";
    e.service_name = "a";
    e.service_url = "http://h";
    e.tags = {"x", "y"};
    e.semantic_profile = "urn:a";
    e.media_types = {"application/json"};
    e.ping_url = "http://h/ping";
    e.ttl_seconds = 9;
    e.metadata = J(R"({"k":[1,2]})");
    e.last_renewed = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795341601234));
    e.registered_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795341600000));
    e.seq = 42;
    auto back = EntryFromStored(EntryToStored(e));
    REQUIRE(back.ok());
    CHECK(csp::json::Dump(EntryToJson(*back)) == csp::json::Dump(EntryToJson(e)));
    CHECK(back->seq == 42);
    auto broken = EntryFromStored(J(R"({"registryID":"x","serviceName":"a","serviceURL":"http://h"})"));
    CHECK_FALSE(broken.ok());
  }
}
