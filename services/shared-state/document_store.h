#pragma once
// The shared-state domain: durable JSON documents addressed by id, each with a version that grows
// by one on every write (spec/20-shared-state.md). No HTTP here; routes.cpp maps requests onto
// these calls and their errors onto statuses.
//
// Every write:
//   - validates the id (1-128 of A-Z a-z 0-9 . _ ~ -; else kInvalidArgument),
//   - checks the caller's preconditions against the current version under the writer lock
//     (kFailedPrecondition, nothing changed),
//   - computes the new content on a copy, so a rejected request changes nothing and creates
//     nothing,
//   - checks the limits: content is a JSON object (kInvalidArgument), nested at most
//     `max_depth` deep (kInvalidArgument), at most `max_document` bytes as compact JSON
//     (kTooLarge),
//   - commits the document row, a history row and the pruning of old history in ONE transaction
//     before returning (acknowledged = committed),
//   - then tells the write listener (watches) about the new version.
// Writes are serialized; reads of hot documents come from an in-memory cache of their JSON text.
//
// Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csp/core/clock.h"
#include "csp/core/result.h"
#include "csp/json/pointer.h"
#include "csp/json/value.h"
#include "csp/sqlite/group_commit.h"
#include "shared-state/preconditions.h"
#include "shared-state/state_db.h"

namespace csp::shared_state {

struct StoreOptions {
  int history = 32;                       // revisions kept per document, the current one included (>= 1)
  size_t max_document = size_t{1} << 20;  // bytes of the document's compact JSON
  int max_depth = 64;                     // nesting of the content ({} is 1)
  size_t cache_bytes = size_t{64} << 20;  // budget of the hot-document cache
};

// One version of a document. Immutable once built; shared between the cache and readers.
struct Document {
  std::string id;
  std::string content;  // compact JSON text of a JSON object
  std::string created_at;
  std::string last_modified;
  int64_t version = 0;
};
using DocumentPtr = std::shared_ptr<const Document>;

struct WriteResult {
  DocumentPtr document;  // the new version
  json::Value content;   // the same content, parsed (for replies that embed it)
  bool created = false;  // the write created the document
};

// 1-128 characters of A-Z a-z 0-9 . _ ~ -.
bool IsValidId(std::string_view id);
Status ValidateId(std::string_view id);

// The record the original replies with, plus our version: {id, content, createdAt,
// lastModified, version}.
json::Value RecordJson(const Document& doc, json::Value content);

class DocumentStore {
 public:
  // Called after each committed write, with the document's new version, or 0 when it was deleted.
  // Runs under the writer lock (so calls arrive in commit order): it must be quick and must not
  // call back into the store.
  using WriteListener = std::function<void(const std::string& id, int64_t version)>;

  // Opens the store at path (":memory:" for a private in-memory database). Errors:
  // kInvalidArgument for options out of range (history < 1), the database's errors otherwise.
  static Result<std::unique_ptr<DocumentStore>> Open(const std::string& path, const Clock& clock,
                                                     StoreOptions options = {});
  ~DocumentStore();
  DocumentStore(const DocumentStore&) = delete;
  DocumentStore& operator=(const DocumentStore&) = delete;

  // Set once, before the store is shared between threads.
  void SetWriteListener(WriteListener listener);

  // ---- reads ----
  // kNotFound "state 'x' not found".
  Result<DocumentPtr> Get(const std::string& id);
  // The current version, 0 when the document does not exist.
  Result<int64_t> VersionOf(const std::string& id);
  // The content (JSON text) at `version`. kNotFound when the document does not exist or that
  // version is no longer kept.
  Result<std::string> ContentAt(const std::string& id, int64_t version);
  // Kept revisions, newest first. kNotFound when the document does not exist.
  Result<std::vector<Revision>> History(const std::string& id);
  // Every document in creation order, without content.
  Result<std::vector<DocumentMeta>> List();
  int64_t Count() const { return count_.load(); }
  // A trivial query against the database, for /health.
  Status Check();

