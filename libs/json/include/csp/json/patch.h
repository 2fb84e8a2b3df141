#pragma once
// JSON Patch (RFC 6902) and JSON Merge Patch (RFC 7396).

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::json {

// Applies every operation of `patch` (a JSON array of op objects) to `doc`, atomically: on any
// error doc is left exactly as it was. Supports add, remove, replace, move, copy, test.
// Errors: kInvalidArgument naming the operation index and field ("patch[2].path: not found",
// "patch[0].op: unknown op 'frob'"); a failed "test" is kConflict ("patch[1]: test failed at /a"),
// which services answer with 409.
Status ApplyPatch(Value& doc, const Value& patch);

// RFC 7396: returns the result of merging `patch` into `target` (null members delete keys, a
// non-object patch replaces the target).
Value MergePatch(const Value& target, const Value& patch);
// In place form of the same.
void ApplyMergePatch(Value& target, const Value& patch);

}  // namespace csp::json
