#include <doctest/doctest.h>

#include "fixture.h"

namespace csp::engine {
namespace {

using testing::Body;
using testing::EngineHarness;
using testing::ErrorOf;
using testing::J;

constexpr const char* kCreateAnn =
    R"({"command":"create","resource":"person","id":"p1","payload":{"email":"ann@example.org","givenName":"Ann"}})";

// A message with a requestId added.
std::string WithRequest(const std::string& message, const std::string& request_id) {
  json::Value m = J(message);
  m.Set("requestId", request_id);
  return json::Dump(m);
}

std::string Msg(const std::string& command, const std::string& id = "", const std::string& payload = "",
                const std::string& request_id = "") {
  json::Value m = json::Object{{"command", command}, {"resource", "person"}};
  if (!id.empty()) m.Set("id", id);
  if (!payload.empty()) m.Set("payload", J(payload));
  if (!request_id.empty()) m.Set("requestId", request_id);
  return json::Dump(m);
}

json::Value ReadRecord(EngineHarness& h, const std::string& id) {
  CommandReply r = h.Execute(Msg("read", id));
  if (r.status != 200) return json::Value();
  return *r.body->Find("result");
}

std::vector<std::string> ListIds(EngineHarness& h) {
  CommandReply r = h.Execute(Msg("list"));
  std::vector<std::string> ids;
  for (const json::Value& rec : r.body->Find("result")->AsArray()) ids.push_back(rec.Find("id")->AsString());
  return ids;
}

TEST_SUITE("engine.commands") {
  TEST_CASE("message format errors come first") {
    EngineHarness h(testing::LoadExample("person.json"));
    for (const char* bad : {"null", "[]", "{}", R"({"command":"create"})", R"({"resource":"person"})",
                            R"({"command":"","resource":"person"})", R"({"command":5,"resource":"person"})"}) {
      CAPTURE(bad);
      CommandReply r = h.Execute(bad);
      CHECK(r.status == 400);
      CHECK(ErrorOf(r) == "Invalid command message format");
    }
  }

  TEST_CASE("checks run in the original's order") {
    EngineHarness h(testing::LoadExample("person.json"));
    CommandReply unknown = h.Execute(R"({"command":"frob","resource":"robot","payload":{"status":"weird"}})");
    CHECK(unknown.status == 400);
    CHECK(ErrorOf(unknown) == "Unknown command: frob");
    CommandReply resource = h.Execute(R"({"command":"create","resource":"robot","payload":{"status":"weird"}})");
    CHECK(ErrorOf(resource) == "Unsupported resource: robot");
    CommandReply missing = h.Execute(R"({"command":"create","resource":"person","payload":{"status":"weird"}})");
    CHECK(ErrorOf(missing) == "Missing required input: email");
    CommandReply bad_enum =
        h.Execute(R"({"command":"create","resource":"person","payload":{"email":"a@b.c","status":"weird"}})");
    CHECK(bad_enum.status == 400);
    CHECK(ErrorOf(bad_enum) == "Invalid value for 'status': 'weird'. Must be one of [pending, active, suspended]");
    CHECK(bad_enum.body->Find("code")->AsString() == "invalid_argument");
    CHECK(h.Count() == 0);
  }

  TEST_CASE("a declared command that is not a built-in verb") {
    EngineHarness h(testing::DesignFrom(R"({"serviceInfo":{"serviceName":"x"},"resourceType":"person",
      "commands":{"archive":{"inputs":{"required":["reason"]}}}})"));
    CHECK(ErrorOf(h.Execute(Msg("archive", "p1"))) == "Missing required input: reason");
    CommandReply r = h.Execute(Msg("archive", "p1", R"({"reason":"old"})"));
    CHECK(r.status == 400);
    CHECK(ErrorOf(r) == "Command not implemented: archive");
  }

  TEST_CASE("create replies with statusCode and result, fields in the original's order") {
    EngineHarness h(testing::LoadExample("person.json"));
    CommandReply r = h.Execute(kCreateAnn);
    CHECK(r.status == 201);
    CHECK(Body(r) ==
          R"({"statusCode":201,"result":{"status":"pending","email":"ann@example.org","givenName":"Ann","id":"p1"}})");
    CHECK(h.Count() == 1);
  }

  TEST_CASE("create generates a missing id and ignores a payload id") {
    EngineHarness h(testing::LoadExample("person.json"));
    CommandReply r = h.Execute(R"({"command":"create","resource":"person","payload":{"email":"a@b.c","id":"mine"}})");
    CHECK(r.status == 201);
    CHECK(r.body->Find("result")->Find("id")->AsString() == "gen-1");
    CHECK(r.body->Find("warnings")->AsArray() == json::Array{json::Value("id")});
  }

  TEST_CASE("create without an id and without generateIfMissing") {
    EngineHarness h(testing::DesignFrom(R"({"serviceInfo":{"serviceName":"x"},"resourceType":"person",
      "commands":{"create":{"inputs":{"required":[],"optional":["name"]}}}})"));
    CommandReply r = h.Execute(Msg("create", "", R"({"name":"n"})"));
    CHECK(r.status == 400);
    CHECK(ErrorOf(r) == "Missing required input: id");
    CommandReply ok = h.Execute(Msg("create", "x1", R"({"name":"n"})"));
    CHECK(ok.status == 201);
  }

  TEST_CASE("create of an existing id is a 409 on /execute") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    CommandReply r = h.Execute(kCreateAnn);
    CHECK(r.status == 409);
    CHECK(ErrorOf(r) == "Resource with ID 'p1' already exists.");
    CHECK(r.body->Find("code")->AsString() == "already_exists");
  }

