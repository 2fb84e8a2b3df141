#include "shared-state/document_store.h"

#include <list>
#include <unordered_map>
#include <utility>

#include "csp/core/id.h"
#include "csp/core/time.h"
#include "csp/json/json.h"
#include "csp/json/patch.h"

namespace csp::shared_state {

namespace {

constexpr size_t kMaxIdLength = 128;

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '~' || c == '-';
}

// Ids are echoed in messages; a hostile one must not make the message huge.
std::string Quote(std::string_view id) {
  constexpr size_t kShown = 64;
  if (id.size() <= kShown) return "'" + std::string(id) + "'";
  return "'" + std::string(id.substr(0, kShown)) + "...'";
}

Error StateNotFound(const std::string& id) { return NotFound("state " + Quote(id) + " not found"); }

DocumentPtr MakeDocument(DocumentRow row) {
  auto doc = std::make_shared<Document>();
  doc->id = std::move(row.id);
  doc->content = std::move(row.content);
  doc->created_at = std::move(row.created_at);
  doc->last_modified = std::move(row.last_modified);
  doc->version = row.version;
  return doc;
}

// The index token of an array element that json::Get has already resolved (so it is canonical
// decimal and in range).
size_t IndexOf(const std::string& token) {
  size_t index = 0;
  for (char c : token) index = index * 10 + static_cast<size_t>(c - '0');
  return index;
}

}  // namespace

// Least-recently-used documents within a byte budget. Guarded by DocumentStore::cache_mu_.
class DocumentStore::Cache {
 public:
  explicit Cache(size_t budget) : budget_(budget) {}

  DocumentPtr Get(const std::string& id) {
    auto it = index_.find(id);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return *it->second;
  }

  void Put(DocumentPtr doc) {
    Erase(doc->id);
    size_t size = Cost(*doc);
    if (size > budget_ / 4) return;  // one huge document must not flush everything else
    lru_.push_front(doc);
    index_[doc->id] = lru_.begin();
    bytes_ += size;
    while (bytes_ > budget_ && !lru_.empty()) Erase(lru_.back()->id);
  }

  void Erase(const std::string& id) {
    auto it = index_.find(id);
    if (it == index_.end()) return;
    bytes_ -= Cost(**it->second);
    lru_.erase(it->second);
    index_.erase(it);
  }

 private:
  // What a cached document really costs, not just its text: the Document and its strings (id,
  // timestamps), the shared_ptr control block, the list node, and the index node with its own
  // copy of the id. Measured at about 600 bytes for a small document (docs/benchmarks.md).
  static size_t Cost(const Document& d) { return d.content.size() + 2 * d.id.size() + 512; }

  size_t budget_;
  size_t bytes_ = 0;
  std::list<DocumentPtr> lru_;
  std::unordered_map<std::string, std::list<DocumentPtr>::iterator> index_;
};

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

Status ValidateId(std::string_view id) {
  if (IsValidId(id)) return Ok();
  return InvalidArgument("invalid state id " + Quote(id) + ": use 1-128 characters of A-Z a-z 0-9 . _ ~ -");
}

json::Value RecordJson(const Document& doc, json::Value content) {
  return json::Object{{"id", doc.id},
                      {"content", std::move(content)},
                      {"createdAt", doc.created_at},
                      {"lastModified", doc.last_modified},
                      {"version", doc.version}};
}

Result<std::unique_ptr<DocumentStore>> DocumentStore::Open(const std::string& path, const Clock& clock,
                                                           StoreOptions options) {
  if (options.history < 1) return InvalidArgument("history must be at least 1");
  if (options.max_depth < 1) return InvalidArgument("max_depth must be at least 1");
  Result<StateDb> db = StateDb::Open(path);
  if (!db) return db.error();
  Result<int64_t> count = db->Count();
  if (!count) return count.error();
  return std::unique_ptr<DocumentStore>(new DocumentStore(std::move(*db), clock, options, *count));
}

DocumentStore::DocumentStore(StateDb db, const Clock& clock, StoreOptions options, int64_t count)
    : clock_(clock),
      options_(options),
      db_(std::move(db)),
      cache_(std::make_unique<Cache>(options.cache_bytes)),
      count_(count) {
  group_.set_on_commit([this] { PublishBatch(); });
  group_.set_on_rollback([this] { DropBatch(); });
}

void DocumentStore::PublishBatch() {
  for (Written& w : batch_) {
    {
      std::lock_guard<std::mutex> cache_lock(cache_mu_);
      cache_->Put(w.doc);
    }
    if (w.created) ++count_;
    Notify(w.doc->id, w.doc->version);
  }
  batch_.clear();
}

void DocumentStore::DropBatch() { batch_.clear(); }

DocumentStore::~DocumentStore() = default;

void DocumentStore::SetWriteListener(WriteListener listener) { listener_ = std::move(listener); }

// ---- reads ----

