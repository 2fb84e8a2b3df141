#include "engine.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "csp/core/id.h"
#include "csp/core/time.h"
#include "csp/http/message.h"
#include "inputs.h"

namespace csp::engine {
namespace {

constexpr int64_t kPruneEvery = 256;
constexpr size_t kFilterChunk = 256;

// A command's failure is part of its reply (it is stored and replayed), so the domain builds the
// error body itself; the status comes from the platform's one code-to-status mapping.
CommandReply ErrorReply(const Error& e) {
  return {http::StatusFor(e.code),
          json::Value(json::Object{{"error", e.message}, {"code", std::string(ErrorCodeName(e.code))}})};
}

CommandReply InvalidMessage() { return ErrorReply(InvalidArgument("Invalid command message format")); }

bool IsNonEmptyString(const json::Value* v) { return v != nullptr && v->IsString() && !v->AsString().empty(); }

std::string ToLowerAscii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The message's "id": absent, null and "" mean none (the original tests truthiness).
Result<std::string> MessageId(const json::Value& message) {
  const json::Value* id = message.Find("id");
  if (id == nullptr || id->IsNull()) return std::string();
  if (!id->IsString()) return InvalidArgument("id: expected a string");
  return id->AsString();
}

// The message's "requestId": absent or null means none; anything else must be a non-empty string.
Result<std::string> RequestIdOf(const json::Value& body) {
  const json::Value* rid = body.Find("requestId");
  if (rid == nullptr || rid->IsNull()) return std::string();
  if (!IsNonEmptyString(rid)) return InvalidArgument("requestId: expected a non-empty string");
  return rid->AsString();
}

// Query parameters win over the message's own "limit"/"after".
Result<PageRequest> PageOf(const json::Value& message, const PageRequest& query) {
  PageRequest page = query;
  if (!page.limit) {
    if (const json::Value* limit = message.Find("limit"); limit != nullptr && !limit->IsNull()) {
      if (!limit->IsInt()) return InvalidArgument("limit: expected an integer");
      page.limit = limit->AsInt();
    }
  }
  if (!page.after) {
    if (const json::Value* after = message.Find("after"); after != nullptr && !after->IsNull()) {
      if (!after->IsString()) return InvalidArgument("after: expected a string");
      page.after = after->AsString();
    }
  }
  if (page.limit && (*page.limit < 1 || *page.limit > kMaxPageLimit)) {
    return InvalidArgument("limit: must be between 1 and " + std::to_string(kMaxPageLimit));
  }
  return page;
}

// Cursors are the creation sequence number of the last record of a page, as a decimal string.
Result<int64_t> ParseCursor(const std::optional<std::string>& after) {
  if (!after || after->empty()) return int64_t{0};
  int64_t seq = 0;
  for (char c : *after) {
    if (c < '0' || c > '9' || seq > (INT64_MAX - 9) / 10) {
      return InvalidArgument("after: '" + *after + "' is not a cursor returned by this engine");
    }
    seq = seq * 10 + (c - '0');
  }
  return seq;
}

void AddWarnings(CommandReply& reply, const std::vector<std::string>& warnings) {
  if (warnings.empty() || !reply.body || !reply.body->IsObject()) return;
  json::Array names;
  for (const std::string& w : warnings) names.emplace_back(w);
  reply.body->Set("warnings", json::Value(std::move(names)));
}

json::Value ResultBody(json::Value result) { return json::Value(json::Object{{"result", std::move(result)}}); }

}  // namespace

bool MatchesFilter(const json::Value& record, const json::Object& criteria) {
  for (const auto& [key, wanted] : criteria) {
    const json::Value* field = record.Find(key);
    if (wanted.IsString()) {
      if (field == nullptr || !field->IsString()) return false;
      if (ToLowerAscii(field->AsString()).find(ToLowerAscii(wanted.AsString())) == std::string::npos) return false;
      continue;
    }
    // Value equality is JSON equality: 1 equals 1.0, "1" does not equal 1.
    if (field == nullptr || *field != wanted) return false;
  }
  return true;
}

Engine::Engine(const Design& design, Store& store, const Clock& clock, EngineOptions options)
    : design_(design), store_(store), clock_(clock), options_(std::move(options)) {
  if (!options_.new_id) options_.new_id = [] { return NewTimeOrderedUuid(); };
}

int64_t Engine::NowMs() const { return ToUnixMillis(clock_.Now()); }

Status Engine::Commit(const Change& change) {
  if (!change.erase && !change.put && !change.request && !change.mark_reverted) return Ok();
  if (Status s = store_.Commit(change, NowMs()); !s) return s;
  // The request log would otherwise grow forever; pruning rides on writes so no timer is needed.
  if (commits_++ % kPruneEvery == 0) {
    const int64_t cutoff = NowMs() - static_cast<int64_t>(options_.request_retention.count());
    if (Result<int64_t> pruned = store_.PruneRequests(cutoff); !pruned) return pruned.error();
  }
  return Ok();
}

Result<CommandReply> Engine::Handle(const json::Value& message, Mode mode, const PageRequest& query) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!message.IsObject()) return InvalidMessage();
  const json::Value* command_name = message.Find("command");
  const json::Value* resource = message.Find("resource");
  if (!IsNonEmptyString(command_name) || !IsNonEmptyString(resource)) return InvalidMessage();
  const std::string& name = command_name->AsString();

  Result<std::string> request_id = RequestIdOf(message);
  if (!request_id) return ErrorReply(request_id.error());
  bool log_request = !request_id->empty();
  if (log_request) {
    Result<std::optional<RequestEntry>> seen = store_.FindRequest(*request_id);
    if (!seen) return seen.error();
    if (*seen) {
      if (std::optional<CommandReply> replay = ReplayOf(**seen, name)) return *replay;
      log_request = false;  // a read: run it again; it is logged already
    }
  }

  const CommandSpec* command = design_.FindCommand(name);
  Result<Outcome> outcome = Evaluate(message, command, mode, query);
  if (!outcome) return outcome.error();
  if (log_request) {
    RequestEntry entry;
    entry.request_id = *request_id;
    entry.command = name;
    entry.record_id = outcome->record_id;
    entry.status = outcome->reply.status;
    entry.replayable = command == nullptr || !IsReadVerb(command->verb);
    if (entry.replayable) entry.reply = outcome->reply.body;
    entry.undo = outcome->undo;
    entry.before = outcome->before;
    outcome->change.request = std::move(entry);
  }
  if (Status s = Commit(outcome->change); !s) return s.error();
  return outcome->reply;
}

