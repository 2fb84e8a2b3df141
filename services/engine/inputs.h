#pragma once
// Input checks of a command message's payload against its command's `inputs` and the resource
// schema. The order and the messages are the original's where it had them:
//   1. defaults filled in;
//   2. each required field ("id" excluded: it comes from the message) non-null in the payload or
//      defaulted, else "Missing required input: K";
//   3. optional fields copied when non-null; every other payload field dropped;
//   4. enums: "Invalid value for 'status': 'weird'. Must be one of [pending, active, suspended]";
//   then ours:
//   5. types and formats from resourceSchema: "payload.quantity: expected an integer, got a string";
//   6. with "x-strict": true, dropped fields are an error instead of a warning:
//      "Undeclared inputs for command 'create': colour, size". A payload "id" is always only a
//      warning (the original's designs list "id" as an input, but the id comes from the message).

#include <string>
#include <string_view>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"
#include "design.h"

namespace csp::engine {

struct CheckedInput {
  json::Object fields;                // the validated input, defaults first
  std::vector<std::string> warnings;  // names of the payload fields that were dropped, in payload order
};

// payload may be nullptr (absent) or null: both mean {}. Any other non-object payload is
// "payload: expected an object". All errors are kInvalidArgument.
Result<CheckedInput> CheckInputs(const Design& design, const CommandSpec& command, const json::Value* payload);

// The type and format check of one value, named by `path` in the message
// ("payload.quantity: expected an integer, got a string"). Unknown types and formats pass.
Status CheckFieldValue(std::string_view path, const json::Value& value, const FieldSchema& schema);

// The enum check of one value, with the original's message.
Status CheckEnum(std::string_view field, const json::Value& value, const FieldSchema& schema);

// True for a plausible e-mail address: one '@', a non-empty local part, a domain with a dot,
// no spaces. Deliberately loose: the engine is not a mail validator.
bool LooksLikeEmail(std::string_view s);

}  // namespace csp::engine
