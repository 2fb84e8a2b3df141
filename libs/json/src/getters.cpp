#include "csp/json/getters.h"

#include <cmath>

namespace csp::json {

namespace {

Error Expected(std::string_view path, std::string_view what, const Value& got) {
  return InvalidArgument(std::string(path) + ": expected " + std::string(what) + ", got " +
                         std::string(TypeName(got.type())));
}

Error Missing(std::string_view path) { return InvalidArgument(std::string(path) + ": is required"); }

// The member or nullptr; null members count as absent.
const Value* Member(const Value& obj, std::string_view key) {
  const Value* v = obj.Find(key);
  return (v == nullptr || v->IsNull()) ? nullptr : v;
}

bool IsIntegral(const Value& v) {
  if (v.IsInt()) return true;
  if (!v.IsDouble()) return false;
  double d = v.AsDouble();
  return std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15;
}

template <typename T, typename Extract>
Result<std::optional<T>> Optional(const Value& obj, std::string_view key, std::string_view path,
                                  Extract extract) {
  const Value* v = Member(obj, key);
  if (v == nullptr) return std::optional<T>();
  Result<T> r = extract(*v, JoinPath(path, key));
  if (!r) return r.error();
  return std::optional<T>(std::move(*r));
}

template <typename T, typename Extract>
Result<T> Required(const Value& obj, std::string_view key, std::string_view path, Extract extract) {
  const Value* v = Member(obj, key);
  if (v == nullptr) return Missing(JoinPath(path, key));
  return extract(*v, JoinPath(path, key));
}

Result<std::string> AsStringAt(const Value& v, const std::string& path) {
  if (!v.IsString()) return Expected(path, "a string", v);
  return v.AsString();
}

Result<int64_t> AsIntAt(const Value& v, const std::string& path) {
  if (!IsIntegral(v)) return Expected(path, "an integer", v);
  return v.IsInt() ? v.AsInt() : static_cast<int64_t>(v.AsDouble());
}

Result<double> AsNumberAt(const Value& v, const std::string& path) {
  if (!v.IsNumber()) return Expected(path, "a number", v);
  return v.AsDouble();
}

Result<bool> AsBoolAt(const Value& v, const std::string& path) {
  if (!v.IsBool()) return Expected(path, "a boolean", v);
  return v.AsBool();
}

Result<std::vector<std::string>> AsStringArrayAt(const Value& v, const std::string& path) {
  if (!v.IsArray()) return Expected(path, "an array of strings", v);
  std::vector<std::string> out;
  out.reserve(v.AsArray().size());
  for (size_t i = 0; i < v.AsArray().size(); ++i) {
    const Value& e = v.AsArray()[i];
    if (!e.IsString()) return Expected(JoinPath(path, i), "a string", e);
    out.push_back(e.AsString());
  }
  return out;
}

}  // namespace

std::string JoinPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out.push_back('.');
  out.append(key);
  return out;
}

std::string JoinPath(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

Result<const Object*> ExpectObject(const Value& v, std::string_view path) {
  if (!v.IsObject()) return Expected(path.empty() ? "body" : path, "an object", v);
  return &v.AsObject();
}

Result<std::string> GetString(const Value& obj, std::string_view key, std::string_view path) {
  return Required<std::string>(obj, key, path, AsStringAt);
}
Result<std::optional<std::string>> GetOptionalString(const Value& obj, std::string_view key,
                                                     std::string_view path) {
  return Optional<std::string>(obj, key, path, AsStringAt);
}
Result<int64_t> GetInt(const Value& obj, std::string_view key, std::string_view path) {
  return Required<int64_t>(obj, key, path, AsIntAt);
}
Result<std::optional<int64_t>> GetOptionalInt(const Value& obj, std::string_view key, std::string_view path) {
  return Optional<int64_t>(obj, key, path, AsIntAt);
}
Result<double> GetNumber(const Value& obj, std::string_view key, std::string_view path) {
  return Required<double>(obj, key, path, AsNumberAt);
}
Result<std::optional<double>> GetOptionalNumber(const Value& obj, std::string_view key,
                                                std::string_view path) {
  return Optional<double>(obj, key, path, AsNumberAt);
}
Result<bool> GetBool(const Value& obj, std::string_view key, std::string_view path) {
  return Required<bool>(obj, key, path, AsBoolAt);
}
Result<std::optional<bool>> GetOptionalBool(const Value& obj, std::string_view key, std::string_view path) {
  return Optional<bool>(obj, key, path, AsBoolAt);
}
Result<std::vector<std::string>> GetStringArray(const Value& obj, std::string_view key, std::string_view path) {
  return Required<std::vector<std::string>>(obj, key, path, AsStringArrayAt);
}
Result<std::optional<std::vector<std::string>>> GetOptionalStringArray(const Value& obj, std::string_view key,
                                                                       std::string_view path) {
  return Optional<std::vector<std::string>>(obj, key, path, AsStringArrayAt);
}

Result<const Value*> GetObject(const Value& obj, std::string_view key, std::string_view path) {
  const Value* v = Member(obj, key);
  if (v == nullptr) return Missing(JoinPath(path, key));
  if (!v->IsObject()) return Expected(JoinPath(path, key), "an object", *v);
  return v;
}
Result<const Value*> GetOptionalObject(const Value& obj, std::string_view key, std::string_view path) {
  const Value* v = Member(obj, key);
  if (v == nullptr) return static_cast<const Value*>(nullptr);
  if (!v->IsObject()) return Expected(JoinPath(path, key), "an object", *v);
  return v;
}
Result<const Value*> GetArray(const Value& obj, std::string_view key, std::string_view path) {
  const Value* v = Member(obj, key);
  if (v == nullptr) return Missing(JoinPath(path, key));
  if (!v->IsArray()) return Expected(JoinPath(path, key), "an array", *v);
  return v;
}
Result<const Value*> GetOptionalArray(const Value& obj, std::string_view key, std::string_view path) {
  const Value* v = Member(obj, key);
  if (v == nullptr) return static_cast<const Value*>(nullptr);
  if (!v->IsArray()) return Expected(JoinPath(path, key), "an array", *v);
  return v;
}

}  // namespace csp::json
