#pragma once
// The registry's values: an Entry (one registered service instance), a Binding, and the
// validated Registration a POST /register body turns into. No HTTP here.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::discovery {

// Limits on what a registration may carry (spec 00-platform "Security posture").
inline constexpr size_t kMaxNameLength = 256;
inline constexpr size_t kMaxUrlLength = 2048;
inline constexpr size_t kMaxProfileLength = 2048;
inline constexpr size_t kMaxListItems = 64;
inline constexpr size_t kMaxItemLength = 256;
inline constexpr int64_t kMaxTtlSeconds = 86400;
inline constexpr size_t kMaxMetadataBytes = 16 * 1024;

// "passing": healthy (or nothing to check). "critical": the last ping failed or a TTL was
// missed. "pending": loaded from the store after a restart and not yet re-checked (or, for a
// TTL entry, not yet renewed).
enum class HealthStatus { kPassing, kPending, kCritical };

std::string_view StatusName(HealthStatus status);

// What a client asked to register, validated.
struct Registration {
  std::string service_name;
  std::string service_url;
  std::vector<std::string> tags;
  std::string semantic_profile;
  std::vector<std::string> media_types;
  std::string ping_url;     // "" = not health-checked
  int64_t ttl_seconds = 0;  // 0 = no TTL
  json::Value metadata = json::Value::MakeObject();
};

// Validates a POST /register body. Unknown fields are ignored; "pingUrl" is read as "pingURL"
// when "pingURL" is absent. Errors (kInvalidArgument) start with the field's path:
//   "serviceName: is required (serviceName and serviceURL are required)"
//   "tags[2]: expected a string, got number"
//   "serviceURL: expected an http or https URL"
Result<Registration> ParseRegistration(const json::Value& body);

// True for "http://host..." or "https://host..." (scheme case-insensitive) with a non-empty
// host and no whitespace or control characters.
bool IsHttpUrl(std::string_view url);

struct Entry {
  std::string registry_id;
  std::string service_name;
  std::string service_url;
  std::vector<std::string> tags;
  std::string semantic_profile;
  std::vector<std::string> media_types;
  std::string ping_url;
  std::chrono::system_clock::time_point last_renewed;
  std::chrono::system_clock::time_point registered_at;
  HealthStatus status = HealthStatus::kPassing;
  std::optional<std::chrono::system_clock::time_point> last_checked;
  int64_t ttl_seconds = 0;
  json::Value metadata = json::Value::MakeObject();

  // Registration order: strictly increasing, persisted, survives restarts.
  uint64_t seq = 0;

  // Health bookkeeping (not persisted; a restart re-checks everything).
  int ping_failures = 0;                                 // consecutive failed pings
  int missed_ttls = 0;                                   // whole TTL periods since the last renewal
  bool awaiting_ping = false;                            // loaded after a restart, not pinged yet
  bool awaiting_renewal = false;                         // loaded after a restart, not renewed yet
  std::chrono::steady_clock::time_point renewed_steady;  // TTL base, on the injected clock

  // The "failures" the wire shows: consecutive failed pings or missed TTLs, whichever is more.
  int failures() const { return ping_failures > missed_ttls ? ping_failures : missed_ttls; }
};

// The wire form: registryID, serviceName, serviceURL, tags, semanticProfile, mediaTypes,
// pingURL, lastRenewed, registeredAt, status, lastChecked (null until checked), failures,
// ttlSeconds, metadata — in that order.
json::Value EntryToJson(const Entry& entry);

// The persisted form (the wire form without the health fields, plus "seq"), and back.
// Errors: kInvalidArgument naming the field for a stored row that does not parse.
json::Value EntryToStored(const Entry& entry);
Result<Entry> EntryFromStored(const json::Value& stored);

struct Binding {
  std::string binding_id;
  std::string source_registry_id;
  std::string target_registry_id;
  std::chrono::system_clock::time_point created_at;
};

// {"bindingID","sourceRegistryID","targetRegistryID","createdAt"}
json::Value BindingToJson(const Binding& binding);

}  // namespace csp::discovery
