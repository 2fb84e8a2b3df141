#include "store.h"

#include "csp/json/json.h"
#include "csp/sqlite/migrate.h"
#include "csp/sqlite/transaction.h"

namespace csp::engine {
namespace {

// Never edit a released step; append new ones.
const std::vector<std::string> kMigrations = {
    R"sql(
      CREATE TABLE records (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT NOT NULL UNIQUE,
        body       TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
      );
      CREATE TABLE requests (
        request_id  TEXT PRIMARY KEY,
        command     TEXT NOT NULL,
        record_id   TEXT NOT NULL,
        status      INTEGER NOT NULL,
        reply       TEXT,
        replayable  INTEGER NOT NULL,
        undo        TEXT NOT NULL,
        before_body TEXT,
        before_seq  INTEGER,
        reverted_ms INTEGER,
        created_ms  INTEGER NOT NULL
      );
      CREATE INDEX requests_by_created ON requests(created_ms);
    )sql",
    // Requests keyed by request_id in the table itself (no rowid and no separate key index):
    // logging a request writes one b-tree page fewer.
    R"sql(
      CREATE TABLE requests_by_id (
        request_id  TEXT PRIMARY KEY,
        command     TEXT NOT NULL,
        record_id   TEXT NOT NULL,
        status      INTEGER NOT NULL,
        reply       TEXT,
        replayable  INTEGER NOT NULL,
        undo        TEXT NOT NULL,
        before_body TEXT,
        before_seq  INTEGER,
        reverted_ms INTEGER,
        created_ms  INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO requests_by_id SELECT request_id, command, record_id, status, reply, replayable, undo,
                                        before_body, before_seq, reverted_ms, created_ms FROM requests;
      DROP TABLE requests;
      ALTER TABLE requests_by_id RENAME TO requests;
      CREATE INDEX requests_by_created ON requests(created_ms);
    )sql",
};

// Binds args to parameters 1..N, stopping at the first failure.
Status BindOne(sqlite::Statement& st, int index, const std::optional<std::string>& v) {
  return v ? st.Bind(index, *v) : st.Bind(index, nullptr);
}
Status BindOne(sqlite::Statement& st, int index, const std::optional<int64_t>& v) {
  return v ? st.Bind(index, *v) : st.Bind(index, nullptr);
}
template <typename T>
Status BindOne(sqlite::Statement& st, int index, const T& v) {
  return st.Bind(index, v);
}
template <typename... Args>
Status BindAll(sqlite::Statement& st, const Args&... args) {
  int index = 0;
  Status result;
  ((result = result ? BindOne(st, ++index, args) : result), ...);
  return result;
}

Undo UndoFromName(std::string_view name) {
  if (name == "delete") return Undo::kDelete;
  if (name == "restore") return Undo::kRestore;
  if (name == "tombstone") return Undo::kTombstone;
  return Undo::kNone;
}

// A stored body that no longer parses means the file was damaged outside the engine.
Result<json::Value> ParseStored(const std::string& text, std::string_view what) {
  Result<json::Value> v = json::Parse(text);
  if (!v) return Internal("corrupt " + std::string(what) + " in the engine store: " + v.error().message);
  return v;
}

Result<Record> ReadRecord(sqlite::Statement& st) {
  Record r;
  r.seq = st.ColumnInt(0);
  r.id = st.ColumnText(1);
  Result<json::Value> body = ParseStored(st.ColumnText(2), "record");
  if (!body) return body.error();
  r.body = std::move(*body);
  return r;
}

}  // namespace

const std::vector<std::string>& StoreMigrations() { return kMigrations; }

std::string_view UndoName(Undo undo) {
  switch (undo) {
    case Undo::kDelete:
      return "delete";
    case Undo::kRestore:
      return "restore";
    case Undo::kTombstone:
      return "tombstone";
    case Undo::kNone:
      break;
  }
  return "none";
}

Result<Store> Store::Open(const std::string& path) {
  Result<sqlite::Database> db = sqlite::Database::Open(path, sqlite::ExclusiveOptions());
  if (!db) return db.error();
  if (Status migrated = sqlite::Migrate(*db, StoreMigrations()); !migrated) return migrated.error();
  return Store(std::move(*db));
}

Result<std::optional<Record>> Store::Get(const std::string& id) {
  Result<sqlite::Statement*> st = db_.Cached("SELECT seq, id, body FROM records WHERE id = ?");
  if (!st) return st.error();
  if (Status b = BindAll(**st, id); !b) return b.error();
  Result<bool> row = (*st)->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<Record>();
  Result<Record> record = ReadRecord(**st);
  (*st)->Reset();
  if (!record) return record.error();
  return std::optional<Record>(std::move(*record));
}

Result<std::vector<Record>> Store::Scan(int64_t after_seq, size_t max) {
  Result<sqlite::Statement*> st = db_.Cached("SELECT seq, id, body FROM records WHERE seq > ? ORDER BY seq LIMIT ?");
  if (!st) return st.error();
  if (Status b = BindAll(**st, after_seq, static_cast<int64_t>(max)); !b) return b.error();
  std::vector<Record> out;
  for (;;) {
    Result<bool> row = (*st)->Step();
    if (!row) return row.error();
    if (!*row) break;
    Result<Record> record = ReadRecord(**st);
    if (!record) return record.error();
    out.push_back(std::move(*record));
  }
  (*st)->Reset();
  return out;
}

Result<int64_t> Store::Count() {
  Result<sqlite::Statement*> st = db_.Cached("SELECT count(*) FROM records");
  if (!st) return st.error();
  Result<bool> row = (*st)->Step();
  if (!row) return row.error();
  const int64_t n = *row ? (*st)->ColumnInt(0) : 0;
  (*st)->Reset();
  return n;
}