std::optional<CommandReply> Engine::ReplayOf(const RequestEntry& entry, const std::string& command) const {
  if (entry.undo == Undo::kTombstone) {
    return ErrorReply({ErrorCode::kConflict,
                       "Request " + entry.request_id + " was reverted before it was applied; it will not be applied"});
  }
  if (entry.command != command) {
    return ErrorReply({ErrorCode::kConflict,
                       "requestId " + entry.request_id + " was already used for command '" + entry.command + "'"});
  }
  if (entry.replayable) return CommandReply{entry.status, entry.reply, true};
  return std::nullopt;
}

Result<Engine::Outcome> Engine::Evaluate(const json::Value& message, const CommandSpec* command, Mode mode,
                                         const PageRequest& query) {
  if (command == nullptr) return Failed(InvalidArgument("Unknown command: " + message.Find("command")->AsString()));
  const std::string& resource = message.Find("resource")->AsString();
  if (resource != design_.resource_type) return Failed(InvalidArgument("Unsupported resource: " + resource));
  Result<CheckedInput> input = CheckInputs(design_, *command, message.Find("payload"));
  if (!input) return Failed(input.error());
  Result<std::string> id = MessageId(message);
  if (!id) return Failed(id.error());
  Result<PageRequest> page = PageOf(message, query);
  if (!page) return Failed(page.error());

  Result<Outcome> outcome = Dispatch(*command, *id, input->fields, mode, *page);
  if (outcome) AddWarnings(outcome->reply, input->warnings);
  return outcome;
}

