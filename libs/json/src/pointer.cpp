#include "csp/json/pointer.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>
#include <utility>

namespace csp::json {

namespace {

// Decodes one reference token in a single left-to-right pass. Replacing "~1" and then "~0" over
// the whole string would be wrong: "~01" must become "~1", not "/". nullopt on a bad escape.
std::optional<std::string> Unescape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '~') {
      out.push_back(raw[i]);
      continue;
    }
    if (i + 1 == raw.size()) return std::nullopt;
    char next = raw[++i];
    if (next == '0') {
      out.push_back('~');
    } else if (next == '1') {
      out.push_back('/');
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string Escape(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Error BadPointer(std::string_view text, std::string_view reason) {
  return InvalidArgument("invalid JSON pointer '" + std::string(text) +
                         "': " + std::string(reason));
}

// How a reference token reads as an array index (RFC 6901 section 4).
enum class IndexKind { kIndex, kPastEnd, kInvalid };
struct ArrayIndex {
  IndexKind kind = IndexKind::kInvalid;
  size_t value = 0;
};

// Only canonical decimal is an index: "0", or a non-zero digit followed by digits. A value too big
// for size_t saturates: no array is that long, so it is simply past the end, never an overflow.
ArrayIndex ParseIndex(std::string_view token) {
  if (token == "-") return {IndexKind::kPastEnd, 0};
  if (token.empty() || (token[0] == '0' && token.size() > 1)) return {};
  constexpr size_t kMax = std::numeric_limits<size_t>::max();
  size_t value = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return {};
    auto digit = static_cast<size_t>(c - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
  }
  return {IndexKind::kIndex, value};
}

// "null", "a string", ... for "cannot index into <x>".
std::string Describe(const Value& v) {
  switch (v.type()) {
    case Type::kNull: return "null";
    case Type::kBool: return "a boolean";
    case Type::kInt:
    case Type::kDouble: return "a number";
    case Type::kString: return "a string";
    case Type::kArray: return "an array";
    case Type::kObject: return "an object";
  }
  return "a value";
}

// The pointer made of the first n tokens of ptr, as text for messages.
std::string Where(const Pointer& ptr, size_t n) {
  if (n == 0) return "the root";
  std::vector<std::string> tokens(ptr.tokens().begin(),
                                  ptr.tokens().begin() + static_cast<std::ptrdiff_t>(n));
  return Pointer::FromTokens(std::move(tokens)).ToString();
}

// Why one step of a walk could not go on.
enum class StepError { kNone, kAbsent, kBadIndex, kScalar };
struct Step {
  const Value* value = nullptr;
  StepError error = StepError::kNone;
};

Step Descend(const Value& container, const std::string& token) {
  if (container.IsObject()) {
    const Value* child = container.AsObject().Find(token);
    return {child, child != nullptr ? StepError::kNone : StepError::kAbsent};
  }
  if (!container.IsArray()) return {nullptr, StepError::kScalar};
  ArrayIndex index = ParseIndex(token);
  if (index.kind == IndexKind::kInvalid) return {nullptr, StepError::kBadIndex};
  const Array& items = container.AsArray();
  if (index.kind == IndexKind::kPastEnd || index.value >= items.size()) {
    return {nullptr, StepError::kAbsent};
  }
  return {&items[index.value], StepError::kNone};
}

Error NotAnIndex(const Pointer& ptr, const std::string& token) {
  return InvalidArgument(ptr.ToString() + ": '" + token + "' is not an array index");
}

Error CannotIndex(const Pointer& ptr, const Value& scalar, size_t depth) {
  return InvalidArgument(ptr.ToString() + ": cannot index into " + Describe(scalar) + " at " +
                         Where(ptr, depth));
}

Error PastTheEnd(const Pointer& ptr, const std::string& token, size_t size, size_t depth) {
  return InvalidArgument(ptr.ToString() + ": index " + token + " is past the end of the array at " +
                         Where(ptr, depth) + " (size " + std::to_string(size) + ")");
}

// Steps from `container` into the child named by ptr.tokens()[depth], creating an empty object
// when an object lacks it. Arrays are never grown here: only the last token may append.
Result<Value*> DescendCreating(Value& container, const Pointer& ptr, size_t depth) {
  const std::string& token = ptr.tokens()[depth];
  if (container.IsObject()) {
    Object& members = container.AsObject();
    if (Value* child = members.Find(token)) return child;
    return &members.Set(token, Value::MakeObject());
  }
  if (!container.IsArray()) return CannotIndex(ptr, container, depth);
  ArrayIndex index = ParseIndex(token);
  if (index.kind == IndexKind::kInvalid) return NotAnIndex(ptr, token);
  if (index.kind == IndexKind::kPastEnd) {
    return InvalidArgument(ptr.ToString() + ": '-' (append) is allowed only as the last token");
  }
  Array& items = container.AsArray();
  if (index.value >= items.size()) return PastTheEnd(ptr, token, items.size(), depth);
  return &items[index.value];
}

// RFC 6902 "add" into an existing parent: objects set (replacing), arrays insert or append.
Status AddToParent(Value& parent, const Pointer& ptr, Value value) {
  size_t depth = ptr.tokens().size() - 1;
  const std::string& token = ptr.Last();
  if (parent.IsObject()) {
    parent.AsObject().Set(token, std::move(value));
    return Ok();
  }
  if (!parent.IsArray()) return CannotIndex(ptr, parent, depth);
  ArrayIndex index = ParseIndex(token);
  if (index.kind == IndexKind::kInvalid) return NotAnIndex(ptr, token);
  Array& items = parent.AsArray();
  if (index.kind == IndexKind::kPastEnd) {
    items.push_back(std::move(value));
    return Ok();
  }
  if (index.value > items.size()) return PastTheEnd(ptr, token, items.size(), depth);
  items.insert(items.begin() + static_cast<std::ptrdiff_t>(index.value), std::move(value));
  return Ok();
}

}  // namespace

Result<Pointer> Pointer::Parse(std::string_view text) {
  Pointer ptr;
  if (text.empty()) return ptr;
  if (text[0] != '/') return BadPointer(text, "must be empty or start with '/'");
  size_t start = 1;
  while (true) {
    size_t slash = text.find('/', start);
    std::string_view raw = text.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    std::optional<std::string> token = Unescape(raw);
    if (!token) return BadPointer(text, "'~' must be followed by '0' or '1'");
    ptr.tokens_.push_back(std::move(*token));
    if (slash == std::string_view::npos) return ptr;
    start = slash + 1;
  }
}

Pointer Pointer::FromTokens(std::vector<std::string> tokens) {
  Pointer ptr;
  ptr.tokens_ = std::move(tokens);
  return ptr;
}

Pointer Pointer::Parent() const {
  Pointer parent = *this;
  if (!parent.tokens_.empty()) parent.tokens_.pop_back();
  return parent;
}

Pointer Pointer::Child(std::string token) const {
  Pointer child = *this;
  child.tokens_.push_back(std::move(token));
  return child;
}

std::string Pointer::ToString() const {
  std::string out;
  for (const std::string& token : tokens_) {
    out.push_back('/');
    out += Escape(token);
  }
  return out;
}

bool Pointer::IsPrefixOf(const Pointer& other) const {
  return tokens_.size() < other.tokens_.size() &&
         std::equal(tokens_.begin(), tokens_.end(), other.tokens_.begin());
}

const Value* Find(const Value& doc, const Pointer& ptr) {
  const Value* current = &doc;
  for (const std::string& token : ptr.tokens()) {
    current = Descend(*current, token).value;
    if (current == nullptr) return nullptr;
  }
  return current;
}

Value* Find(Value& doc, const Pointer& ptr) {
  // The walk never mutates; the const overload holds the one implementation.
  return const_cast<Value*>(Find(static_cast<const Value&>(doc), ptr));
}

Result<const Value*> Get(const Value& doc, const Pointer& ptr) {
  const Value* current = &doc;
  const std::vector<std::string>& tokens = ptr.tokens();
  for (size_t depth = 0; depth < tokens.size(); ++depth) {
    Step step = Descend(*current, tokens[depth]);
    switch (step.error) {
      case StepError::kNone: break;
      case StepError::kAbsent: return NotFound("no value at " + ptr.ToString());
      case StepError::kBadIndex: return NotAnIndex(ptr, tokens[depth]);
      case StepError::kScalar: return CannotIndex(ptr, *current, depth);
    }
    current = step.value;
  }
  return current;
}

// Atomic without a copy: a failure can only happen while walking existing values, before the
// first intermediate object is created; below a created object every step succeeds.
Status SetCreating(Value& doc, const Pointer& ptr, Value value) {
  if (ptr.IsRoot()) {
    doc = std::move(value);
    return Ok();
  }
  Value* current = &doc;
  for (size_t depth = 0; depth + 1 < ptr.tokens().size(); ++depth) {
    Result<Value*> next = DescendCreating(*current, ptr, depth);
    if (!next) return next.error();
    current = *next;
  }
  return AddToParent(*current, ptr, std::move(value));
}

}  // namespace csp::json