  TEST_CASE("read") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    CommandReply r = h.Execute(Msg("read", "p1"));
    CHECK(r.status == 200);
    CHECK(Body(r) == R"({"result":{"status":"pending","email":"ann@example.org","givenName":"Ann","id":"p1"}})");
    CommandReply missing = h.Execute(Msg("read", "nope"));
    CHECK(missing.status == 404);
    CHECK(ErrorOf(missing) == "Resource not found: nope");
    CHECK(missing.body->Find("code")->AsString() == "not_found");
    CommandReply no_id = h.Execute(Msg("read"));
    CHECK(no_id.status == 400);
    CHECK(ErrorOf(no_id) == "Missing required input: id");
    CHECK(ErrorOf(h.Execute(R"({"command":"read","resource":"person","id":7})")) == "id: expected a string");
  }

  TEST_CASE("the id comes from the message, not the payload") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    CommandReply r = h.Execute(Msg("update", "p1", R"({"id":"p2","familyName":"Lee"})"));
    CHECK(r.status == 200);
    CHECK(r.body->Find("result")->Find("id")->AsString() == "p1");
    CHECK(ReadRecord(h, "p2").IsNull());
  }

  TEST_CASE("update is a shallow merge") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    CommandReply r = h.Execute(Msg("update", "p1", R"({"familyName":"Lee","givenName":"Anne"})"));
    CHECK(r.status == 200);
    CHECK(
        Body(r) ==
        R"({"result":{"status":"pending","email":"ann@example.org","givenName":"Anne","id":"p1","familyName":"Lee"}})");
    CHECK(ReadRecord(h, "p1") == *r.body->Find("result"));
    CommandReply missing = h.Execute(Msg("update", "nope", R"({"familyName":"Lee"})"));
    CHECK(missing.status == 404);
    CHECK(ErrorOf(missing) == "Resource not found: nope");
  }

  TEST_CASE("status sets only the status field") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    CommandReply r = h.Execute(Msg("status", "p1", R"({"status":"active","givenName":"X"})"));
    CHECK(r.status == 200);
    CHECK(r.body->Find("result")->Find("status")->AsString() == "active");
    CHECK(r.body->Find("result")->Find("givenName")->AsString() == "Ann");
    CHECK(h.Execute(Msg("status", "nope", R"({"status":"active"})")).status == 404);
    CHECK(ErrorOf(h.Execute(Msg("status", "p1"))) == "Missing required input: status");
  }

  TEST_CASE("delete answers 204 with no body") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    CommandReply r = h.Execute(Msg("delete", "p1"));
    CHECK(r.status == 204);
    CHECK_FALSE(r.body.has_value());
    CHECK(h.Execute(Msg("read", "p1")).status == 404);
    CommandReply again = h.Execute(Msg("delete", "p1"));
    CHECK(again.status == 404);
    CHECK(ErrorOf(again) == "Resource not found: p1");
  }

  TEST_CASE("delete with another output.statusCode sends {statusCode}") {
    EngineHarness h(testing::DesignFrom(R"({"serviceInfo":{"serviceName":"x"},"resourceType":"person",
      "commands":{"create":{"inputs":{"rules":[{"id":"generateIfMissing"}]}},
                  "delete":{"output":{"statusCode":200}}}})"));
    REQUIRE(h.Execute(Msg("create", "p1")).status == 201);
    CommandReply r = h.Execute(Msg("delete", "p1"));
    CHECK(r.status == 200);
    CHECK(Body(r) == R"({"statusCode":200})");
  }

  TEST_CASE("list returns records in creation order") {
    EngineHarness h(testing::LoadExample("person.json"));
    CHECK(Body(h.Execute(Msg("list"))) == R"({"result":[]})");
    for (const char* id : {"c", "a", "b"}) REQUIRE(h.Execute(Msg("create", id, R"({"email":"x@y.z"})")).status == 201);
    CHECK(ListIds(h) == std::vector<std::string>{"c", "a", "b"});
  }

  TEST_CASE("filter: case-insensitive contains on strings, all criteria") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(
        h.Execute(Msg("create", "p1", R"({"email":"ann@example.org","givenName":"Ann","status":"active"})")).status ==
        201);
    REQUIRE(h.Execute(Msg("create", "p2", R"({"email":"bob@example.org","givenName":"Joanna"})")).status == 201);
    REQUIRE(h.Execute(Msg("create", "p3", R"({"email":"cy@other.net","givenName":"Cy"})")).status == 201);
    auto ids = [&](const std::string& payload) {
      CommandReply r = h.Execute(Msg("filter", "", payload));
      REQUIRE(r.status == 200);
      std::vector<std::string> out;
      for (const json::Value& rec : r.body->Find("result")->AsArray()) out.push_back(rec.Find("id")->AsString());
      return out;
    };
    CHECK(ids(R"({"givenName":"AN"})") == std::vector<std::string>{"p1", "p2"});
    CHECK(ids(R"({"email":"EXAMPLE","status":"pending"})") == std::vector<std::string>{"p2"});
    CHECK(ids(R"({"telephone":"1"})").empty());  // a field the records lack never matches
    CHECK(ids("{}") == std::vector<std::string>{"p1", "p2", "p3"});
  }

  TEST_CASE("filter: other values must be equal") {
    EngineHarness h(testing::LoadExample("order.json"));
    auto create = [&](const std::string& id, const std::string& payload) {
      json::Value m = J(R"({"command":"create","resource":"order"})");
      m.Set("id", id);
      m.Set("payload", J(payload));
      REQUIRE(h.Execute(json::Dump(m)).status == 201);
    };
    create("o1", R"({"personId":"p1","item":"book","quantity":2})");
    create("o2", R"({"personId":"p1","item":"lamp"})");
    CHECK(MatchesFilter(J(R"({"quantity":2})"), J(R"({"quantity":2.0})").AsObject()));
    CHECK_FALSE(MatchesFilter(J(R"({"quantity":"2"})"), J(R"({"quantity":2})").AsObject()));
    CHECK(MatchesFilter(J(R"({"tags":["a"]})"), J(R"({"tags":["a"]})").AsObject()));
    CHECK_FALSE(MatchesFilter(J(R"({"ok":true})"), J(R"({"ok":false})").AsObject()));
    CommandReply r = h.Execute(R"({"command":"filter","resource":"order","payload":{"item":"LAM"}})");
    REQUIRE(r.status == 200);
    REQUIRE(r.body->Find("result")->AsArray().size() == 1);
    CHECK(r.body->Find("result")->AsArray()[0].Find("id")->AsString() == "o2");
  }

  TEST_CASE("undeclared fields: warnings, or 400 with x-strict") {
    EngineHarness person(testing::LoadExample("person.json"));
    CommandReply r = person.Execute(Msg("create", "p1", R"({"email":"a@b.c","colour":"red"})"));
    CHECK(r.status == 201);
    CHECK(r.body->Find("result")->Find("colour") == nullptr);
    CHECK(json::Dump(*r.body->Find("warnings")) == R"(["colour"])");
    CHECK(person.Execute(Msg("read", "p1")).body->Find("warnings") == nullptr);

    EngineHarness order(testing::LoadExample("order.json"));
    CommandReply strict = order.Execute(
        R"({"command":"create","resource":"order","payload":{"personId":"p1","item":"book","colour":"red"}})");
    CHECK(strict.status == 400);
    CHECK(ErrorOf(strict) == "Undeclared inputs for command 'create': colour");
    CHECK(order.Count() == 0);
  }

  TEST_CASE("type errors name the field") {
    EngineHarness order(testing::LoadExample("order.json"));
    CommandReply r = order.Execute(
        R"({"command":"create","resource":"order","payload":{"personId":"p1","item":"book","quantity":"two"}})");
    CHECK(r.status == 400);
    CHECK(ErrorOf(r) == "payload.quantity: expected an integer, got a string");
    CommandReply mail = order.Execute(
        R"({"command":"create","resource":"order","payload":{"personId":"p1","item":"book","contactEmail":"nope"}})");
    CHECK(ErrorOf(mail) == "payload.contactEmail: expected an email address, got 'nope'");
  }
}