Result<DocumentPtr> DocumentStore::LoadLocked(const std::string& id) {
  for (auto it = batch_.rbegin(); it != batch_.rend(); ++it) {
    if (it->doc->id == id) return it->doc;
  }
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (DocumentPtr hit = cache_->Get(id)) return hit;
  }
  Result<std::optional<DocumentRow>> row = db_.Find(id);
  if (!row) return row.error();
  if (!*row) return DocumentPtr();
  DocumentPtr doc = MakeDocument(std::move(**row));
  std::lock_guard<std::mutex> lock(cache_mu_);
  cache_->Put(doc);
  return doc;
}

Result<DocumentPtr> DocumentStore::Get(const std::string& id) {
  if (Status s = ValidateId(id); !s) return s.error();
  {
    // The hot path: a cached document costs no database access and no writer lock.
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (DocumentPtr hit = cache_->Get(id)) return hit;
  }
  std::lock_guard<std::mutex> lock(db_mu_);
  Result<DocumentPtr> doc = LoadLocked(id);
  if (!doc) return doc.error();
  if (!*doc) return StateNotFound(id);
  return *doc;
}

Result<int64_t> DocumentStore::VersionOf(const std::string& id) {
  Result<DocumentPtr> doc = Get(id);
  if (doc) return (*doc)->version;
  if (doc.error().code == ErrorCode::kNotFound) return int64_t{0};
  return doc.error();
}

Result<std::string> DocumentStore::ContentAt(const std::string& id, int64_t version) {
  if (Status s = ValidateId(id); !s) return s.error();
  std::lock_guard<std::mutex> lock(db_mu_);
  Result<DocumentPtr> doc = LoadLocked(id);
  if (!doc) return doc.error();
  if (!*doc) return StateNotFound(id);
  if ((*doc)->version == version) return (*doc)->content;
  Result<std::optional<std::string>> content = db_.RevisionContent(id, version);
  if (!content) return content.error();
  if (!*content) {
    return NotFound("version " + std::to_string(version) + " of state " + Quote(id) +
                    " is not kept (the current version is " + std::to_string((*doc)->version) + ")");
  }
  return std::move(**content);
}

Result<std::vector<Revision>> DocumentStore::History(const std::string& id) {
  if (Status s = ValidateId(id); !s) return s.error();
  std::lock_guard<std::mutex> lock(db_mu_);
  Result<DocumentPtr> doc = LoadLocked(id);
  if (!doc) return doc.error();
  if (!*doc) return StateNotFound(id);
  return db_.History(id);
}

Result<std::vector<DocumentMeta>> DocumentStore::List() {
  std::lock_guard<std::mutex> lock(db_mu_);
  return db_.List();
}

Status DocumentStore::Check() {
  std::lock_guard<std::mutex> lock(db_mu_);
  return db_.Check();
}

// ---- writes ----

Status DocumentStore::CheckLimits(const json::Value& content, const std::string& text) const {
  if (!content.IsObject()) {
    return InvalidArgument("the document's content must be a JSON object, not " +
                           std::string(json::TypeName(content.type())));
  }
  if (text.size() > options_.max_document) {
    return Error(ErrorCode::kTooLarge, "the document would be " + std::to_string(text.size()) +
                                           " bytes, over the limit of " + std::to_string(options_.max_document) +
                                           " (--max-document)");
  }
  if (json::Depth(content) > options_.max_depth) {
    return InvalidArgument("the document would nest deeper than " + std::to_string(options_.max_depth) + " levels");
  }
  return Ok();
}

Result<json::Value> DocumentStore::ParseStored(const std::string& text) const {
  // Stored content passed the depth check when written; the margin only matters when a smaller
  // limit was configured since.
  Result<json::Value> parsed = json::Parse(text, {options_.max_depth + 64});
  if (!parsed) return Internal("stored state is not valid JSON: " + parsed.error().message);
  return parsed;
}

void DocumentStore::Notify(const std::string& id, int64_t version) {
  if (listener_) listener_(id, version);
}

Result<WriteResult> DocumentStore::Write(const std::string& id, const Preconditions& pre, Missing missing,
                                         const Mutation& mutate) {
  if (Status s = ValidateId(id); !s) return s.error();
  Result<WriteResult> out = Internal("the write did not run");
  // Runs in the group commit's leader, with db_mu_ held and the batch's transaction open.
  Status written = group_.Write([&]() -> Status {
    Result<DocumentPtr> current = LoadLocked(id);
    if (!current) return current.error();
    const DocumentPtr& old = *current;
    // RFC 9110 §13.2.1: a request that would fail without its conditions fails that way.
    if (!old && missing == Missing::kFail) return StateNotFound(id);
    int64_t version = old ? old->version : 0;
    if (Status s = CheckPreconditions(pre, version, id); !s) return s.error();

    json::Value content = json::Value::MakeObject();
    if (old) {
      Result<json::Value> parsed = ParseStored(old->content);
      if (!parsed) return parsed.error();
      content = std::move(*parsed);
    }
    if (Status s = mutate(content, old != nullptr); !s) return s.error();
    std::string text = json::Dump(content);
    if (Status s = CheckLimits(content, text); !s) return s.error();

    std::string now = FormatIso8601(clock_.Now());
    DocumentRow row{id, std::move(text), old ? old->created_at : now, now, version + 1};
    if (Status s = old ? db_.Update(row) : db_.Insert(row); !s) return s.error();
    if (Status s = db_.AppendHistory(row, options_.history); !s) return s.error();

    DocumentPtr doc = MakeDocument(std::move(row));
    batch_.push_back(Written{doc, old == nullptr});
    out = WriteResult{doc, std::move(content), old == nullptr};
    return Ok();
  });
  if (!written) return written.error();
  return out;
}

