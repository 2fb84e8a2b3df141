#include "discovery/store.h"

#include "csp/core/time.h"
#include "csp/json/json.h"
#include "csp/sqlite/migrate.h"
#include "csp/sqlite/statement.h"
#include "csp/sqlite/transaction.h"

namespace csp::discovery {

namespace {

// Append-only: never edit a released step.
const std::vector<std::string> kMigrations = {
    // 1: entries keyed by registryID, ordered by seq; bindings in creation (rowid) order.
    "CREATE TABLE entries ("
    "  registry_id TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL UNIQUE,"
    "  body TEXT NOT NULL);"
    "CREATE TABLE bindings ("
    "  binding_id TEXT PRIMARY KEY,"
    "  source_id TEXT NOT NULL,"
    "  target_id TEXT NOT NULL,"
    "  created_at TEXT NOT NULL);"
    "CREATE INDEX bindings_source ON bindings(source_id);"
    "CREATE INDEX bindings_target ON bindings(target_id);",
};

Status BindAll(sqlite::Statement& /*st*/, int /*index*/) { return Ok(); }

template <typename T, typename... Rest>
Status BindAll(sqlite::Statement& st, int index, const T& first, const Rest&... rest) {
  if (Status s = st.Bind(index, first); !s) return s;
  return BindAll(st, index + 1, rest...);
}

// Runs a cached statement with positional bindings.
template <typename... Args>
Status RunCached(sqlite::Database& db, std::string_view sql, const Args&... args) {
  auto st = db.Cached(sql);
  if (!st) return st.error();
  if (Status s = BindAll(**st, 1, args...); !s) return s;
  return (*st)->Run();
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  auto db = sqlite::Database::Open(path, sqlite::ExclusiveOptions());
  if (!db) return db.error();
  if (Status s = sqlite::Migrate(*db, kMigrations); !s) return s.error();
  return std::unique_ptr<Store>(new Store(std::move(*db)));
}

Status Store::PutEntry(const Entry& entry) {
  return RunCached(db_, "INSERT OR REPLACE INTO entries(registry_id, seq, body) VALUES (?, ?, ?)", entry.registry_id,
                   static_cast<int64_t>(entry.seq), json::Dump(EntryToStored(entry)));
}

Status Store::DeleteEntry(const std::string& registry_id) {
  auto tx = sqlite::Transaction::Begin(db_);
  if (!tx) return tx.error();
  if (Status s = RunCached(db_, "DELETE FROM bindings WHERE source_id = ? OR target_id = ?", registry_id, registry_id);
      !s) {
    return s;
  }
  if (Status s = RunCached(db_, "DELETE FROM entries WHERE registry_id = ?", registry_id); !s) return s;
  return tx->Commit();
}

Status Store::PutBinding(const Binding& binding) {
  return RunCached(db_, "INSERT INTO bindings(binding_id, source_id, target_id, created_at) VALUES (?, ?, ?, ?)",
                   binding.binding_id, binding.source_registry_id, binding.target_registry_id,
                   FormatIso8601(binding.created_at));
}

Status Store::DeleteBinding(const std::string& binding_id) {
  return RunCached(db_, "DELETE FROM bindings WHERE binding_id = ?", binding_id);
}

Result<Store::Snapshot> Store::Load() {
  Snapshot out;
  auto entries = db_.Prepare("SELECT registry_id, body FROM entries ORDER BY seq");
  if (!entries) return entries.error();
  for (;;) {
    auto row = entries->Step();
    if (!row) return row.error();
    if (!*row) break;
    std::string id = entries->ColumnText(0);
    auto body = json::Parse(entries->ColumnText(1));
    if (!body) {
      out.skipped.push_back(id + ": " + body.error().message);
      continue;
    }
    auto entry = EntryFromStored(*body);
    if (!entry) {
      out.skipped.push_back(id + ": " + entry.error().message);
      continue;
    }
    out.entries.push_back(std::move(*entry));
  }
  auto bindings = db_.Prepare("SELECT binding_id, source_id, target_id, created_at FROM bindings ORDER BY rowid");
  if (!bindings) return bindings.error();
  for (;;) {
    auto row = bindings->Step();
    if (!row) return row.error();
    if (!*row) break;
    Binding b;
    b.binding_id = bindings->ColumnText(0);
    b.source_registry_id = bindings->ColumnText(1);
    b.target_registry_id = bindings->ColumnText(2);
    auto created = ParseIso8601(bindings->ColumnText(3));
    if (!created) {
      out.skipped.push_back(b.binding_id + ": createdAt: " + created.error().message);
      continue;
    }
    b.created_at = *created;
    out.bindings.push_back(std::move(b));
  }
  return out;
}

Status Store::Ping() {
  auto st = db_.Cached("SELECT 1");
  if (!st) return st.error();
  auto row = (*st)->Step();
  (*st)->Reset();
  if (!row) return row.error();
  return Ok();
}

}  // namespace csp::discovery