Engine::Outcome Engine::Failed(const Error& error) {
  Outcome out;
  out.reply = ErrorReply(error);
  return out;
}

Result<Engine::Outcome> Engine::Dispatch(const CommandSpec& command, const std::string& id, const json::Object& input,
                                         Mode mode, const PageRequest& page) {
  if (command.verb == Verb::kCreate) return Create(command, id, input, mode);
  if (command.verb == Verb::kList) return Page(page, nullptr);
  if (command.verb == Verb::kFilter) return Page(page, &input);
  if (command.verb == Verb::kNone) return Failed(InvalidArgument("Command not implemented: " + command.name));
  // read, update, status and delete act on the message's id.
  if (id.empty()) return Failed(InvalidArgument("Missing required input: id"));
  if (command.verb == Verb::kRead) return Read(id);
  if (command.verb == Verb::kDelete) return Delete(command, id);
  return Modify(command, id, input);
}

Result<Engine::Outcome> Engine::Create(const CommandSpec& command, const std::string& message_id,
                                       const json::Object& input, Mode mode) {
  // Field order as the original builds it: the validated input, then the id.
  json::Object record = input;
  std::string id = message_id;
  if (id.empty() && command.HasRule("generateIfMissing")) id = options_.new_id();
  if (id.empty()) return Failed(InvalidArgument("Missing required input: id"));
  record.Set("id", id);

  Result<std::optional<Record>> existing = store_.Get(id);
  if (!existing) return existing.error();
  if (*existing && mode == Mode::kExecute)
    return Failed(AlreadyExists("Resource with ID '" + id + "' already exists."));
  Outcome out;
  out.record_id = id;
  if (*existing) {
    out.undo = Undo::kRestore;  // a /repeat overwrite: undoing it brings the old record back
    out.before = **existing;
  } else {
    out.undo = Undo::kDelete;
  }
  out.change.put = Record{0, id, json::Value(record)};
  const int status = command.status_code.value_or(201);
  out.reply.status = status;
  out.reply.body = json::Value(json::Object{{"statusCode", status}, {"result", json::Value(std::move(record))}});
  return out;
}

Result<Engine::Outcome> Engine::Read(const std::string& id) {
  Result<std::optional<Record>> existing = store_.Get(id);
  if (!existing) return existing.error();
  if (!*existing) return Failed(NotFound("Resource not found: " + id));
  Outcome out;
  out.reply.body = ResultBody((*existing)->body);
  return out;
}

Result<Engine::Outcome> Engine::Modify(const CommandSpec& command, const std::string& id, const json::Object& input) {
  Result<std::optional<Record>> existing = store_.Get(id);
  if (!existing) return existing.error();
  if (!*existing) return Failed(NotFound("Resource not found: " + id));
  json::Value updated = (*existing)->body;
  if (command.verb == Verb::kStatus) {
    // The original sets status to input.status, which removes the field when the input has none.
    const json::Value* status = input.Find("status");
    if (status != nullptr) {
      updated.Set("status", *status);
    } else if (updated.IsObject()) {
      updated.AsObject().Erase("status");
    }
  } else {
    for (const auto& [key, value] : input) updated.Set(key, value);  // shallow merge
  }
  Outcome out;
  out.record_id = id;
  out.undo = Undo::kRestore;
  out.before = **existing;
  out.change.put = Record{(*existing)->seq, id, updated};
  out.reply.body = ResultBody(std::move(updated));
  return out;
}

Result<Engine::Outcome> Engine::Delete(const CommandSpec& command, const std::string& id) {
  Result<std::optional<Record>> existing = store_.Get(id);
  if (!existing) return existing.error();
  if (!*existing) return Failed(NotFound("Resource not found: " + id));
  Outcome out;
  out.record_id = id;
  out.undo = Undo::kRestore;
  out.before = **existing;
  out.change.erase = id;
  // The original builds {"statusCode": S}; with 204 the body is not sent at all.
  const int status = command.status_code.value_or(204);
  out.reply.status = status;
  if (status != 204) out.reply.body = json::Value(json::Object{{"statusCode", status}});
  return out;
}

