#include "shared-state/preconditions.h"

#include <algorithm>
#include <cctype>

namespace csp::shared_state {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A version is a positive decimal without sign or leading zeros, small enough for int64.
std::optional<int64_t> ParseVersion(std::string_view s) {
  if (s.empty() || s.size() > 18 || (s[0] == '0' && s.size() > 1)) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

Error Malformed(std::string_view header_name, std::string_view why) {
  return InvalidArgument(std::string(header_name) + ": " + std::string(why) +
                         R"( (expected *, or entity tags such as "3" or W/"3", comma-separated))");
}

std::string Describe(int64_t version) {
  return version == 0 ? "it does not exist" : "its version is " + std::to_string(version);
}

}  // namespace

std::string ETagFor(int64_t version) { return "\"" + std::to_string(version) + "\""; }

Result<EntityTags> ParseEntityTags(std::string_view header_value, std::string_view header_name) {
  std::string_view rest = Trim(header_value);
  if (rest.empty()) return Malformed(header_name, "empty header");
  EntityTags tags;
  if (rest == "*") {
    tags.any = true;
    return tags;
  }
  while (!rest.empty()) {
    if (rest.substr(0, 2) == "W/") rest.remove_prefix(2);
    if (rest.empty() || rest.front() != '"') return Malformed(header_name, "an entity tag must be quoted");
    size_t close = rest.find('"', 1);
    if (close == std::string_view::npos) return Malformed(header_name, "unterminated entity tag");
    if (auto v = ParseVersion(rest.substr(1, close - 1))) tags.versions.push_back(*v);
    rest = Trim(rest.substr(close + 1));
    if (rest.empty()) break;
    if (rest.front() != ',') return Malformed(header_name, "entity tags must be separated by commas");
    rest = Trim(rest.substr(1));
    if (rest.empty()) return Malformed(header_name, "trailing comma");
  }
  return tags;
}

bool Matches(const EntityTags& tags, int64_t version) {
  if (version <= 0) return false;
  if (tags.any) return true;
  return std::find(tags.versions.begin(), tags.versions.end(), version) != tags.versions.end();
}

Status CheckPreconditions(const Preconditions& conditions, int64_t version, std::string_view id) {
  std::string doc = "state '" + std::string(id) + "'";
  if (conditions.if_match && !Matches(*conditions.if_match, version)) {
    return FailedPrecondition("If-Match does not hold for " + doc + ": " + Describe(version));
  }
  if (conditions.if_none_match && Matches(*conditions.if_none_match, version)) {
    return FailedPrecondition("If-None-Match does not hold for " + doc + ": " + Describe(version));
  }
  return Ok();
}

}  // namespace csp::shared_state
