#pragma once
// csp::json::Value — the JSON value every component passes around. RapidJSON is used only inside
// libs/json (parse and dump); callers never see it.
//
// Objects keep their members in insertion order (so replies read as written) and reject nothing:
// keys such as "__proto__" or "constructor" are ordinary data. Numbers keep the integer/float
// distinction of their source text: 3 stays 3, 3.0 stays a double.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace csp::json {

class Value;

enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };

// "null", "boolean", "number" (for both kInt and kDouble), "string", "array", "object".
std::string_view TypeName(Type t);

using Array = std::vector<Value>;

// An ordered map of string -> Value. Lookup is linear, which beats hashing at the sizes JSON
// objects have in practice (tens of keys); documents are bounded by the services' size limits.
class Object {
 public:
  using Member = std::pair<std::string, Value>;
  using iterator = std::vector<Member>::iterator;
  using const_iterator = std::vector<Member>::const_iterator;

  Object() = default;
  Object(std::initializer_list<Member> members);

  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  iterator begin() { return members_.begin(); }
  iterator end() { return members_.end(); }
  const_iterator begin() const { return members_.begin(); }
  const_iterator end() const { return members_.end(); }

  // nullptr when absent.
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);
  bool Contains(std::string_view key) const { return Find(key) != nullptr; }

  // Inserts or replaces; an existing key keeps its position.
  Value& Set(std::string key, Value value);
  // Inserts null when absent, like std::map::operator[].
  Value& operator[](std::string_view key);
  // Returns true when a member was removed.
  bool Erase(std::string_view key);

  bool operator==(const Object& other) const;  // order-insensitive, as JSON equality is
  bool operator!=(const Object& other) const { return !(*this == other); }

 private:
  std::vector<Member> members_;
};

class Value {
 public:
  Value() : v_(nullptr) {}
  Value(std::nullptr_t) : v_(nullptr) {}                       // NOLINT
  Value(bool b) : v_(b) {}                                     // NOLINT
  Value(int i) : v_(static_cast<int64_t>(i)) {}                // NOLINT
  Value(long i) : v_(static_cast<int64_t>(i)) {}               // NOLINT
  Value(long long i) : v_(static_cast<int64_t>(i)) {}          // NOLINT
  Value(unsigned i) : v_(static_cast<int64_t>(i)) {}           // NOLINT
  Value(unsigned long i);                                      // NOLINT: double if > INT64_MAX
  Value(unsigned long long i);                                 // NOLINT
  Value(double d) : v_(d) {}                                   // NOLINT
  Value(const char* s) : v_(std::string(s)) {}                 // NOLINT
  Value(std::string s) : v_(std::move(s)) {}                   // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}            // NOLINT
  Value(Array a) : v_(std::move(a)) {}                         // NOLINT
  Value(Object o) : v_(std::move(o)) {}                        // NOLINT

  static Value MakeArray() { return Value(Array{}); }
  static Value MakeObject() { return Value(Object{}); }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool IsNull() const { return type() == Type::kNull; }
  bool IsBool() const { return type() == Type::kBool; }
  bool IsInt() const { return type() == Type::kInt; }
  bool IsDouble() const { return type() == Type::kDouble; }
  bool IsNumber() const { return IsInt() || IsDouble(); }
  bool IsString() const { return type() == Type::kString; }
  bool IsArray() const { return type() == Type::kArray; }
  bool IsObject() const { return type() == Type::kObject; }

  // Accessors assert the type; check it first (or use the getters in getters.h).
  bool AsBool() const { return std::get<bool>(v_); }
  int64_t AsInt() const { return std::get<int64_t>(v_); }
  double AsDouble() const;  // kInt converts
  const std::string& AsString() const { return std::get<std::string>(v_); }
  std::string& AsString() { return std::get<std::string>(v_); }
  const Array& AsArray() const { return std::get<Array>(v_); }
  Array& AsArray() { return std::get<Array>(v_); }
  const Object& AsObject() const { return std::get<Object>(v_); }
  Object& AsObject() { return std::get<Object>(v_); }

  // Object conveniences; Find returns nullptr on a non-object too.
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);
  // Makes this an object first if it is null.
  Value& operator[](std::string_view key);
  Value& Set(std::string key, Value value);
  // Array convenience: makes this an array first if it is null.
  Value& PushBack(Value v);

  // Deep equality per RFC 6902 "test": numbers compare by value (1 == 1.0), objects ignore order.
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Array, Object> v_;
};

}  // namespace csp::json
