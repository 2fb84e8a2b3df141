#pragma once
// Inputs from state and results to state (spec "Inputs and results", original-protocol.md §3.3-3.4),
// as pure functions over JSON values: no network, no store.

#include <optional>
#include <string>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"
#include "job_model.h"

namespace csp::job_control {

// Replaces every {"$fromState": "<pointer>", "default": <v>} in `value` with the value the RFC 6901
// pointer finds in `state`. When the pointer finds nothing, the default (itself resolved: it may
// hold references) is used; with neither, the reference is "absent": the key is left out of its
// object, an array element becomes null, and at the top this returns std::nullopt. null, 0 and
// false found in state are values, never replaced by the default. Values taken from state are not
// resolved again.
std::optional<json::Value> ResolveRefs(const json::Value& value, const json::Value& state);

// The body of a task call: the resolved input's members plus "requestId" (which overrides any
// requestId of the input). A null input gives {"requestId": ...}.
json::Value BuildRequestBody(const json::Value& input, const json::Value& state, const std::string& request_id);

// The value a reply stands for: null for 204 (or an empty body), the parsed JSON when the body is
// JSON, else {"_raw": "<text>", "_contentType": "<type>"} (the original's form for non-JSON).
json::Value ReplyValue(int status, const std::string& content_type, const std::string& body);

// One RFC 6902 patch for all storeResultAt instructions of a task, built against the current
// content of the state document: for each instruction whose onlyOnStatus admits `status`, "add"
// ops create each missing (or non-container) parent of targetPath as {}, then "add" the value
// (sourcePath of `result`, or all of it). Applying the patch to `state` is checked here, so it
// applies unless the document changed meanwhile. Returns an empty array when nothing is to be
// written. Errors (kInvalidArgument): "sourcePath /x not found in result", or a targetPath that
// cannot be written in this document (e.g. an array index past the end). When parents_created is
// given it receives how many of the ops create or replace a parent (0: the patch is only the final
// "add" of each admitted instruction, every parent already being a container in `state`).
Result<json::Value> BuildStorePatch(const std::vector<StoreSpec>& specs, int status, const json::Value& result,
                                    const json::Value& state, int* parents_created = nullptr);

}  // namespace csp::job_control