TEST_SUITE("engine.paging") {
  struct Paged : EngineHarness {
    Paged() : EngineHarness(testing::LoadExample("person.json")) {
      for (int i = 1; i <= 5; ++i) {
        REQUIRE(Execute(Msg("create", "p" + std::to_string(i), R"({"email":"x@y.z"})")).status == 201);
      }
    }
    std::vector<std::string> Page(const CommandReply& r) {
      std::vector<std::string> out;
      for (const json::Value& rec : r.body->Find("result")->AsArray()) out.push_back(rec.Find("id")->AsString());
      return out;
    }
  };

  TEST_CASE("limit and after walk the records in creation order") {
    Paged h;
    CommandReply first = h.Execute(Msg("list"), PageRequest{2, std::nullopt});
    CHECK(h.Page(first) == std::vector<std::string>{"p1", "p2"});
    REQUIRE(first.body->Find("next") != nullptr);
    const std::string next = first.body->Find("next")->AsString();
    CommandReply second = h.Execute(Msg("list"), PageRequest{2, next});
    CHECK(h.Page(second) == std::vector<std::string>{"p3", "p4"});
    CommandReply third = h.Execute(Msg("list"), PageRequest{2, second.body->Find("next")->AsString()});
    CHECK(h.Page(third) == std::vector<std::string>{"p5"});
    CHECK(third.body->Find("next") == nullptr);
    // Without a limit everything comes back and there is no cursor.
    CommandReply all = h.Execute(Msg("list"));
    CHECK(h.Page(all).size() == 5);
    CHECK(all.body->Find("next") == nullptr);
  }

  TEST_CASE("a deleted record does not break the cursor") {
    Paged h;
    CommandReply first = h.Execute(Msg("list"), PageRequest{2, std::nullopt});
    REQUIRE(h.Execute(Msg("delete", "p2")).status == 204);
    CommandReply second = h.Execute(Msg("list"), PageRequest{2, first.body->Find("next")->AsString()});
    CHECK(h.Page(second) == std::vector<std::string>{"p3", "p4"});
  }

  TEST_CASE("limit and after in the message - the query wins") {
    Paged h;
    CommandReply r = h.Execute(R"({"command":"list","resource":"person","limit":3})");
    CHECK(h.Page(r) == std::vector<std::string>{"p1", "p2", "p3"});
    CommandReply q = h.Execute(R"({"command":"list","resource":"person","limit":3})", PageRequest{1, std::nullopt});
    CHECK(h.Page(q) == std::vector<std::string>{"p1"});
    CommandReply after = h.Execute(json::Dump(
        json::Object{{"command", "list"}, {"resource", "person"}, {"after", r.body->Find("next")->AsString()}}));
    CHECK(h.Page(after) == std::vector<std::string>{"p4", "p5"});
  }

  TEST_CASE("filter pages over the matching records") {
    Paged h;
    REQUIRE(h.Execute(Msg("status", "p2", R"({"status":"active"})")).status == 200);
    REQUIRE(h.Execute(Msg("status", "p4", R"({"status":"active"})")).status == 200);
    REQUIRE(h.Execute(Msg("status", "p5", R"({"status":"active"})")).status == 200);
    CommandReply first = h.Execute(Msg("filter", "", R"({"status":"active"})"), PageRequest{2, std::nullopt});
    CHECK(h.Page(first) == std::vector<std::string>{"p2", "p4"});
    CommandReply second =
        h.Execute(Msg("filter", "", R"({"status":"active"})"), PageRequest{2, first.body->Find("next")->AsString()});
    CHECK(h.Page(second) == std::vector<std::string>{"p5"});
  }

  TEST_CASE("bad paging values") {
    Paged h;
    CHECK(ErrorOf(h.Execute(Msg("list"), PageRequest{0, std::nullopt})) == "limit: must be between 1 and 1000");
    CHECK(ErrorOf(h.Execute(Msg("list"), PageRequest{1001, std::nullopt})) == "limit: must be between 1 and 1000");
    CHECK(ErrorOf(h.Execute(Msg("list"), PageRequest{std::nullopt, std::string("p3")})) ==
          "after: 'p3' is not a cursor returned by this engine");
    CHECK(ErrorOf(h.Execute(R"({"command":"list","resource":"person","limit":"2"})")) == "limit: expected an integer");
    CHECK(ErrorOf(h.Execute(R"({"command":"list","resource":"person","after":5})")) == "after: expected a string");
  }
}

