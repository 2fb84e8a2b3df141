#pragma once
// The engine's SQLite store: the records of the design's one resource type, and the request log
// that makes /repeat idempotent and /revert possible. One database per engine.
//
// Records keep their creation order (a sequence number): list/filter page through them in that
// order, and a record restored by a revert gets its old position back.
//
// A request's effect on a record, its stored reply and its undo record are written by ONE Commit,
// i.e. one SQLite transaction: a crash never leaves an effect without the means to undo it.
//
// Not thread-safe: the Engine serializes every call.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"
#include "csp/sqlite/database.h"

namespace csp::engine {

struct Record {
  int64_t seq = 0;  // creation order; 0 in a Change means "a new position"
  std::string id;
  json::Value body;  // the record as replied, "id" included
};

// What a revert of a request must do.
enum class Undo {
  kNone,       // nothing to undo: a read, a failed request
  kDelete,     // the request created record_id: delete it
  kRestore,    // the request changed or deleted record_id: put `before` back
  kTombstone,  // the request was reverted before it ever arrived: it must never apply
};

struct RequestEntry {
  std::string request_id;
  std::string command;
  std::string record_id;
  int status = 0;                    // the reply's status (0 for a tombstone)
  std::optional<json::Value> reply;  // the reply's body; nullopt for an empty body (204)
  bool replayable = true;            // false: a read, which /repeat executes again
  Undo undo = Undo::kNone;
  std::optional<Record> before;  // kRestore: the record as it was
  std::optional<int64_t> reverted_ms;
  int64_t created_ms = 0;
};

// One atomic unit of writes. Applied in the order: erase, put, request, mark_reverted.
struct Change {
  std::optional<std::string> erase;          // delete this record (absent: no-op)
  std::optional<Record> put;                 // replace the record with this id, or insert it
  std::optional<RequestEntry> request;       // log this request
  std::optional<std::string> mark_reverted;  // set reverted_ms of this logged request
};

// The schema steps, oldest first (append-only; tests replay a prefix to build an older file).
const std::vector<std::string>& StoreMigrations();

class Store {
 public:
  // Opens (creating and migrating) the database at path; ":memory:" for a private in-memory one.
  // Errors: kUnavailable (cannot open), kFailedPrecondition (schema newer than this binary).
  static Result<Store> Open(const std::string& path);

  Result<std::optional<Record>> Get(const std::string& id);
  // Up to max records with seq > after_seq, in creation order.
  Result<std::vector<Record>> Scan(int64_t after_seq, size_t max);
  Result<int64_t> Count();
  Result<std::optional<RequestEntry>> FindRequest(const std::string& request_id);

  // Writes the whole change in one transaction (all or nothing).
  Status Commit(const Change& change, int64_t now_ms);

  // Deletes logged requests created before `before_ms`; returns how many.
  Result<int64_t> PruneRequests(int64_t before_ms);

  // A trivial query, for /health.
  Status Ping();

 private:
  explicit Store(sqlite::Database db) : db_(std::move(db)) {}
  Status Put(const Record& record, int64_t now_ms);
  Status Erase(const std::string& id);
  Status Log(const RequestEntry& entry, int64_t now_ms);
  Status MarkReverted(const std::string& request_id, int64_t now_ms);

  sqlite::Database db_;
};

std::string_view UndoName(Undo undo);

}  // namespace csp::engine
