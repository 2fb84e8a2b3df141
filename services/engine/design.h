#pragma once
// The design document (design.json, the original's format) that turns the generic engine into a
// concrete service: its resource type, the fields of that resource and the commands it accepts.
//
//   Result<Design> design = LoadDesignFile("examples/designs/person.json");
//   if (!design) { print design.error().message line by line; exit 2; }
//
// Validation lists EVERY problem, one per line, each naming its JSON path:
//   "commands.create.inputs.required[1]: expected a string"
//   "serviceInfo: is required"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::engine {

// The seven verbs the engine implements. A declared command with another name is answered
// 400 "Command not implemented: X", as the original does.
enum class Verb { kCreate, kRead, kUpdate, kStatus, kDelete, kList, kFilter, kNone };

Verb VerbOf(std::string_view command);
// True for verbs that never change a record (read, list, filter).
bool IsReadVerb(Verb verb);

// resourceSchema.<type>.<field>
struct FieldSchema {
  std::string type;    // "string", "number", "integer", "boolean", "object", "array", "null" or ""
  std::string format;  // "ISO8601", "date-time", "email" or "" (others are ignored)
  std::optional<json::Array> enum_values;
};

struct TransitionType {
  bool safe = false;
  bool idempotent = false;
  bool reversible = false;
};

// commands.<name>
struct CommandSpec {
  std::string name;
  Verb verb = Verb::kNone;
  std::string description;
  std::optional<TransitionType> transition;
  std::vector<std::string> required;  // as written in the design ("id" included)
  std::vector<std::string> optional;
  json::Object defaults;
  std::vector<std::string> rules;  // rule ids; only "generateIfMissing" has an effect
  std::string output_type;         // picks the resourceSchema entry for enum and type checks
  std::string returns;             // "object", "array", "none" or ""
  std::optional<int> status_code;  // used by create (default 201) and delete (default 204)

  bool HasRule(std::string_view id) const;
};

struct ServiceInfo {
  std::string service_name;
  std::string description;
  std::vector<std::string> tags;
  std::string semantic_profile;
  std::vector<std::string> media_types;
};

using FieldMap = std::vector<std::pair<std::string, FieldSchema>>;

struct Design {
  json::Value raw;  // the document as loaded, x- extensions included (served at GET /design)
  std::string title;
  std::string version;
  std::string description;
  ServiceInfo service_info;
  std::string resource_type;
  std::vector<std::pair<std::string, FieldMap>> resource_schema;  // in document order
  std::vector<CommandSpec> commands;                              // in document order
  bool strict = false;  // "x-strict": true rejects undeclared payload fields instead of dropping them

  // nullptr when the command is not declared.
  const CommandSpec* FindCommand(std::string_view name) const;
  // The fields of resourceSchema[output.type || resourceType]; nullptr when that entry is absent.
  const FieldMap* SchemaFor(const CommandSpec& command) const;
  // The schema of one field of that entry; nullptr when absent.
  const FieldSchema* FieldFor(const CommandSpec& command, std::string_view field) const;
};

// Every problem of a design document, in document order; empty when it is valid.
// Required: serviceInfo (object) with a non-empty serviceName, a non-empty resourceType, and a
// non-empty commands object. Every other documented key is optional but must have its documented
// type when present; defaults must satisfy the enum and type of their field. Unknown keys are kept.
std::vector<std::string> ValidateDesign(const json::Value& doc);

// ValidateDesign, then the typed form. Errors: kInvalidArgument whose message is the problems
// joined with '\n'.
Result<Design> ParseDesign(json::Value doc);

// Reads and parses a design file. Errors (kInvalidArgument, one problem per line): the file
// cannot be read ("<path>: cannot read: <reason>"), is not JSON ("<path>: offset 17: ..."), or
// does not validate.
Result<Design> LoadDesignFile(const std::string& path);

// "Must be one of [pending, active, suspended]" style list: strings as written, other values as JSON.
std::string JoinEnum(const json::Array& values);

}  // namespace csp::engine
