#pragma once
// Versions as entity tags: document version 7 is the ETag "\"7\"". If-Match / If-None-Match
// parsing and evaluation, without any HTTP types (the routes pass the header text in).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csp/core/result.h"

namespace csp::shared_state {

// The ETag header value of a version: "\"7\"".
std::string ETagFor(int64_t version);

// One parsed If-Match or If-None-Match header.
struct EntityTags {
  bool any = false;               // "*"
  std::vector<int64_t> versions;  // "7" and W/"7" both give 7; tags that are not ours never match
};

// Parses "*" or a comma-separated list of entity tags, strong ("7") or weak (W/"7"), as RFC 9110
// allows; surrounding spaces are ignored. Quoted tags that are not a version number ("abc") are
// valid but match nothing. Errors: kInvalidArgument naming the header, for text that is not an
// entity-tag list at all (7 unquoted, an unterminated quote, an empty header).
Result<EntityTags> ParseEntityTags(std::string_view header_value, std::string_view header_name);

// True when a document at `version` (0: it does not exist) is named by the tags. "*" names any
// existing document; nothing names an absent one.
bool Matches(const EntityTags& tags, int64_t version);

// The conditions of one write request.
struct Preconditions {
  std::optional<EntityTags> if_match;       // the write proceeds only if the current version matches
  std::optional<EntityTags> if_none_match;  // the write proceeds only if it does NOT match ("*": absent)
};

// Checks the conditions against the current version (0: absent). Errors: kFailedPrecondition
// with a message that names the current version.
Status CheckPreconditions(const Preconditions& conditions, int64_t version, std::string_view id);

}  // namespace csp::shared_state
