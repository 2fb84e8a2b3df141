#pragma once
// The registry of running services: entries, bindings, health state and a change index.
// No HTTP here; routes.cpp turns requests into these calls.
//
// Thread-safe: one mutex guards everything and is held only for in-memory work and the SQLite
// commit of the change (acknowledged = committed), never for network I/O.
//
// Lookups are index lookups: tag, serviceName and mediaType each map to the ordered set of
// registration sequence numbers carrying them, so /find?tag=x touches only the entries tagged x
// however large the registry is.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "csp/core/clock.h"
#include "csp/core/result.h"
#include "csp/log/log.h"
#include "discovery/entry.h"
#include "discovery/store.h"

namespace csp::discovery {

// Empty strings match anything. All given filters must match (AND).
struct FindQuery {
  std::string tag;            // exact element of tags
  std::string name;           // exact serviceName
  std::string profile;        // substring of semanticProfile
  std::string media_type;     // exact element of mediaTypes
  bool healthy_only = false;  // only "passing" entries
};

struct FindResult {
  std::vector<Entry> entries;  // passing first, then the rest; each group in registration order
  uint64_t index = 0;          // the change index this snapshot was taken at
  size_t examined = 0;         // entries looked at to answer (for tests of the index use)
};

// Find's answer already in its wire form: the JSON array of the matching entries.
struct FindText {
  std::string json;    // [EntryToJson(e), ...] in Find's order
  uint64_t index = 0;  // the change index this snapshot was taken at
  size_t count = 0;    // entries in the array
};

struct RegisterResult {
  std::string registry_id;
  bool created = false;  // false: an existing serviceName+serviceURL entry was updated
};

// What a health-check round pings.
struct PingTarget {
  std::string registry_id;
  std::string ping_url;
};

enum class CheckOutcome { kIgnored, kPassing, kCritical, kEvicted };

struct RegistryOptions {
  int evict_after = 3;                    // consecutive failed pings, or missed TTLs, before an entry is dropped
  size_t rendered_cache_bytes = 4 << 20;  // FindJson's kept entry texts, in all
};

// Messages the original platform sends (notes/original-protocol.md §1).
inline constexpr std::string_view kServiceNotFound = "Service not found in registry";
inline constexpr std::string_view kBindNotFound = "Source or target service not found";
inline constexpr std::string_view kBindingNotFound = "Binding not found";

class Registry {
 public:
  // The clock gives timestamps (Now) and TTL deadlines (Steady). Both must outlive the Registry.
  Registry(const Clock& clock, Store& store, RegistryOptions options = {});
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Loads the store's entries and bindings; call once before serving. Loaded entries with a
  // pingURL are "pending" until their first check, those with a TTL until their first renewal.
  // Rows that do not parse are skipped and logged. Errors: the store's.
  Status Load();

  // Called, under the registry's lock, with the new index after every change. It must be quick
  // and must not call back into the Registry. Set it before serving.
  void SetChangeListener(std::function<void(uint64_t index)> listener);

  // A new serviceName+serviceURL gets a new entry (created = true). A known pair updates that
  // entry in place — same registryID, registeredAt and registration order — renews it and
  // resets its health (passing, no failures). Errors: the store's (kUnavailable).
  Result<RegisterResult> Register(const Registration& registration);
  // Sets lastRenewed; clears missed TTLs. Errors: kNotFound kServiceNotFound, the store's.
  Status Renew(const std::string& registry_id);
  // Removes the entry and every binding naming it. Errors: kNotFound kServiceNotFound.
  Status Unregister(const std::string& registry_id);
  // Removes every entry with this serviceURL (and this serviceName when not empty); returns how
  // many. Errors: kNotFound kServiceNotFound when none matched.
  Result<size_t> UnregisterByUrl(const std::string& service_url, const std::string& service_name);

  std::optional<Entry> Get(const std::string& registry_id) const;
  FindResult Find(const FindQuery& query) const;
  // Find, rendered (the body of GET /find). Each entry's text is kept and reused until the entry
  // changes, up to options.rendered_cache_bytes in all; rendering used to be a third of the CPU
  // of a /find.
  FindText FindJson(const FindQuery& query) const;
  uint64_t index() const;
  size_t size() const;

