#pragma once
// The SQLite tables behind the document store. Rows in, rows out: no JSON, no rules. Not
// thread-safe (one connection); DocumentStore serializes every call.
//
//   documents(id PRIMARY KEY, content, created_at, last_modified, version)
//   history(id, version, content, last_modified, PRIMARY KEY(id, version))
//
// content is the compact JSON text of the document; times are ISO 8601 UTC text.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "csp/core/result.h"
#include "csp/sqlite/database.h"
#include "csp/sqlite/transaction.h"

namespace csp::shared_state {

struct DocumentRow {
  std::string id;
  std::string content;
  std::string created_at;
  std::string last_modified;
  int64_t version = 0;
};

// A document without its content.
struct DocumentMeta {
  std::string id;
  std::string created_at;
  std::string last_modified;
  int64_t version = 0;
  size_t size_bytes = 0;
};

// One kept revision of a document.
struct Revision {
  int64_t version = 0;
  std::string last_modified;
  size_t size_bytes = 0;
};

class StateDb {
 public:
  // Opens (creating and migrating) the database at path; ":memory:" for a private in-memory one.
  // Errors: kUnavailable when the file cannot be opened, a migration error otherwise.
  static Result<StateDb> Open(const std::string& path);

  Result<sqlite::Transaction> Begin();
  // The connection itself, for sqlite::GroupCommit (same locking rules as every other call).
  sqlite::Database& connection() { return db_; }

  Result<std::optional<DocumentRow>> Find(const std::string& id);
  // Every document in creation order, without content.
  Result<std::vector<DocumentMeta>> List();
  Result<int64_t> Count();

  // Inserts a new document row (kAlreadyExists when the id is taken) or updates an existing one.
  Status Insert(const DocumentRow& row);
  Status Update(const DocumentRow& row);
  // Removes the document and all its history. Returns true when the document existed.
  Result<bool> Remove(const std::string& id);

  // Records row as a revision and drops revisions older than the newest `keep` ones.
  Status AppendHistory(const DocumentRow& row, int keep);
  // Newest first.
  Result<std::vector<Revision>> History(const std::string& id);
  // The content of one kept revision, or nullopt.
  Result<std::optional<std::string>> RevisionContent(const std::string& id, int64_t version);

  // A trivial query, for /health.
  Status Check();

 private:
  explicit StateDb(sqlite::Database db) : db_(std::move(db)) {}
  sqlite::Database db_;
};

}  // namespace csp::shared_state
