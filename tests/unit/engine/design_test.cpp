#include "design.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "fixture.h"

namespace csp::engine {
namespace {

using testing::J;

bool Has(const std::vector<std::string>& problems, const std::string& line) {
  return std::find(problems.begin(), problems.end(), line) != problems.end();
}

std::string Joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

constexpr const char* kMinimal = R"({
  "serviceInfo": {"serviceName": "thing"},
  "resourceType": "thing",
  "commands": {"read": {}}
})";

TEST_SUITE("engine.design") {
  TEST_CASE("the original's person design loads unchanged") {
    Design d = testing::LoadExample("person.json");
    CHECK(d.title == "Person Service");
    CHECK(d.version == "1.0.0");
    CHECK(d.service_info.service_name == "person");
    CHECK(d.service_info.tags == std::vector<std::string>{"person"});
    CHECK(d.service_info.semantic_profile == "urn:example:person");
    CHECK(d.resource_type == "person");
    CHECK(d.commands.size() == 7);
    CHECK_FALSE(d.strict);

    const CommandSpec* create = d.FindCommand("create");
    REQUIRE(create != nullptr);
    CHECK(create->verb == Verb::kCreate);
    CHECK(create->HasRule("generateIfMissing"));
    CHECK(create->required == std::vector<std::string>{"email"});
    CHECK(create->status_code == 201);
    CHECK(create->defaults.Find("status")->AsString() == "pending");
    REQUIRE(create->transition.has_value());
    CHECK(create->transition->reversible);

    const CommandSpec* del = d.FindCommand("delete");
    REQUIRE(del != nullptr);
    CHECK(del->status_code == 204);
    CHECK(d.SchemaFor(*del) == nullptr);  // output.type "null": no schema, as in the original

    const FieldSchema* status = d.FieldFor(*create, "status");
    REQUIRE(status != nullptr);
    REQUIRE(status->enum_values.has_value());
    CHECK(status->enum_values->size() == 3);
    CHECK(d.FieldFor(*create, "dateCreated")->format == "ISO8601");
    CHECK(d.raw.Find("authorization") != nullptr);  // unknown keys are kept
  }

  TEST_CASE("the other example designs load") {
    Design todo = testing::LoadExample("todo.json");
    CHECK(todo.resource_type == "todo");
    CHECK(todo.commands.size() == 7);
    Design order = testing::LoadExample("order.json");
    CHECK(order.resource_type == "order");
    CHECK(order.strict);
    CHECK(order.FieldFor(*order.FindCommand("create"), "quantity")->type == "integer");
  }

  TEST_CASE("a minimal design is valid") {
    CHECK(ValidateDesign(J(kMinimal)).empty());
    Result<Design> d = ParseDesign(J(kMinimal));
    REQUIRE(d.ok());
    CHECK(d->FindCommand("read")->verb == Verb::kRead);
    CHECK(d->FindCommand("nope") == nullptr);
  }

  TEST_CASE("a missing serviceInfo is a problem, not a crash") {
    std::vector<std::string> problems = ValidateDesign(J(R"({"resourceType":"x","commands":{"read":{}}})"));
    CHECK(problems == std::vector<std::string>{"serviceInfo: is required"});
    Result<Design> d = ParseDesign(J(R"({"resourceType":"x","commands":{"read":{}}})"));
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().message == "serviceInfo: is required");
  }

  TEST_CASE("every problem is listed with its JSON path") {
    std::vector<std::string> problems = ValidateDesign(J(R"({
      "title": 3,
      "serviceInfo": {"serviceName": "", "tags": ["a", 7]},
      "resourceSchema": {"thing": {"status": {"type": "string", "enum": []}, "size": 5}},
      "commands": {
        "create": {
          "transitionType": {"safe": "no"},
          "inputs": {"required": ["a", 1], "optional": "b", "defaults": [], "rules": [{"x": 1}, 2]},
          "output": {"returns": 4, "statusCode": "201"}
        },
        "read": []
      },
      "x-strict": "yes"
    })"));
    INFO(Joined(problems));
    CHECK(Has(problems, "title: expected a string"));
    CHECK(Has(problems, "serviceInfo.serviceName: must not be empty"));
    CHECK(Has(problems, "serviceInfo.tags[1]: expected a string"));
    CHECK(Has(problems, "resourceType: is required"));
    CHECK(Has(problems, "resourceSchema.thing.status.enum: expected a non-empty array"));
    CHECK(Has(problems, "resourceSchema.thing.size: expected an object"));
    CHECK(Has(problems, "commands.create.transitionType.safe: expected a boolean"));
    CHECK(Has(problems, "commands.create.inputs.required[1]: expected a string"));
    CHECK(Has(problems, "commands.create.inputs.optional: expected an array of strings"));
    CHECK(Has(problems, "commands.create.inputs.defaults: expected an object"));
    CHECK(Has(problems, "commands.create.inputs.rules[0].id: is required"));
    CHECK(Has(problems, "commands.create.inputs.rules[1]: expected an object"));
    CHECK(Has(problems, "commands.create.output.returns: expected a string"));
    CHECK(Has(problems, "commands.create.output.statusCode: expected an integer from 200 to 299"));
    CHECK(Has(problems, "commands.read: expected an object"));
    CHECK(Has(problems, "x-strict: expected a boolean"));
    CHECK(problems.size() == 16);
  }

  TEST_CASE("structural problems of the top level") {
    CHECK(ValidateDesign(J("[]")) == std::vector<std::string>{"design: expected an object"});
    std::vector<std::string> problems = ValidateDesign(J(R"({"serviceInfo": "x", "resourceType": 1, "commands": {}})"));
    INFO(Joined(problems));
    CHECK(Has(problems, "serviceInfo: expected an object"));
    CHECK(Has(problems, "resourceType: expected a string"));
    CHECK(Has(problems, "commands: must declare at least one command"));
  }

  TEST_CASE("defaults must satisfy their field's enum and type") {
    std::vector<std::string> problems = ValidateDesign(J(R"({
      "serviceInfo": {"serviceName": "thing"},
      "resourceType": "thing",
      "resourceSchema": {"thing": {"status": {"enum": ["a", "b"]}, "size": {"type": "integer"}}},
      "commands": {"create": {"inputs": {"defaults": {"status": "c", "size": "big"}}}}
    })"));
    INFO(Joined(problems));
    CHECK(Has(problems,
              "commands.create.inputs.defaults.status: Invalid value for 'status': 'c'. Must be one of [a, b]"));
    CHECK(Has(problems, "commands.create.inputs.defaults.size: expected an integer, got a string"));
  }

  TEST_CASE("LoadDesignFile reports unreadable and malformed files") {
    Result<Design> missing = LoadDesignFile("/nonexistent/design.json");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find("/nonexistent/design.json: cannot read") == 0);

    const std::string path = "/tmp/engine-design-test-" + std::to_string(::getpid()) + ".json";
    { std::ofstream(path) << "{\"title\": }"; }
    Result<Design> malformed = LoadDesignFile(path);
    std::remove(path.c_str());
    REQUIRE_FALSE(malformed.ok());
    CHECK(malformed.error().message.find(path + ": offset") == 0);
  }

  TEST_CASE("JoinEnum prints strings as written and other values as JSON") {
    CHECK(JoinEnum({json::Value("a"), json::Value(2), json::Value(true)}) == "a, 2, true");
  }
}

}  // namespace
}  // namespace csp::engine
