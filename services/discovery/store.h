#pragma once
// SQLite persistence of the registry: entries (as JSON text plus their registration sequence
// number) and bindings. Each call commits before it returns ("acknowledged = committed").
//
// Not thread-safe: the Registry owns the Store and calls it only under its own mutex.

#include <memory>
#include <string>
#include <vector>

#include "csp/core/result.h"
#include "csp/sqlite/database.h"
#include "discovery/entry.h"

namespace csp::discovery {

class Store {
 public:
  // Opens (creating and migrating) the database at path; ":memory:" for a private in-memory one.
  // Errors: kUnavailable (cannot open), kFailedPrecondition (schema newer than this binary).
  static Result<std::unique_ptr<Store>> Open(const std::string& path);

  // Inserts or replaces the entry with its registryID.
  Status PutEntry(const Entry& entry);
  // Deletes the entry and every binding naming it, in one transaction. Absent: no error.
  Status DeleteEntry(const std::string& registry_id);
  Status PutBinding(const Binding& binding);
  Status DeleteBinding(const std::string& binding_id);

  struct Snapshot {
    std::vector<Entry> entries;        // in registration order
    std::vector<Binding> bindings;     // in creation order
    std::vector<std::string> skipped;  // rows that did not parse, with the reason (logged by the caller)
  };
  Result<Snapshot> Load();

  // A trivial query, for /health.
  Status Ping();

  const std::string& path() const { return db_.path(); }

 private:
  explicit Store(sqlite::Database db) : db_(std::move(db)) {}
  sqlite::Database db_;
};

}  // namespace csp::discovery