  // Errors: kNotFound kBindNotFound when either id is unknown; the store's.
  Result<Binding> Bind(const std::string& source_registry_id, const std::string& target_registry_id);
  // Errors: kNotFound kBindingNotFound.
  Status Unbind(const std::string& binding_id);
  std::optional<Binding> GetBinding(const std::string& binding_id) const;
  std::vector<Binding> Bindings() const;  // in creation order

  // Health checking (driven by HealthChecker).
  // Every entry with a pingURL, in registration order.
  std::vector<PingTarget> PingTargets() const;
  // Applies one ping result. Ignored when the entry is gone or its pingURL changed since the
  // target was taken. A pass resets the failures; a failure makes the entry critical and, at
  // evict_after consecutive failures, evicts it.
  CheckOutcome RecordCheck(const PingTarget& target, bool passed);
  // Marks entries whose TTL ran out critical and evicts those that missed evict_after TTLs.
  // Returns how many were evicted.
  size_t ExpireTtls();

  // Entries per status, every status listed (for the registrations gauge).
  std::vector<std::pair<HealthStatus, size_t>> CountByStatus() const;
  // The store answers a trivial query (for /health).
  Status PingStore();

 private:
  using Seq = uint64_t;
  using SeqSet = std::set<Seq>;

  Entry* FindLocked(const std::string& registry_id);
  void IndexLocked(const Entry& entry);
  void UnindexLocked(const Entry& entry);
  // Drops the entry (already deleted from the store) and its bindings from memory.
  void RemoveLocked(Seq seq);
  // Deletes from the store, then from memory. A store failure is logged, not returned: an
  // eviction is nobody's request, and memory stays the truth until the next restart.
  void EvictLocked(Seq seq, std::string_view reason);
  void BumpLocked();
  // Recomputes entry.status; returns true when it changed.
  static bool RecomputeStatus(Entry& entry);
  const SeqSet* CandidatesLocked(const FindQuery& query, bool& filtered) const;
  // The matching entries, passing first, then the rest; each group in registration order.
  std::vector<const Entry*> MatchLocked(const FindQuery& query, size_t& examined) const;
  // An entry's rendered wire form, with the fields that change in place (renewals and health
  // checks) as they were when it was made. A re-registration, which may change the rest, drops
  // it (UnindexLocked), as does the entry's removal.
  struct Rendered {
    std::shared_ptr<const std::string> text;
    std::chrono::system_clock::time_point last_renewed;
    std::optional<std::chrono::system_clock::time_point> last_checked;
    HealthStatus status;
    int failures;
  };
  static Rendered Render(const Entry& e);
  static bool Fresh(const Rendered& r, const Entry& e) {
    return r.last_renewed == e.last_renewed && r.last_checked == e.last_checked && r.status == e.status &&
           r.failures == e.failures();
  }
  // Keeps a text made outside the lock, unless its entry changed or went since (or the cache is
  // full).
  void KeepRenderedLocked(Seq seq, Rendered r) const;
  void DropRenderedLocked(Seq seq) const;

  const Clock& clock_;
  Store& store_;
  RegistryOptions options_;
  std::function<void(uint64_t)> listener_;
  log::Logger log_{"discovery"};

  mutable std::mutex mu_;
  std::map<Seq, Entry> entries_;  // by registration order
  std::unordered_map<std::string, Seq> by_id_;
  std::unordered_map<std::string, SeqSet> by_tag_;
  std::unordered_map<std::string, SeqSet> by_name_;
  std::unordered_map<std::string, SeqSet> by_media_type_;
  std::unordered_map<std::string, SeqSet> by_url_;
  std::map<std::pair<std::string, std::string>, Seq> by_name_url_;
  SeqSet with_ping_;
  SeqSet with_ttl_;
  std::map<uint64_t, Binding> bindings_;  // by creation order
  std::unordered_map<std::string, uint64_t> binding_by_id_;
  uint64_t next_binding_ = 0;
  Seq last_seq_ = 0;
  uint64_t index_ = 1;
  mutable std::unordered_map<Seq, Rendered> rendered_;
  mutable size_t rendered_bytes_ = 0;
  // Moves on every re-registration and removal: a text made from a copy taken before is not kept.
  uint64_t registrations_changed_ = 0;
};

}  // namespace csp::discovery
