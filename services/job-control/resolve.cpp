#include "resolve.h"

#include <algorithm>

#include "csp/json/json.h"
#include "csp/json/patch.h"
#include "csp/json/pointer.h"

namespace csp::job_control {

namespace {

using json::Value;

// The value a reference stands for, or nullopt when it is absent.
std::optional<Value> ResolveRef(const Value& ref, const Value& state) {
  auto ptr = json::Pointer::Parse(ref.Find("$fromState")->AsString());
  if (ptr) {
    if (const Value* found = json::Find(state, *ptr)) return *found;
  }
  const Value* fallback = ref.Find("default");
  if (fallback == nullptr) return std::nullopt;
  return ResolveRefs(*fallback, state);
}

Value Op(const char* op, const std::string& path, Value value) {
  return json::Object{{"op", op}, {"path", path}, {"value", std::move(value)}};
}

// Appends to `ops` (and applies to `sim`) what writes `value` at `target`: missing or scalar
// parents become {} first, as the original's add does.
Status AppendWrite(Value& sim, const json::Pointer& target, const Value& value, Value& ops, int& parents) {
  std::vector<std::string> prefix;
  const auto& tokens = target.tokens();
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    prefix.push_back(tokens[i]);
    json::Pointer parent = json::Pointer::FromTokens(prefix);
    const Value* node = json::Find(sim, parent);
    if (node != nullptr && (node->IsObject() || node->IsArray())) continue;
    Value op = Op(node == nullptr ? "add" : "replace", parent.ToString(), json::Object{});
    Value one = json::Array{op};
    if (auto s = json::ApplyPatch(sim, one); !s) {
      return InvalidArgument("targetPath " + target.ToString() + " cannot be written: " + s.error().message);
    }
    ops.PushBack(std::move(op));
    ++parents;
  }
  Value op = Op("add", target.ToString(), value);
  Value one = json::Array{op};
  if (auto s = json::ApplyPatch(sim, one); !s) {
    return InvalidArgument("targetPath " + target.ToString() + " cannot be written: " + s.error().message);
  }
  ops.PushBack(std::move(op));
  return Ok();
}

}  // namespace

std::optional<json::Value> ResolveRefs(const json::Value& value, const json::Value& state) {
  if (IsStateRef(value)) return ResolveRef(value, state);
  if (value.IsArray()) {
    json::Array out;
    out.reserve(value.AsArray().size());
    for (const auto& e : value.AsArray()) {
      auto r = ResolveRefs(e, state);
      out.push_back(r ? std::move(*r) : Value());
    }
    return Value(std::move(out));
  }
  if (value.IsObject()) {
    json::Object out;
    for (const auto& [key, member] : value.AsObject()) {
      auto r = ResolveRefs(member, state);
      if (r) out.Set(key, std::move(*r));
    }
    return Value(std::move(out));
  }
  return value;
}

json::Value BuildRequestBody(const json::Value& input, const json::Value& state, const std::string& request_id) {
  Value body = json::Object{};
  if (!input.IsNull()) {
    auto resolved = ResolveRefs(input, state);
    if (resolved && resolved->IsObject()) body = std::move(*resolved);
  }
  body.Set("requestId", request_id);
  return body;
}

json::Value ReplyValue(int status, const std::string& content_type, const std::string& body) {
  if (status == 204 || body.empty()) return Value();
  auto parsed = json::Parse(body);
  if (parsed) return std::move(*parsed);
  return json::Object{{"_raw", body}, {"_contentType", content_type}};
}

Result<json::Value> BuildStorePatch(const std::vector<StoreSpec>& specs, int status, const json::Value& result,
                                    const json::Value& state, int* parents_created) {
  Value ops = json::Array{};
  int parents = 0;
  Value sim = state.IsObject() ? state : Value(json::Object{});
  for (const StoreSpec& spec : specs) {
    if (!spec.only_on_status.empty() &&
        std::find(spec.only_on_status.begin(), spec.only_on_status.end(), status) == spec.only_on_status.end()) {
      continue;
    }
    const Value* source = &result;
    if (spec.has_source && !spec.source_path.empty()) {
      auto ptr = json::Pointer::Parse(spec.source_path);
      source = ptr ? json::Find(result, *ptr) : nullptr;
      if (source == nullptr) return InvalidArgument("sourcePath " + spec.source_path + " not found in result");
    }
    auto target = json::Pointer::Parse(spec.target_path);
    if (!target || target->IsRoot()) {
      return InvalidArgument("targetPath '" + spec.target_path + "' is not a JSON pointer starting with '/'");
    }
    if (auto s = AppendWrite(sim, *target, *source, ops, parents); !s) return s.error();
  }
  if (parents_created != nullptr) *parents_created = parents;
  return ops;
}

}  // namespace csp::job_control