Result<WriteResult> DocumentStore::Create(const std::string& id, json::Value content, const Preconditions& pre) {
  std::string doc_id = id.empty() ? NewUuid() : id;
  return Write(doc_id, pre, Missing::kCreate, [&](json::Value& current, bool exists) -> Status {
    if (exists) return AlreadyExists("State ID '" + doc_id + "' already exists.");
    current = std::move(content);
    return Ok();
  });
}

Result<WriteResult> DocumentStore::Merge(const std::string& id, const json::Object& members, const Preconditions& pre) {
  return Write(id, pre, Missing::kCreate, [&](json::Value& current, bool) -> Status {
    for (const auto& [key, value] : members) current.AsObject().Set(key, value);
    return Ok();
  });
}

Result<WriteResult> DocumentStore::Add(const std::string& id, const json::Pointer& ptr, json::Value value,
                                       const Preconditions& pre) {
  return Write(id, pre, Missing::kCreate, [&](json::Value& current, bool) -> Status {
    if (ptr.IsRoot() && !value.IsObject()) {
      return InvalidArgument("value: must be a JSON object when path is \"\" (it replaces the whole content)");
    }
    Status set = json::SetCreating(current, ptr, std::move(value));
    if (!set) return set.error().WithPrefix("path");
    return Ok();
  });
}

Result<WriteResult> DocumentStore::Patch(const std::string& id, const json::Value& patch, const Preconditions& pre) {
  return Write(id, pre, Missing::kCreate,
               [&](json::Value& current, bool) -> Status { return json::ApplyPatch(current, patch); });
}

Result<WriteResult> DocumentStore::MergePatch(const std::string& id, const json::Value& patch,
                                              const Preconditions& pre) {
  return Write(id, pre, Missing::kCreate, [&](json::Value& current, bool) -> Status {
    json::ApplyMergePatch(current, patch);
    return Ok();
  });
}

Result<WriteResult> DocumentStore::Put(const std::string& id, json::Value content, const Preconditions& pre) {
  return Write(id, pre, Missing::kCreate, [&](json::Value& current, bool) -> Status {
    current = std::move(content);
    return Ok();
  });
}

Result<WriteResult> DocumentStore::RemoveAt(const std::string& id, const json::Pointer& ptr, const Preconditions& pre) {
  return Write(id, pre, Missing::kFail, [&](json::Value& current, bool) -> Status {
    if (ptr.IsRoot()) return InvalidArgument("cannot remove the root of a document; delete the document instead");
    Result<const json::Value*> target = json::Get(current, ptr);
    if (!target) return target.error().WithPrefix("state " + Quote(id));
    json::Value* parent = json::Find(current, ptr.Parent());
    if (parent->IsObject()) {
      parent->AsObject().Erase(ptr.Last());
      return Ok();
    }
    json::Array& items = parent->AsArray();
    items.erase(items.begin() + static_cast<std::ptrdiff_t>(IndexOf(ptr.Last())));
    return Ok();
  });
}

Result<WriteResult> DocumentStore::Restore(const std::string& id, int64_t version, const Preconditions& pre) {
  return Write(id, pre, Missing::kFail, [&](json::Value& current, bool) -> Status {
    // Runs under db_mu_, so the history read and the new version are one atomic step.
    Result<std::optional<std::string>> text = db_.RevisionContent(id, version);
    if (!text) return text.error();
    if (!*text) {
      return NotFound("version " + std::to_string(version) + " of state " + Quote(id) + " is not kept");
    }
    Result<json::Value> parsed = ParseStored(**text);
    if (!parsed) return parsed.error();
    current = std::move(*parsed);
    return Ok();
  });
}

Result<bool> DocumentStore::Delete(const std::string& id, const Preconditions& pre) {
  if (Status s = ValidateId(id); !s) return s.error();
  std::lock_guard<std::mutex> lock(db_mu_);
  Result<DocumentPtr> current = LoadLocked(id);
  if (!current) return current.error();
  int64_t version = *current ? (*current)->version : 0;
  if (Status s = CheckPreconditions(pre, version, id); !s) return s.error();
  if (!*current) return false;
  Result<sqlite::Transaction> tx = db_.Begin();
  if (!tx) return tx.error();
  Result<bool> removed = db_.Remove(id);
  if (!removed) return removed.error();
  if (Status s = tx->Commit(); !s) return s.error();
  {
    std::lock_guard<std::mutex> cache_lock(cache_mu_);
    cache_->Erase(id);
  }
  --count_;
  Notify(id, 0);
  return true;
}

}  // namespace csp::shared_state
