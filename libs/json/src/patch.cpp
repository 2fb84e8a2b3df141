#include "csp/json/patch.h"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "csp/json/getters.h"
#include "csp/json/pointer.h"

namespace csp::json {

namespace {

enum class OpKind { kAdd, kRemove, kReplace, kMove, kCopy, kTest };

constexpr std::string_view kSupportedOps = "add, remove, replace, move, copy, test";

// One validated operation. `value` points into the patch, which outlives the application.
struct Operation {
  OpKind kind = OpKind::kAdd;
  Pointer path;
  Pointer from;                  // move and copy only
  const Value* value = nullptr;  // add, replace and test only
};

std::optional<OpKind> KindFromName(std::string_view name) {
  if (name == "add") return OpKind::kAdd;
  if (name == "remove") return OpKind::kRemove;
  if (name == "replace") return OpKind::kReplace;
  if (name == "move") return OpKind::kMove;
  if (name == "copy") return OpKind::kCopy;
  if (name == "test") return OpKind::kTest;
  return std::nullopt;
}

bool NeedsValue(OpKind kind) {
  return kind == OpKind::kAdd || kind == OpKind::kReplace || kind == OpKind::kTest;
}

bool NeedsFrom(OpKind kind) { return kind == OpKind::kMove || kind == OpKind::kCopy; }

// Every error of a patch operation is the client's: a path that resolves to nothing is an
// invalid patch (400), not a missing resource (404).
Error InField(const Error& error, const std::string& field) {
  return Error(ErrorCode::kInvalidArgument, field + ": " + error.message);
}

Result<Pointer> ReadPointer(const Value& op, std::string_view key, const std::string& where) {
  Result<std::string> text = GetString(op, key, where);
  if (!text) return text.error();
  Result<Pointer> ptr = Pointer::Parse(*text);
  if (!ptr) return InField(ptr.error(), JoinPath(where, key));
  return ptr;
}

// Checks the shape of operation `index`; unknown members are ignored (RFC 6902 section 4).
Result<Operation> ReadOperation(const Value& op, size_t index) {
  std::string where = JoinPath("patch", index);
  if (Result<const Object*> obj = ExpectObject(op, where); !obj) return obj.error();
  Result<std::string> name = GetString(op, "op", where);
  if (!name) return name.error();
  std::optional<OpKind> kind = KindFromName(*name);
  if (!kind) {
    return InvalidArgument(JoinPath(where, "op") + ": unknown op '" + *name +
                           "' (supported: " + std::string(kSupportedOps) + ")");
  }
  Operation out;
  out.kind = *kind;
  Result<Pointer> path = ReadPointer(op, "path", where);
  if (!path) return path.error();
  out.path = std::move(*path);
  if (NeedsFrom(out.kind)) {
    Result<Pointer> from = ReadPointer(op, "from", where);
    if (!from) return from.error();
    out.from = std::move(*from);
  }
  if (NeedsValue(out.kind)) {
    // Present-but-null is a real value here ("add" of null), so no getter: only absence fails.
    out.value = op.Find("value");
    if (out.value == nullptr) return InvalidArgument(JoinPath(where, "value") + ": is required");
  }
  return out;
}

Result<std::vector<Operation>> ReadOperations(const Value& patch) {
  if (!patch.IsArray()) {
    return InvalidArgument("patch: expected an array of operations, got " +
                           std::string(TypeName(patch.type())));
  }
  std::vector<Operation> ops;
  ops.reserve(patch.AsArray().size());
  for (size_t i = 0; i < patch.AsArray().size(); ++i) {
    Result<Operation> op = ReadOperation(patch.AsArray()[i], i);
    if (!op) return op.error();
    ops.push_back(std::move(*op));
  }
  return ops;
}

// RFC 6902 "add": the parent must exist; then SetCreating has exactly add's semantics (it creates
// intermediates only for a missing parent, which we have ruled out).
Status Add(Value& doc, const Pointer& path, Value value, const std::string& field) {
  if (!path.IsRoot()) {
    if (Result<const Value*> parent = Get(doc, path.Parent()); !parent) {
      return InField(parent.error(), field);
    }
  }
  Status set = SetCreating(doc, path, std::move(value));
  if (!set) return InField(set.error(), field);
  return Ok();
}

// Removes and returns the value at path, which must exist.
Result<Value> Remove(Value& doc, const Pointer& path, const std::string& field) {
  if (path.IsRoot()) return InvalidArgument(field + ": cannot remove the whole document");
  if (Result<const Value*> found = Get(doc, path); !found) return InField(found.error(), field);
  Value* parent = Find(doc, path.Parent());
  Value* target = Find(doc, path);
  Value removed = std::move(*target);
  if (parent->IsObject()) {
    parent->AsObject().Erase(path.Last());
    return removed;
  }
  // The target lives inside the parent's storage, so its offset there is its index.
  Array& items = parent->AsArray();
  items.erase(items.begin() + (target - items.data()));
  return removed;
}

Status Replace(Value& doc, const Pointer& path, const Value& value, const std::string& field) {
  if (Result<const Value*> found = Get(doc, path); !found) return InField(found.error(), field);
  *Find(doc, path) = value;
  return Ok();
}

Status Move(Value& doc, const Operation& op, const std::string& where) {
  std::string from_field = where + ".from";
  if (op.from.IsPrefixOf(op.path)) {
    return InvalidArgument(from_field + ": cannot move " + op.from.ToString() +
                           " into its own child " + op.path.ToString());
  }
  if (op.from.tokens() == op.path.tokens()) {
    // A move onto itself changes nothing, but the location must still exist.
    if (Result<const Value*> found = Get(doc, op.from); !found)
      return InField(found.error(), from_field);
    return Ok();
  }
  Result<Value> moved = Remove(doc, op.from, from_field);
  if (!moved) return moved.error();
  return Add(doc, op.path, std::move(*moved), where + ".path");
}

Status Copy(Value& doc, const Operation& op, const std::string& where) {
  Result<const Value*> source = Get(doc, op.from);
  if (!source) return InField(source.error(), where + ".from");
  Value copy = **source;  // a deep copy, taken before the add can move things around
  return Add(doc, op.path, std::move(copy), where + ".path");
}

// A failed test is a state conflict (409), not a malformed patch.
Status Test(const Value& doc, const Operation& op, const std::string& where) {
  const Value* actual = Find(doc, op.path);
  if (actual == nullptr) {
    return Error(ErrorCode::kConflict,
                 where + ": test failed at " + op.path.ToString() + " (no value there)");
  }
  if (*actual != *op.value) {
    return Error(ErrorCode::kConflict, where + ": test failed at " + op.path.ToString());
  }
  return Ok();
}

Status ApplyOne(Value& doc, const Operation& op, size_t index) {
  std::string where = JoinPath("patch", index);
  std::string path_field = where + ".path";
  switch (op.kind) {
    case OpKind::kAdd: return Add(doc, op.path, *op.value, path_field);
    case OpKind::kRemove: {
      Result<Value> removed = Remove(doc, op.path, path_field);
      if (!removed) return removed.error();
      return Ok();
    }
    case OpKind::kReplace: return Replace(doc, op.path, *op.value, path_field);
    case OpKind::kMove: return Move(doc, op, where);
    case OpKind::kCopy: return Copy(doc, op, where);
    case OpKind::kTest: return Test(doc, op, where);
  }
  return Internal(where + ": unhandled op");
}

}  // namespace

// Validates the whole patch first (so a malformed patch costs no copy), then applies it to a copy
// of doc and swaps the result in only when every operation succeeded.
Status ApplyPatch(Value& doc, const Value& patch) {
  Result<std::vector<Operation>> ops = ReadOperations(patch);
  if (!ops) return ops.error();
  Value work = doc;
  for (size_t i = 0; i < ops->size(); ++i) {
    if (Status s = ApplyOne(work, (*ops)[i], i); !s) return s;
  }
  doc = std::move(work);
  return Ok();
}

Value MergePatch(const Value& target, const Value& patch) {
  Value result = target;
  ApplyMergePatch(result, patch);
  return result;
}

// RFC 7396 section 2, in place. Arrays are values like any other: replaced whole, never merged.
void ApplyMergePatch(Value& target, const Value& patch) {
  if (!patch.IsObject()) {
    target = patch;
    return;
  }
  if (&target == &patch) {
    // Merging a value into itself would read the patch while erasing from it.
    Value copy = patch;
    ApplyMergePatch(target, copy);
    return;
  }
  if (!target.IsObject()) target = Value::MakeObject();
  Object& members = target.AsObject();
  for (const auto& [key, value] : patch.AsObject()) {
    if (value.IsNull()) {
      members.Erase(key);
      continue;
    }
    if (Value* existing = members.Find(key)) {
      ApplyMergePatch(*existing, value);
      continue;
    }
    // A new member still goes through the merge so that nulls nested in it are dropped.
    Value fresh;
    ApplyMergePatch(fresh, value);
    members.Set(key, std::move(fresh));
  }
}

}  // namespace csp::json
