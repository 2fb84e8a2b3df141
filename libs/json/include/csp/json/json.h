#pragma once
// Parse and dump. The only entry points that touch RapidJSON.

#include <string>
#include <string_view>

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::json {

struct ParseOptions {
  int max_depth = 64;  // nesting deeper than this is an error, not a stack overflow
};

// Errors: kInvalidJson, message "offset 17: Missing a comma or '}' after an object member."
// or "offset 3: nesting deeper than 64". Trailing non-space text is an error.
Result<Value> Parse(std::string_view text, const ParseOptions& options = {});

// Compact JSON text. Doubles print in shortest round-trip form; NaN/Inf print as null.
std::string Dump(const Value& v);
// Two-space indented JSON text, for people (job-runner --emit).
std::string DumpPretty(const Value& v);

// Nesting depth: scalars 0, [] 1, [[1]] 2.
int Depth(const Value& v);

}  // namespace csp::json
