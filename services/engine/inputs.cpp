#include "inputs.h"

#include <cmath>

#include "csp/core/time.h"
#include "csp/json/json.h"

namespace csp::engine {
namespace {

bool IsNullOrAbsent(const json::Value* v) { return v == nullptr || v->IsNull(); }

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  for (const std::string& n : names) {
    if (n == name) return true;
  }
  return false;
}

std::vector<std::string> WithoutId(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (n != "id") out.push_back(n);
  }
  return out;
}

std::string WithArticle(std::string_view noun) {
  const bool vowel = !noun.empty() && std::string_view("aeiou").find(noun.front()) != std::string_view::npos;
  return std::string(vowel ? "an " : "a ") + std::string(noun);
}

std::string Describe(const json::Value& v) { return WithArticle(json::TypeName(v.type())); }

// JSON Schema's integer: a number with no fractional part (2 and 2.0 both qualify).
bool IsInteger(const json::Value& v) {
  if (v.IsInt()) return true;
  return v.IsDouble() && std::isfinite(v.AsDouble()) && std::floor(v.AsDouble()) == v.AsDouble();
}

bool HasType(const json::Value& v, std::string_view type) {
  if (type == "string") return v.IsString();
  if (type == "number") return v.IsNumber();
  if (type == "integer") return IsInteger(v);
  if (type == "boolean") return v.IsBool();
  if (type == "object") return v.IsObject();
  if (type == "array") return v.IsArray();
  if (type == "null") return v.IsNull();
  return true;  // unknown type names are the designer's business, as in the original
}

Status CheckFormat(std::string_view path, const json::Value& value, std::string_view format) {
  if (!value.IsString()) return Ok();
  const std::string& s = value.AsString();
  if (format == "ISO8601" || format == "iso8601" || format == "date-time") {
    if (ParseIso8601(s)) return Ok();
    return InvalidArgument(std::string(path) + ": expected an ISO 8601 date-time, got '" + s + "'");
  }
  if (format == "email") {
    if (LooksLikeEmail(s)) return Ok();
    return InvalidArgument(std::string(path) + ": expected an email address, got '" + s + "'");
  }
  return Ok();
}

}  // namespace

bool LooksLikeEmail(std::string_view s) {
  const size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) return false;
  const std::string_view domain = s.substr(at + 1);
  const size_t dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size()) return false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return false;
  }
  return true;
}

Status CheckEnum(std::string_view field, const json::Value& value, const FieldSchema& schema) {
  if (!schema.enum_values) return Ok();
  for (const json::Value& allowed : *schema.enum_values) {
    // JSON equality, like the original's Array.includes for scalars: 1 and "1" differ.
    if (allowed == value) return Ok();
  }
  const std::string shown = value.IsString() ? value.AsString() : json::Dump(value);
  return InvalidArgument("Invalid value for '" + std::string(field) + "': '" + shown + "'. Must be one of [" +
                         JoinEnum(*schema.enum_values) + "]");
}

Status CheckFieldValue(std::string_view path, const json::Value& value, const FieldSchema& schema) {
  if (!schema.type.empty() && !HasType(value, schema.type)) {
    return InvalidArgument(std::string(path) + ": expected " + WithArticle(schema.type) + ", got " + Describe(value));
  }
  if (!schema.format.empty()) return CheckFormat(path, value, schema.format);
  return Ok();
}

Result<CheckedInput> CheckInputs(const Design& design, const CommandSpec& command, const json::Value* payload) {
  static const json::Value kEmpty = json::Value::MakeObject();
  if (IsNullOrAbsent(payload)) payload = &kEmpty;
  if (!payload->IsObject()) return InvalidArgument("payload: expected an object, got " + Describe(*payload));

  const std::vector<std::string> required = WithoutId(command.required);
  const std::vector<std::string> optional = WithoutId(command.optional);
  CheckedInput out;
  out.fields = command.defaults;
  for (const std::string& key : required) {
    const json::Value* given = payload->Find(key);
    if (IsNullOrAbsent(given) && IsNullOrAbsent(out.fields.Find(key))) {
      return InvalidArgument("Missing required input: " + key);
    }
    if (!IsNullOrAbsent(given)) out.fields.Set(key, *given);
  }
  for (const std::string& key : optional) {
    const json::Value* given = payload->Find(key);
    if (!IsNullOrAbsent(given)) out.fields.Set(key, *given);
  }
  for (const auto& [key, value] : payload->AsObject()) {
    if (!Contains(required, key) && !Contains(optional, key)) out.warnings.push_back(key);
  }

  for (const auto& [field, value] : out.fields) {
    const FieldSchema* schema = design.FieldFor(command, field);
    if (schema == nullptr) continue;
    if (Status s = CheckEnum(field, value, *schema); !s) return s.error();
  }
  for (const auto& [field, value] : out.fields) {
    const FieldSchema* schema = design.FieldFor(command, field);
    if (schema == nullptr) continue;
    if (Status s = CheckFieldValue("payload." + field, value, *schema); !s) return s.error();
  }

  if (design.strict) {
    std::string undeclared;
    for (const std::string& name : out.warnings) {
      if (name == "id") continue;
      if (!undeclared.empty()) undeclared += ", ";
      undeclared += name;
    }
    if (!undeclared.empty()) {
      return InvalidArgument("Undeclared inputs for command '" + command.name + "': " + undeclared);
    }
  }
  return out;
}

}  // namespace csp::engine