TEST_SUITE("engine.repeat") {
  TEST_CASE("a requestId seen before gets the stored reply and changes nothing") {
    EngineHarness h(testing::LoadExample("person.json"));
    CommandReply first = h.Execute(WithRequest(kCreateAnn, "r1"));
    REQUIRE(first.status == 201);
    CHECK_FALSE(first.replayed);
    // The stored reply wins even over a different payload.
    CommandReply again = h.Repeat(WithRequest(Msg("create", "p1", R"({"email":"other@x.org"})"), "r1"));
    CHECK(again.status == 201);
    CHECK(again.replayed);
    CHECK(Body(again) == Body(first));
    CHECK(h.Count() == 1);
    CHECK(ReadRecord(h, "p1").Find("email")->AsString() == "ann@example.org");
    // /execute with the same requestId is deduplicated too.
    CommandReply exec = h.Execute(WithRequest(kCreateAnn, "r1"));
    CHECK(exec.status == 201);
    CHECK(exec.replayed);
  }

  TEST_CASE("a generated id is replayed, not generated again") {
    EngineHarness h(testing::LoadExample("person.json"));
    const std::string m = Msg("create", "", R"({"email":"a@b.c"})", "r1");
    CommandReply first = h.Execute(m);
    CommandReply second = h.Repeat(m);
    CHECK(Body(first) == Body(second));
    CHECK(h.Count() == 1);
  }

  TEST_CASE("failed requests are replayed with their failure") {
    EngineHarness h(testing::LoadExample("person.json"));
    CommandReply missing = h.Execute(Msg("update", "p1", R"({"givenName":"X"})", "r1"));
    REQUIRE(missing.status == 404);
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    CommandReply again = h.Repeat(Msg("update", "p1", R"({"givenName":"X"})", "r1"));
    CHECK(again.status == 404);
    CHECK(again.replayed);
    CHECK(ReadRecord(h, "p1").Find("givenName")->AsString() == "Ann");
  }

  TEST_CASE("a delete is replayed as 204") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    REQUIRE(h.Execute(Msg("delete", "p1", "", "r1")).status == 204);
    CommandReply again = h.Repeat(Msg("delete", "p1", "", "r1"));
    CHECK(again.status == 204);
    CHECK_FALSE(again.body.has_value());
    CHECK(again.replayed);
  }

  TEST_CASE("a read is executed again") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    REQUIRE(h.Execute(Msg("read", "p1", "", "r1")).status == 200);
    REQUIRE(h.Execute(Msg("update", "p1", R"({"givenName":"Anne"})")).status == 200);
    CommandReply again = h.Repeat(Msg("read", "p1", "", "r1"));
    CHECK_FALSE(again.replayed);
    CHECK(again.body->Find("result")->Find("givenName")->AsString() == "Anne");
  }

  TEST_CASE("a requestId reused for another command is a conflict") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(WithRequest(kCreateAnn, "r1")).status == 201);
    CommandReply r = h.Execute(Msg("delete", "p1", "", "r1"));
    CHECK(r.status == 409);
    CHECK(ErrorOf(r) == "requestId r1 was already used for command 'create'");
    CHECK(h.Count() == 1);
  }

  TEST_CASE("a bad requestId") {
    EngineHarness h(testing::LoadExample("person.json"));
    CommandReply r = h.Execute(R"({"command":"list","resource":"person","requestId":5})");
    CHECK(r.status == 400);
    CHECK(ErrorOf(r) == "requestId: expected a non-empty string");
    CHECK(h.Execute(R"({"command":"list","resource":"person","requestId":""})").status == 400);
  }

  TEST_CASE("/repeat of a create whose id exists overwrites it") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    CommandReply r = h.Repeat(Msg("create", "p1", R"({"email":"new@x.org"})", "r2"));
    CHECK(r.status == 201);
    CHECK(Body(r) == R"({"statusCode":201,"result":{"status":"pending","email":"new@x.org","id":"p1"}})");
    CHECK(h.Count() == 1);
    CHECK(ReadRecord(h, "p1") == *r.body->Find("result"));
    // Without a requestId too.
    CHECK(h.Repeat(kCreateAnn).status == 201);
    CHECK(ReadRecord(h, "p1").Find("givenName")->AsString() == "Ann");
  }

  TEST_CASE("old request ids are forgotten after the retention") {
    EngineOptions options;
    options.request_retention = std::chrono::hours(1);
    EngineHarness h(testing::LoadExample("person.json"), options);
    REQUIRE(h.Execute(WithRequest(kCreateAnn, "r1")).status == 201);
    h.clock.Advance(std::chrono::hours(2));
    // Pruning rides on writes, every 256 commits.
    for (int i = 0; i < 256; ++i)
      REQUIRE(h.Execute(Msg("create", "x" + std::to_string(i), R"({"email":"a@b.c"})")).status == 201);
    CommandReply r = h.Revert(R"({"requestId":"r1"})");
    CHECK(Body(r) == R"({"status":"noop","requestId":"r1"})");
    CHECK(ReadRecord(h, "p1").IsObject());
  }
}

