#include "initial_state.h"

#include <algorithm>
#include <cctype>

#include "commands.h"
#include "csp/core/id.h"

namespace csp::job_runner {
namespace {

bool ValidStateId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '~' || c == '-';
  });
}

}  // namespace

void ShallowMerge(json::Value& into, const json::Value& from) {
  if (!from.IsObject()) return;
  if (!into.IsObject()) into = json::Value::MakeObject();
  for (const auto& [key, value] : from.AsObject()) into.Set(key, value);
}

Result<InitialState> AssembleInitialState(const Options& o, const json::Value& job, std::istream& in) {
  InitialState state;
  state.content = json::Value::MakeObject();
  std::vector<std::string> origins;

  if (!o.state_file.empty()) {
    auto file = ReadJsonObjectFile(o.state_file, "state file", &in);
    if (!file) return file.error();
    if (const json::Value* id = file->Find("id"); id != nullptr && !id->IsNull()) {
      if (id->IsString()) state.id = id->AsString();
      if (id->IsInt()) state.id = std::to_string(id->AsInt());
      if (state.id.empty()) return InvalidArgument("state file " + o.state_file + ": \"id\" must be a string");
    }
    file->AsObject().Erase("id");  // the id names the document; it is not content
    state.content = std::move(*file);
    origins.push_back("--state " + o.state_file);
  }
  if (const json::Value* initial = job.Find("initialState"); initial != nullptr && !initial->IsNull()) {
    if (!initial->IsObject()) return InvalidArgument("job file: initialState must be an object");
    ShallowMerge(state.content, *initial);
    origins.emplace_back("initialState");
  }
  if (!o.input_file.empty()) {
    auto input = ReadJsonObjectFile(o.input_file, "input file", &in);
    if (!input) return input.error();
    ShallowMerge(state.content, *input);
    origins.push_back("--input " + o.input_file);
  }
  for (const auto& assignment : o.sets) {
    if (auto s = ApplySet(state.content, assignment); !s) return s.error();
  }
  if (!o.sets.empty()) origins.emplace_back("--set");

  state.present = !origins.empty();
  if (state.present && state.id.empty()) state.id = NewTimeOrderedUuid();
  if (state.present && !ValidStateId(state.id)) {
    return InvalidArgument("state id '" + state.id + "' is not valid: use 1-128 characters of A-Z a-z 0-9 . _ ~ -");
  }
  for (size_t i = 0; i < origins.size(); ++i) state.origin += (i ? " + " : "") + origins[i];
  return state;
}

}  // namespace csp::job_runner
