#pragma once
// The engine's command logic: Composable Command Messages (CCM) in, CCM replies out, with the
// original's checks, messages and reply shapes, plus idempotency by requestId and real reverts.
// No HTTP here beyond the platform's code-to-status mapping: routes.cpp sends a CommandReply's
// status and body as they are.
//
//   {"command":"create","resource":"person","id":"p1","payload":{...},"requestId":"..."}
//
// Checks, in order, each a 400 with the original's message:
//   command and resource present  "Invalid command message format"
//   command declared              "Unknown command: X"
//   resource == resourceType      "Unsupported resource: X"
//   inputs (see inputs.h)         "Missing required input: K", "Invalid value for ...", types
//   a declared non-built-in verb  "Command not implemented: X"
//
// Idempotency: a message whose requestId was seen before gets the stored reply of its first
// execution (same status and body) and changes nothing, on /execute and /repeat alike. Reads are
// logged but not stored: repeating one reads again. A create on /repeat whose id exists (and
// whose requestId is new) overwrites the record instead of answering 409.
//
// Reverts: see Revert(). The effect of a request, its stored reply and its undo record are
// committed together.
//
// Thread-safe: every call is serialized on one mutex (the store is a single SQLite connection).

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "csp/core/clock.h"
#include "csp/core/result.h"
#include "csp/json/value.h"
#include "design.h"
#include "store.h"

namespace csp::engine {

// The reply to a message: `status` is sent as the HTTP status; no body for nullopt (a 204).
struct CommandReply {
  int status = 200;
  std::optional<json::Value> body;
  bool replayed = false;  // the stored reply of an earlier execution of the same requestId
};

enum class Mode {
  kExecute,  // POST /execute
  kRepeat,   // POST /repeat: a create whose id exists overwrites it
};

// Paging of list and filter, from the URL query (?limit=&after=) or the message's top-level
// "limit"/"after" (the query wins). Without a limit every record is returned, as in the original.
struct PageRequest {
  std::optional<int64_t> limit;
  std::optional<std::string> after;  // the "next" cursor of the previous page
};

inline constexpr int64_t kMaxPageLimit = 1000;

struct EngineOptions {
  // Logged requests older than this are forgotten: /repeat then executes again and /revert is a
  // noop. Pruned every kPruneEvery commits.
  std::chrono::milliseconds request_retention = std::chrono::hours(24 * 7);
  // Record ids for create's generateIfMissing rule; NewUuid() when empty (tests inject their own).
  std::function<std::string()> new_id;
};

class Engine {
 public:
  // design and store must outlive the engine.
  Engine(const Design& design, Store& store, const Clock& clock, EngineOptions options = {});

  // Runs one message. Every outcome of the message itself, 4xx included, is a CommandReply.
  // Errors: only store failures (kUnavailable, kInternal), after which nothing was changed.
  Result<CommandReply> Handle(const json::Value& message, Mode mode, const PageRequest& page = {});

  // Undoes the request named by body.requestId:
  //   applied create                    -> the record is deleted      {"status":"reverted","requestId"}
  //   applied update, status, delete    -> the record is restored     (same)
  //   create that overwrote (/repeat)   -> the old record is restored (same)
  //   read, failed or unknown request   -> nothing                    {"status":"noop","requestId"}
  //   reverted before                   -> nothing                    {"status":"already-reverted","requestId"}
  // An unknown requestId is remembered as reverted-before-applied: if that request arrives later
  // it is refused with 409 and never applies. With a requestId nothing else in the body counts.
  // Only a body WITHOUT requestId may name its target as a CCM: a create with an id deletes that
  // record ({"status":"reverted"}), anything else is {"status":"noop"} (the original's clients).
  // A requestId that is not a non-empty string is a 400. Errors: store failures only.
  Result<CommandReply> Revert(const json::Value& body);

  Result<int64_t> RecordCount();
  Status CheckStore();
  const Design& design() const { return design_; }

 private:
  struct Outcome {
    CommandReply reply;
    Change change;  // the writes of the effect (none for reads and failures)
    Undo undo = Undo::kNone;
    std::string record_id;
    std::optional<Record> before;
  };

  static Outcome Failed(const Error& error);
  // The stored reply for a requestId seen before, or a 409 when it must not run; nullopt for a
  // logged read, which runs again.
  std::optional<CommandReply> ReplayOf(const RequestEntry& entry, const std::string& command) const;
  // The checks after the message format (command declared, resource, inputs), then the verb.
  Result<Outcome> Evaluate(const json::Value& message, const CommandSpec* command, Mode mode, const PageRequest& query);
  Result<Outcome> Dispatch(const CommandSpec& command, const std::string& id, const json::Object& input, Mode mode,
                           const PageRequest& page);
  Result<Outcome> Create(const CommandSpec& command, const std::string& id, const json::Object& input, Mode mode);
  Result<Outcome> Read(const std::string& id);
  Result<Outcome> Modify(const CommandSpec& command, const std::string& id, const json::Object& input);
  Result<Outcome> Delete(const CommandSpec& command, const std::string& id);
  Result<Outcome> Page(const PageRequest& page, const json::Object* criteria);
  Status Commit(const Change& change);
  int64_t NowMs() const;

  const Design& design_;
  Store& store_;
  const Clock& clock_;
  EngineOptions options_;
  std::mutex mu_;
  int64_t commits_ = 0;
};

// Filter semantics (the original's): every criterion must match; a string criterion matches a
// string field containing it, case-insensitively (ASCII); any other criterion must equal the field
// (deep equality for objects and arrays, where the original compared references and never matched).
bool MatchesFilter(const json::Value& record, const json::Object& criteria);

}  // namespace csp::engine
