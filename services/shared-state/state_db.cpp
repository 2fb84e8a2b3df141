#include "shared-state/state_db.h"

#include "csp/sqlite/migrate.h"
#include "csp/sqlite/statement.h"

namespace csp::shared_state {

namespace {

// Append-only: never edit a released step.
const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> kSteps = {
      "CREATE TABLE documents ("
      "  id TEXT PRIMARY KEY,"
      "  content TEXT NOT NULL,"
      "  created_at TEXT NOT NULL,"
      "  last_modified TEXT NOT NULL,"
      "  version INTEGER NOT NULL);"
      "CREATE TABLE history ("
      "  id TEXT NOT NULL,"
      "  version INTEGER NOT NULL,"
      "  content TEXT NOT NULL,"
      "  last_modified TEXT NOT NULL,"
      "  PRIMARY KEY (id, version)) WITHOUT ROWID;",
  };
  return kSteps;
}

// Binds values to parameters 1..n in order, stopping at the first failure.
template <typename... Args>
Status BindAll(sqlite::Statement& st, const Args&... args) {
  Status status;
  int index = 1;
  ((status.ok() ? (status = st.Bind(index++, args), 0) : 0), ...);
  return status;
}

}  // namespace

Result<StateDb> StateDb::Open(const std::string& path) {
  Result<sqlite::Database> db = sqlite::Database::Open(path, sqlite::ExclusiveOptions());
  if (!db) return db.error();
  if (Status s = sqlite::Migrate(*db, Migrations()); !s) return s.error();
  return StateDb(std::move(*db));
}

Result<sqlite::Transaction> StateDb::Begin() { return sqlite::Transaction::Begin(db_); }

Result<std::optional<DocumentRow>> StateDb::Find(const std::string& id) {
  auto st = db_.Cached("SELECT content, created_at, last_modified, version FROM documents WHERE id = ?");
  if (!st) return st.error();
  if (Status s = (*st)->Bind(1, id); !s) return s.error();
  Result<bool> row = (*st)->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<DocumentRow>();
  DocumentRow out{id, (*st)->ColumnText(0), (*st)->ColumnText(1), (*st)->ColumnText(2), (*st)->ColumnInt(3)};
  (*st)->Reset();
  return std::optional<DocumentRow>(std::move(out));
}

Result<std::vector<DocumentMeta>> StateDb::List() {
  auto st = db_.Cached(
      "SELECT id, created_at, last_modified, version, length(CAST(content AS BLOB)) FROM documents "
      "ORDER BY rowid");
  if (!st) return st.error();
  std::vector<DocumentMeta> out;
  for (;;) {
    Result<bool> row = (*st)->Step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(DocumentMeta{(*st)->ColumnText(0), (*st)->ColumnText(1), (*st)->ColumnText(2), (*st)->ColumnInt(3),
                               static_cast<size_t>((*st)->ColumnInt(4))});
  }
  (*st)->Reset();
  return out;
}

Result<int64_t> StateDb::Count() {
  auto st = db_.Cached("SELECT COUNT(*) FROM documents");
  if (!st) return st.error();
  Result<bool> row = (*st)->Step();
  if (!row) return row.error();
  int64_t n = *row ? (*st)->ColumnInt(0) : 0;
  (*st)->Reset();
  return n;
}

Status StateDb::Insert(const DocumentRow& row) {
  auto st =
      db_.Cached("INSERT INTO documents (id, content, created_at, last_modified, version) VALUES (?, ?, ?, ?, ?)");
  if (!st) return st.error();
  if (Status s = BindAll(**st, row.id, row.content, row.created_at, row.last_modified, row.version); !s) return s;
  return (*st)->Run();
}

Status StateDb::Update(const DocumentRow& row) {
  auto st = db_.Cached("UPDATE documents SET content = ?, last_modified = ?, version = ? WHERE id = ?");
  if (!st) return st.error();
  if (Status s = BindAll(**st, row.content, row.last_modified, row.version, row.id); !s) return s;
  return (*st)->Run();
}

Result<bool> StateDb::Remove(const std::string& id) {
  auto doc = db_.Cached("DELETE FROM documents WHERE id = ?");
  if (!doc) return doc.error();
  if (Status s = (*doc)->Bind(1, id); !s) return s.error();
  if (Status s = (*doc)->Run(); !s) return s.error();
  bool existed = db_.Changes() > 0;
  auto hist = db_.Cached("DELETE FROM history WHERE id = ?");
  if (!hist) return hist.error();
  if (Status s = (*hist)->Bind(1, id); !s) return s.error();
  if (Status s = (*hist)->Run(); !s) return s.error();
  return existed;
}

Status StateDb::AppendHistory(const DocumentRow& row, int keep) {
  auto add = db_.Cached("INSERT OR REPLACE INTO history (id, version, content, last_modified) VALUES (?, ?, ?, ?)");
  if (!add) return add.error();
  if (Status s = BindAll(**add, row.id, row.version, row.content, row.last_modified); !s) return s;
  if (Status s = (*add)->Run(); !s) return s;
  auto prune = db_.Cached("DELETE FROM history WHERE id = ? AND version <= ?");
  if (!prune) return prune.error();
  if (Status s = BindAll(**prune, row.id, row.version - keep); !s) return s;
  return (*prune)->Run();
}

Result<std::vector<Revision>> StateDb::History(const std::string& id) {
  auto st = db_.Cached(
      "SELECT version, last_modified, length(CAST(content AS BLOB)) FROM history WHERE id = ? "
      "ORDER BY version DESC");
  if (!st) return st.error();
  if (Status s = (*st)->Bind(1, id); !s) return s.error();
  std::vector<Revision> out;
  for (;;) {
    Result<bool> row = (*st)->Step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(Revision{(*st)->ColumnInt(0), (*st)->ColumnText(1), static_cast<size_t>((*st)->ColumnInt(2))});
  }
  (*st)->Reset();
  return out;
}

Result<std::optional<std::string>> StateDb::RevisionContent(const std::string& id, int64_t version) {
  auto st = db_.Cached("SELECT content FROM history WHERE id = ? AND version = ?");
  if (!st) return st.error();
  if (Status s = BindAll(**st, id, version); !s) return s.error();
  Result<bool> row = (*st)->Step();
  if (!row) return row.error();
  std::optional<std::string> out;
  if (*row) out = (*st)->ColumnText(0);
  (*st)->Reset();
  return out;
}

Status StateDb::Check() {
  auto st = db_.Cached("SELECT 1");
  if (!st) return st.error();
  Result<bool> row = (*st)->Step();
  (*st)->Reset();
  if (!row) return row.error();
  return Ok();
}

}  // namespace csp::shared_state
