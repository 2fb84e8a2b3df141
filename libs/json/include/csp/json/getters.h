#pragma once
// Typed access to object members whose errors name the path of the value that was wrong:
//   GetString(task, "tag", "steps[1].tasks[0]") -> "steps[1].tasks[0].tag: expected a string"
// Required getters fail on absent and on null; Optional getters give std::nullopt for absent or null
// and fail only on a present value of the wrong type.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::json {

// "a" + "b" -> "a.b"; "" + "b" -> "b"; "a" + 3 -> "a[3]".
std::string JoinPath(std::string_view path, std::string_view key);
std::string JoinPath(std::string_view path, size_t index);

// Fails with "<path>: expected an object" unless v is an object.
Result<const Object*> ExpectObject(const Value& v, std::string_view path);

Result<std::string> GetString(const Value& obj, std::string_view key, std::string_view path = "");
Result<std::optional<std::string>> GetOptionalString(const Value& obj, std::string_view key,
                                                     std::string_view path = "");
Result<int64_t> GetInt(const Value& obj, std::string_view key, std::string_view path = "");
Result<std::optional<int64_t>> GetOptionalInt(const Value& obj, std::string_view key,
                                              std::string_view path = "");
Result<double> GetNumber(const Value& obj, std::string_view key, std::string_view path = "");
Result<std::optional<double>> GetOptionalNumber(const Value& obj, std::string_view key,
                                                std::string_view path = "");
Result<bool> GetBool(const Value& obj, std::string_view key, std::string_view path = "");
Result<std::optional<bool>> GetOptionalBool(const Value& obj, std::string_view key,
                                            std::string_view path = "");
// An array whose every element is a string; element errors name "path.key[i]".
Result<std::vector<std::string>> GetStringArray(const Value& obj, std::string_view key,
                                                std::string_view path = "");
Result<std::optional<std::vector<std::string>>> GetOptionalStringArray(const Value& obj,
                                                                       std::string_view key,
                                                                       std::string_view path = "");
// Pointers into obj; nullptr for absent or null in the Optional forms.
Result<const Value*> GetObject(const Value& obj, std::string_view key, std::string_view path = "");
Result<const Value*> GetOptionalObject(const Value& obj, std::string_view key, std::string_view path = "");
Result<const Value*> GetArray(const Value& obj, std::string_view key, std::string_view path = "");
Result<const Value*> GetOptionalArray(const Value& obj, std::string_view key, std::string_view path = "");

}  // namespace csp::json