  // ---- writes ----
  // Creates a document with the given id, or a fresh UUID v4 when id is empty. kAlreadyExists
  // "State ID 'x' already exists." when the id is taken.
  Result<WriteResult> Create(const std::string& id, json::Value content, const Preconditions& pre = {});
  // Shallow merge: each top-level member of `members` replaces the content's member of that name
  // (nested objects are replaced, not merged). Creates the document when missing.
  Result<WriteResult> Merge(const std::string& id, const json::Object& members, const Preconditions& pre = {});
  // Sets the value at ptr, creating missing intermediate objects; "-" appends to an array; an
  // index past the end, or a path through a scalar or null, is kInvalidArgument; ptr "" replaces
  // the whole content (value must be an object). Creates the document when missing.
  Result<WriteResult> Add(const std::string& id, const json::Pointer& ptr, json::Value value,
                          const Preconditions& pre = {});
  // RFC 6902 JSON Patch, all or nothing; a failed "test" is kConflict. A missing document is
  // patched as {} and created only if the patch succeeds.
  Result<WriteResult> Patch(const std::string& id, const json::Value& patch, const Preconditions& pre = {});
  // RFC 7396 merge patch (deep; null deletes). A missing document is patched as {}.
  Result<WriteResult> MergePatch(const std::string& id, const json::Value& patch, const Preconditions& pre = {});
  // Replaces the whole content, creating the document when missing (WriteResult::created).
  Result<WriteResult> Put(const std::string& id, json::Value content, const Preconditions& pre = {});
  // Removes the value at ptr (not the root). kNotFound when the document or the value is absent.
  Result<WriteResult> RemoveAt(const std::string& id, const json::Pointer& ptr, const Preconditions& pre = {});
  // A new version whose content is that of `version`. kNotFound when the document does not exist or
  // that version is no longer kept.
  Result<WriteResult> Restore(const std::string& id, int64_t version, const Preconditions& pre = {});
  // Deletes the document and its history. Returns whether it existed; deleting a missing document
  // is not an error (but If-Match still applies: it fails on a missing document).
  Result<bool> Delete(const std::string& id, const Preconditions& pre = {});

  const StoreOptions& options() const { return options_; }

 private:
  enum class Missing { kCreate, kFail };
  // Turns the current content into the new one; `exists` says whether the document existed.
  using Mutation = std::function<Status(json::Value& content, bool exists)>;

  DocumentStore(StateDb db, const Clock& clock, StoreOptions options, int64_t count);

  // The write pipeline every mutating call shares (see the header comment).
  Result<WriteResult> Write(const std::string& id, const Preconditions& pre, Missing missing, const Mutation& mutate);
  // Current document under db_mu_ (the batch being committed, then the cache, then the
  // database); nullptr when absent.
  Result<DocumentPtr> LoadLocked(const std::string& id);
  // Group-commit hooks, under db_mu_: publish the batch's documents (cache, count, listener) in
  // commit order, or drop them when the batch was rolled back.
  void PublishBatch();
  void DropBatch();
  Status CheckLimits(const json::Value& content, const std::string& text) const;
  Result<json::Value> ParseStored(const std::string& text) const;
  void Notify(const std::string& id, int64_t version);

  class Cache;

  const Clock& clock_;
  StoreOptions options_;
  std::mutex db_mu_;  // the connection and every write; taken before cache_mu_
  StateDb db_;
  // Concurrent writes share commits. A write's new document is held in batch_ (under db_mu_)
  // until its batch is committed: later writes of the same batch read it from there, while
  // readers of the cache only ever see committed versions.
  sqlite::GroupCommit group_{db_.connection(), db_mu_};
  struct Written {
    DocumentPtr doc;
    bool created;
  };
  std::vector<Written> batch_;
  std::mutex cache_mu_;
  std::unique_ptr<Cache> cache_;
  std::atomic<int64_t> count_{0};
  WriteListener listener_;
};

}  // namespace csp::shared_state
