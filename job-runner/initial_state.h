#pragma once
// The state document a run starts with, assembled from (in this order, later wins): the --state
// file (minus its "id"), the job's initialState, the --input file (top-level keys replace, as
// the original's merge), then each --set. Shared by `run` (which writes it) and `validate`
// (which checks $fromState references against it).

#include <istream>
#include <string>

#include "csp/core/result.h"
#include "csp/json/value.h"
#include "options.h"

namespace csp::job_runner {

struct InitialState {
  bool present = false;  // some source was given: the runner creates the document
  std::string id;        // the --state file's "id", else a new UUID (when present)
  json::Value content;   // an object
  std::string origin;    // "--state s.json + initialState + --set", for messages
};

// Errors (kInvalidArgument, exit 2): unreadable or invalid files, a non-object initialState, a
// bad --set, an id that shared-state would refuse.
Result<InitialState> AssembleInitialState(const Options& options, const json::Value& job, std::istream& in);

// Top-level keys of `from` replace those of `into` (the original's shallow merge).
void ShallowMerge(json::Value& into, const json::Value& from);

}  // namespace csp::job_runner