Result<std::optional<RequestEntry>> Store::FindRequest(const std::string& request_id) {
  Result<sqlite::Statement*> st = db_.Cached(
      "SELECT request_id, command, record_id, status, reply, replayable, undo, before_body, before_seq,"
      " reverted_ms, created_ms FROM requests WHERE request_id = ?");
  if (!st) return st.error();
  sqlite::Statement& s = **st;
  if (Status b = BindAll(s, request_id); !b) return b.error();
  Result<bool> row = s.Step();
  if (!row) return row.error();
  if (!*row) return std::optional<RequestEntry>();
  RequestEntry e;
  e.request_id = s.ColumnText(0);
  e.command = s.ColumnText(1);
  e.record_id = s.ColumnText(2);
  e.status = static_cast<int>(s.ColumnInt(3));
  if (!s.ColumnIsNull(4)) {
    Result<json::Value> reply = ParseStored(s.ColumnText(4), "reply");
    if (!reply) return reply.error();
    e.reply = std::move(*reply);
  }
  e.replayable = s.ColumnInt(5) != 0;
  e.undo = UndoFromName(s.ColumnText(6));
  if (!s.ColumnIsNull(7)) {
    Result<json::Value> before = ParseStored(s.ColumnText(7), "undo record");
    if (!before) return before.error();
    e.before = Record{s.ColumnInt(8), e.record_id, std::move(*before)};
  }
  if (!s.ColumnIsNull(9)) e.reverted_ms = s.ColumnInt(9);
  e.created_ms = s.ColumnInt(10);
  s.Reset();
  return std::optional<RequestEntry>(std::move(e));
}

Status Store::Commit(const Change& change, int64_t now_ms) {
  Result<sqlite::Transaction> tx = sqlite::Transaction::Begin(db_);
  if (!tx) return tx.error();
  if (change.erase) {
    if (Status s = Erase(*change.erase); !s) return s;
  }
  if (change.put) {
    if (Status s = Put(*change.put, now_ms); !s) return s;
  }
  if (change.request) {
    if (Status s = Log(*change.request, now_ms); !s) return s;
  }
  if (change.mark_reverted) {
    if (Status s = MarkReverted(*change.mark_reverted, now_ms); !s) return s;
  }
  return tx->Commit();
}

Status Store::Put(const Record& record, int64_t now_ms) {
  const std::string body = json::Dump(record.body);
  Result<sqlite::Statement*> update = db_.Cached("UPDATE records SET body = ?, updated_ms = ? WHERE id = ?");
  if (!update) return update.error();
  if (Status b = BindAll(**update, body, now_ms, record.id); !b) return b;
  if (Status s = (*update)->Run(); !s) return s;
  if (db_.Changes() > 0) return Ok();

  // A restored record takes its old position back; AUTOINCREMENT never hands that seq out again,
  // so it is still free.
  Result<sqlite::Statement*> insert =
      db_.Cached("INSERT INTO records (seq, id, body, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)");
  if (!insert) return insert.error();
  const std::optional<int64_t> seq = record.seq > 0 ? std::optional<int64_t>(record.seq) : std::nullopt;
  if (Status b = BindAll(**insert, seq, record.id, body, now_ms, now_ms); !b) return b;
  return (*insert)->Run();
}

Status Store::Erase(const std::string& id) {
  Result<sqlite::Statement*> st = db_.Cached("DELETE FROM records WHERE id = ?");
  if (!st) return st.error();
  if (Status b = BindAll(**st, id); !b) return b;
  return (*st)->Run();
}

Status Store::Log(const RequestEntry& e, int64_t now_ms) {
  Result<sqlite::Statement*> st = db_.Cached(
      "INSERT INTO requests (request_id, command, record_id, status, reply, replayable, undo, before_body,"
      " before_seq, reverted_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  sqlite::Statement& s = **st;
  const std::optional<std::string> reply = e.reply ? std::optional<std::string>(json::Dump(*e.reply)) : std::nullopt;
  const std::optional<std::string> before_body =
      e.before ? std::optional<std::string>(json::Dump(e.before->body)) : std::nullopt;
  const std::optional<int64_t> before_seq = e.before ? std::optional<int64_t>(e.before->seq) : std::nullopt;
  const int64_t created_ms = e.created_ms != 0 ? e.created_ms : now_ms;
  Status b = BindAll(s, e.request_id, e.command, e.record_id, int64_t{e.status}, reply, int64_t{e.replayable ? 1 : 0},
                     UndoName(e.undo), before_body, before_seq, e.reverted_ms, created_ms);
  if (!b) return b;
  return s.Run();
}

Status Store::MarkReverted(const std::string& request_id, int64_t now_ms) {
  Result<sqlite::Statement*> st = db_.Cached("UPDATE requests SET reverted_ms = ? WHERE request_id = ?");
  if (!st) return st.error();
  if (Status b = BindAll(**st, now_ms, request_id); !b) return b;
  return (*st)->Run();
}

Result<int64_t> Store::PruneRequests(int64_t before_ms) {
  Result<sqlite::Statement*> st = db_.Cached("DELETE FROM requests WHERE created_ms < ?");
  if (!st) return st.error();
  if (Status b = BindAll(**st, before_ms); !b) return b.error();
  if (Status s = (*st)->Run(); !s) return s.error();
  return static_cast<int64_t>(db_.Changes());
}

Status Store::Ping() {
  Result<sqlite::Statement*> st = db_.Cached("SELECT 1");
  if (!st) return st.error();
  Result<bool> row = (*st)->Step();
  (*st)->Reset();
  if (!row) return row.error();
  return Ok();
}

}  // namespace csp::engine