Result<Engine::Outcome> Engine::Page(const PageRequest& page, const json::Object* criteria) {
  Result<int64_t> after = ParseCursor(page.after);
  if (!after) return Failed(after.error());
  // Read one more than asked, to know whether a next page exists.
  const size_t wanted = page.limit ? static_cast<size_t>(*page.limit) + 1 : SIZE_MAX;
  json::Array result;
  int64_t cursor = *after;
  int64_t last_seq = 0;
  bool more = false;
  for (;;) {
    Result<std::vector<Record>> chunk = store_.Scan(cursor, kFilterChunk);
    if (!chunk) return chunk.error();
    for (Record& record : *chunk) {
      cursor = record.seq;
      if (criteria != nullptr && !MatchesFilter(record.body, *criteria)) continue;
      if (result.size() + 1 == wanted) {
        more = true;
        break;
      }
      last_seq = record.seq;
      result.push_back(std::move(record.body));
    }
    if (more || chunk->size() < kFilterChunk) break;
  }
  json::Object body{{"result", json::Value(std::move(result))}};
  if (more) body.Set("next", std::to_string(last_seq));
  Outcome out;
  out.reply.body = json::Value(std::move(body));
  return out;
}

Result<CommandReply> Engine::Revert(const json::Value& body) {
  std::lock_guard<std::mutex> lock(mu_);
  auto reply = [](std::string_view outcome, const std::string& request_id) {
    json::Object b{{"status", std::string(outcome)}};
    if (!request_id.empty()) b.Set("requestId", request_id);
    return CommandReply{200, json::Value(std::move(b))};
  };
  if (!body.IsObject()) return reply("noop", "");
  Result<std::string> request_id = RequestIdOf(body);
  if (!request_id) return ErrorReply(request_id.error());

  if (request_id->empty()) {
    // The original's clients name the target as a CCM; only "delete what a create made" is safe
    // without knowing what the record looked like before.
    const json::Value* command = body.Find("command");
    const json::Value* resource = body.Find("resource");
    Result<std::string> id = MessageId(body);
    const bool is_create = IsNonEmptyString(command) && design_.FindCommand(command->AsString()) != nullptr &&
                           VerbOf(command->AsString()) == Verb::kCreate;
    const bool our_resource = resource == nullptr || resource->IsNull() ||
                              (resource->IsString() && resource->AsString() == design_.resource_type);
    if (!is_create || !our_resource || !id || id->empty()) return reply("noop", "");
    Result<std::optional<Record>> existing = store_.Get(*id);
    if (!existing) return existing.error();
    if (!*existing) return reply("noop", "");
    Change change;
    change.erase = *id;
    if (Status s = Commit(change); !s) return s.error();
    return reply("reverted", "");
  }

  Result<std::optional<RequestEntry>> found = store_.FindRequest(*request_id);
  if (!found) return found.error();
  Change change;
  if (!*found) {
    // Remember it, so that the request, should it still arrive, never applies.
    RequestEntry tombstone;
    tombstone.request_id = *request_id;
    const json::Value* command = body.Find("command");
    tombstone.command = IsNonEmptyString(command) ? command->AsString() : std::string();
    tombstone.replayable = false;
    tombstone.undo = Undo::kTombstone;
    change.request = std::move(tombstone);
    if (Status s = Commit(change); !s) return s.error();
    return reply("noop", *request_id);
  }
  const RequestEntry& entry = **found;
  if (entry.undo == Undo::kNone || entry.undo == Undo::kTombstone) return reply("noop", *request_id);
  if (entry.reverted_ms) return reply("already-reverted", *request_id);
  if (entry.undo == Undo::kDelete) {
    change.erase = entry.record_id;
  } else if (entry.before) {
    change.put = *entry.before;
  }
  change.mark_reverted = *request_id;
  if (Status s = Commit(change); !s) return s.error();
  return reply("reverted", *request_id);
}

Result<int64_t> Engine::RecordCount() {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.Count();
}

Status Engine::CheckStore() {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.Ping();
}

}  // namespace csp::engine
