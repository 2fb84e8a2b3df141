#include "csp/sqlite/database.h"

#include <sqlite3.h>

#include <climits>
#include <filesystem>
#include <system_error>
#include <utility>

namespace csp::sqlite {

namespace {

bool IsAlreadyExists(int rc) {
  return rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE ||
         rc == SQLITE_CONSTRAINT_ROWID;
}

// The store itself is in trouble (contention, disk, file): callers report 503, not 500.
bool IsUnavailable(int rc) {
  switch (rc & 0xff) {  // the primary code of an extended code
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return true;
    default:
      return false;
  }
}

// Only whitespace and empty statements may follow the one statement Prepare() accepts.
bool IsBlankTail(std::string_view tail) {
  for (char c : tail) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ';') return false;
  }
  return true;
}

Status CreateParentDirectory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return Ok();
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) return Unavailable("cannot create directory " + parent.string() + ": " + ec.message());
  return Ok();
}

}  // namespace

Error ErrorFromSqlite(int rc, std::string_view context, std::string_view sqlite_message) {
  ErrorCode code = ErrorCode::kInternal;
  if (IsAlreadyExists(rc)) code = ErrorCode::kAlreadyExists;
  else if (IsUnavailable(rc)) code = ErrorCode::kUnavailable;
  std::string message(context);
  message += ": ";
  message += sqlite_message.empty() ? std::string_view(sqlite3_errstr(rc)) : sqlite_message;
  return Error(code, std::move(message));
}

Result<Database> Database::Open(const std::string& path, const OpenOptions& options) {
  if (path.empty()) return InvalidArgument("database path is empty");
  const bool memory = path == kInMemory;
  if (!memory) {
    Status dir = CreateParentDirectory(path);
    if (!dir) return dir.error();
  }
  sqlite3* raw = nullptr;
  // NOMUTEX: one connection per thread is the rule (database.h), so SQLite's per-connection
  // mutex would only cost time.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // Own the handle before checking rc: SQLite allocates one even when open fails.
  Database db(raw, path);
  if (rc != SQLITE_OK) {
    return ErrorFromSqlite(rc, "open " + path, raw != nullptr ? sqlite3_errmsg(raw) : "");
  }
  Status configured = db.Configure(options);
  if (!configured) return configured.error().WithPrefix("open " + path);
  return db;
}

Status Database::Configure(const OpenOptions& options) {
  // Extended codes tell a UNIQUE clash (409) from other constraint failures.
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  if (!in_memory() && options.exclusive) {
    Status exclusive = Exec("PRAGMA locking_mode=EXCLUSIVE");
    if (!exclusive) return exclusive;
  }
  if (!in_memory()) {
    Status wal = EnableWal();
    if (!wal) return wal;
  }
  if (!in_memory() && options.exclusive) {
    // Take the lock now, so a second process fails at start-up rather than at its first write.
    Status locked = Exec("BEGIN IMMEDIATE; COMMIT;");
    if (!locked) return locked;
  }
  return Exec(options.synchronous_full ? "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                                       : "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
}

Status Database::EnableWal() {
  // journal_mode answers with the mode it ended in: a filesystem without shared-memory support
  // stays in "delete", which costs 4x per commit (stack.md §7), so check rather than assume.
  Result<Statement> wal = Prepare("PRAGMA journal_mode=WAL");
  if (!wal) return wal.error();
  Result<bool> row = wal->Step();
  if (!row) return row.error();
  const std::string mode = *row ? wal->ColumnText(0) : std::string();
  if (mode != "wal") return Unavailable("cannot enable WAL (journal_mode is '" + mode + "')");
  return Ok();
}

Database::~Database() { Close(); }

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      cache_(std::move(other.cache_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    Close();
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

void Database::Close() {
  cache_.clear();  // statements first: they belong to db_
  // close_v2 defers the close until any Statement still alive elsewhere is finalized.
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

Error Database::LastError(int rc, std::string_view context) const {
  return ErrorFromSqlite(rc, context, sqlite3_errmsg(db_));
}

Status Database::Exec(std::string_view sql) {
  const std::string text(sql);  // sqlite3_exec wants a NUL-terminated string
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Ok();
  Error error = ErrorFromSqlite(rc, "exec", message != nullptr ? message : "");
  sqlite3_free(message);
  return error;
}

Result<Statement> Database::Prepare(std::string_view sql) {
  if (sql.size() > static_cast<size_t>(INT_MAX)) return InvalidArgument("SQL text too long");
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, &tail);
  if (rc != SQLITE_OK) return LastError(rc, "prepare");
  if (stmt == nullptr) return InvalidArgument("prepare: no SQL statement in '" + std::string(sql) + "'");
  Statement statement(stmt);
  const size_t used = static_cast<size_t>(tail - sql.data());
  if (!IsBlankTail(sql.substr(used))) {
    return InvalidArgument("prepare: more than one SQL statement (use Exec): '" + std::string(sql) + "'");
  }
  return statement;
}

Result<Statement*> Database::Cached(std::string_view sql) {
  const std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  Result<Statement> prepared = Prepare(sql);
  if (!prepared) return prepared.error();
  auto owned = std::make_unique<Statement>(std::move(*prepared));
  Statement* statement = owned.get();
  cache_.emplace(key, std::move(owned));
  return statement;
}

Status Database::ExecCached(std::string_view sql) {
  Result<Statement*> st = Cached(sql);
  if (!st) return st.error();
  return (*st)->Run();
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

int Database::Changes() const { return sqlite3_changes(db_); }

bool Database::InAutocommit() const { return sqlite3_get_autocommit(db_) != 0; }

}  // namespace csp::sqlite