TEST_SUITE("engine.revert") {
  TEST_CASE("revert of a create deletes the record - twice is already-reverted") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(WithRequest(kCreateAnn, "r1")).status == 201);
    CommandReply r = h.Revert(R"({"requestId":"r1"})");
    CHECK(r.status == 200);
    CHECK(Body(r) == R"({"status":"reverted","requestId":"r1"})");
    CHECK(h.Count() == 0);
    CommandReply again = h.Revert(R"({"requestId":"r1"})");
    CHECK(again.status == 200);
    CHECK(Body(again) == R"({"status":"already-reverted","requestId":"r1"})");
    // The stored reply of the create is still what a repeat gets; it does not apply again.
    CommandReply repeat = h.Repeat(WithRequest(kCreateAnn, "r1"));
    CHECK(repeat.status == 201);
    CHECK(repeat.replayed);
    CHECK(h.Count() == 0);
  }

  TEST_CASE("revert of an update, a status and a delete restores the record") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    REQUIRE(h.Execute(Msg("create", "p2", R"({"email":"b@x.org"})")).status == 201);
    const json::Value original = ReadRecord(h, "p1");

    REQUIRE(h.Execute(Msg("update", "p1", R"({"givenName":"Anne","familyName":"Lee"})", "u1")).status == 200);
    CHECK(Body(h.Revert(R"({"requestId":"u1"})")) == R"({"status":"reverted","requestId":"u1"})");
    CHECK(ReadRecord(h, "p1") == original);

    REQUIRE(h.Execute(Msg("status", "p1", R"({"status":"suspended"})", "s1")).status == 200);
    CHECK(h.Revert(R"({"requestId":"s1"})").body->Find("status")->AsString() == "reverted");
    CHECK(ReadRecord(h, "p1") == original);

    REQUIRE(h.Execute(Msg("delete", "p1", "", "d1")).status == 204);
    CHECK(ReadRecord(h, "p1").IsNull());
    CHECK(h.Revert(R"({"requestId":"d1"})").body->Find("status")->AsString() == "reverted");
    CHECK(ReadRecord(h, "p1") == original);
    // Back in its place in creation order.
    CHECK(ListIds(h) == std::vector<std::string>{"p1", "p2"});
  }

  TEST_CASE("reverts in reverse order undo a sequence") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(WithRequest(kCreateAnn, "r1")).status == 201);
    REQUIRE(h.Execute(Msg("update", "p1", R"({"givenName":"B"})", "r2")).status == 200);
    REQUIRE(h.Execute(Msg("status", "p1", R"({"status":"active"})", "r3")).status == 200);
    for (const char* id : {"r3", "r2", "r1"}) {
      CAPTURE(id);
      CHECK(h.Revert(std::string(R"({"requestId":")") + id + "\"}").body->Find("status")->AsString() == "reverted");
    }
    CHECK(h.Count() == 0);
  }

  TEST_CASE("revert of a /repeat overwrite restores the old record") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    const json::Value original = ReadRecord(h, "p1");
    REQUIRE(h.Repeat(Msg("create", "p1", R"({"email":"new@x.org"})", "r2")).status == 201);
    CHECK(h.Revert(R"({"requestId":"r2"})").body->Find("status")->AsString() == "reverted");
    CHECK(ReadRecord(h, "p1") == original);
  }

  TEST_CASE("revert of a read or a failed request is a noop") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(WithRequest(kCreateAnn, "r1")).status == 201);
    REQUIRE(h.Execute(Msg("read", "p1", "", "read1")).status == 200);
    CHECK(Body(h.Revert(R"({"requestId":"read1"})")) == R"({"status":"noop","requestId":"read1"})");
    REQUIRE(h.Execute(WithRequest(kCreateAnn, "dup")).status == 409);
    CHECK(Body(h.Revert(R"({"requestId":"dup"})")) == R"({"status":"noop","requestId":"dup"})");
    REQUIRE(h.Execute(Msg("create", "", R"({"status":"weird"})", "bad")).status == 400);
    CHECK(Body(h.Revert(R"({"requestId":"bad"})")) == R"({"status":"noop","requestId":"bad"})");
    CHECK(h.Count() == 1);
  }

  TEST_CASE("revert of an unknown request is a noop, and that request never applies later") {
    EngineHarness h(testing::LoadExample("person.json"));
    CHECK(Body(h.Revert(R"({"requestId":"early"})")) == R"({"status":"noop","requestId":"early"})");
    CHECK(Body(h.Revert(R"({"requestId":"early"})")) == R"({"status":"noop","requestId":"early"})");
    CommandReply late = h.Execute(WithRequest(kCreateAnn, "early"));
    CHECK(late.status == 409);
    CHECK(ErrorOf(late) == "Request early was reverted before it was applied; it will not be applied");
    CHECK(h.Repeat(WithRequest(kCreateAnn, "early")).status == 409);
    CHECK(h.Count() == 0);
  }

  TEST_CASE("with a requestId, nothing else in the body counts") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    CommandReply r = h.Revert(R"({"requestId":"other","command":"create","resource":"person","id":"p1"})");
    CHECK(Body(r) == R"({"status":"noop","requestId":"other"})");
    CHECK(h.Count() == 1);
  }

  TEST_CASE("without a requestId, a create CCM deletes its record (the original's clients)") {
    EngineHarness h(testing::LoadExample("person.json"));
    REQUIRE(h.Execute(kCreateAnn).status == 201);
    CHECK(Body(h.Revert(R"({"command":"update","resource":"person","id":"p1"})")) == R"({"status":"noop"})");
    CHECK(Body(h.Revert(R"({"command":"create","resource":"robot","id":"p1"})")) == R"({"status":"noop"})");
    CHECK(Body(h.Revert(R"({"command":"create","resource":"person"})")) == R"({"status":"noop"})");
    CHECK(h.Count() == 1);
    CHECK(Body(h.Revert(R"({"command":"create","resource":"person","id":"p1"})")) == R"({"status":"reverted"})");
    CHECK(h.Count() == 0);
    CHECK(Body(h.Revert(R"({"command":"create","resource":"person","id":"p1"})")) == R"({"status":"noop"})");
  }

  TEST_CASE("odd revert bodies") {
    EngineHarness h(testing::LoadExample("person.json"));
    CHECK(Body(h.Revert("null")) == R"({"status":"noop"})");
    CHECK(Body(h.Revert("[1,2]")) == R"({"status":"noop"})");
    CHECK(Body(h.Revert("{}")) == R"({"status":"noop"})");
    CommandReply bad = h.Revert(R"({"requestId":42})");
    CHECK(bad.status == 400);
    CHECK(ErrorOf(bad) == "requestId: expected a non-empty string");
  }
}

}  // namespace
}  // namespace csp::engine
