#include "csp/json/value.h"

#include <cstdint>
#include <limits>

namespace csp::json {

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kInt:
    case Type::kDouble: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "unknown";
}

Object::Object(std::initializer_list<Member> members) {
  members_.reserve(members.size());
  for (const auto& m : members) Set(m.first, m.second);
}

const Value* Object::Find(std::string_view key) const {
  for (const auto& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

Value* Object::Find(std::string_view key) {
  for (auto& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

Value& Object::Set(std::string key, Value value) {
  if (Value* existing = Find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  members_.emplace_back(std::move(key), std::move(value));
  return members_.back().second;
}

Value& Object::operator[](std::string_view key) {
  if (Value* existing = Find(key)) return *existing;
  members_.emplace_back(std::string(key), Value());
  return members_.back().second;
}

bool Object::Erase(std::string_view key) {
  for (auto it = members_.begin(); it != members_.end(); ++it) {
    if (it->first == key) {
      members_.erase(it);
      return true;
    }
  }
  return false;
}

bool Object::operator==(const Object& other) const {
  if (size() != other.size()) return false;
  for (const auto& m : members_) {
    const Value* o = other.Find(m.first);
    if (o == nullptr || !(*o == m.second)) return false;
  }
  return true;
}

namespace {
Value FromUnsigned(unsigned long long i) {
  if (i > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max())) {
    return Value(static_cast<double>(i));
  }
  return Value(static_cast<long long>(i));
}
}  // namespace

Value::Value(unsigned long i) : Value(FromUnsigned(i)) {}
Value::Value(unsigned long long i) : Value(FromUnsigned(i)) {}

double Value::AsDouble() const {
  if (IsInt()) return static_cast<double>(AsInt());
  return std::get<double>(v_);
}

const Value* Value::Find(std::string_view key) const {
  return IsObject() ? AsObject().Find(key) : nullptr;
}

Value* Value::Find(std::string_view key) { return IsObject() ? AsObject().Find(key) : nullptr; }

Value& Value::operator[](std::string_view key) {
  if (IsNull()) v_ = Object{};
  return AsObject()[key];
}

Value& Value::Set(std::string key, Value value) {
  if (IsNull()) v_ = Object{};
  return AsObject().Set(std::move(key), std::move(value));
}

Value& Value::PushBack(Value v) {
  if (IsNull()) v_ = Array{};
  AsArray().push_back(std::move(v));
  return AsArray().back();
}

bool Value::operator==(const Value& other) const {
  if (IsNumber() && other.IsNumber()) {
    if (IsInt() && other.IsInt()) return AsInt() == other.AsInt();
    return AsDouble() == other.AsDouble();
  }
  if (type() != other.type()) return false;
  switch (type()) {
    case Type::kNull: return true;
    case Type::kBool: return AsBool() == other.AsBool();
    case Type::kString: return AsString() == other.AsString();
    case Type::kArray: return AsArray() == other.AsArray();
    case Type::kObject: return AsObject() == other.AsObject();
    default: return false;
  }
}

}  // namespace csp::json
