#pragma once
// RAII SQLite connection (see notes/stack.md §7 for the measured settings).
//
// Threading rule: ONE CONNECTION PER THREAD. A Database is opened with SQLITE_OPEN_NOMUTEX, so
// neither it nor any Statement prepared from it may be used by two threads at once. A component
// that needs the store from several threads opens one Database per thread (WAL lets readers run
// beside the single writer) or hands all work to one owning thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "csp/core/result.h"
#include "csp/sqlite/statement.h"

struct sqlite3;

namespace csp::sqlite {

struct OpenOptions {
  // false: PRAGMA synchronous=NORMAL — a commit survives a process crash (SIGKILL) but may be lost
  // on power failure; ~70k commits/s. true: FULL — survives power loss too; ~3k commits/s.
  bool synchronous_full = false;
  // How long a statement waits for another connection's lock before failing with kUnavailable.
  int busy_timeout_ms = 5000;
  // PRAGMA locking_mode=EXCLUSIVE, set before WAL starts: this connection holds the file lock for
  // its whole life and keeps the WAL index in its own memory instead of a shared -shm file, which
  // saves the lock and unlock system calls of every transaction. For a database that one process
  // owns (each service's own file). A second process opening the same file then fails with
  // kUnavailable "database is locked" after busy_timeout_ms, instead of writing beside it.
  bool exclusive = false;
};

// The options for a service's own database file: defaults plus exclusive.
inline OpenOptions ExclusiveOptions() {
  OpenOptions o;
  o.exclusive = true;
  return o;
}

// The in-memory path: each Open(":memory:") is a fresh, private, empty database.
inline constexpr std::string_view kInMemory = ":memory:";

// Maps an SQLite result code (extended codes welcome) to a csp::Error whose message is
// "<context>: <sqlite message>":
//   SQLITE_CONSTRAINT_PRIMARYKEY / _UNIQUE / _ROWID        -> kAlreadyExists
//   SQLITE_BUSY / LOCKED / FULL / IOERR / CORRUPT / NOTADB /
//   CANTOPEN / READONLY                                     -> kUnavailable
//   anything else (other constraints included)              -> kInternal
Error ErrorFromSqlite(int rc, std::string_view context, std::string_view sqlite_message);

class Database {
 public:
  // Opens (creating if missing) the database at path, creating its parent directory too.
  // path == ":memory:" opens a private in-memory database. A file database is switched to WAL;
  // every connection gets synchronous (per options), busy_timeout and foreign_keys=ON.
  // Errors: kUnavailable when the directory or file cannot be created or opened, or WAL cannot
  // be enabled.
  static Result<Database> Open(const std::string& path, const OpenOptions& options = {});

  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more ';'-separated statements, discarding any rows (schema, pragmas, BEGIN...).
  Status Exec(std::string_view sql);

  // Runs one statement without parameters from the statement cache (see Cached): for the
  // statements a hot path repeats, such as BEGIN, COMMIT and SAVEPOINT, which Exec would parse
  // again every time.
  Status ExecCached(std::string_view sql);
  // Prepares exactly one statement; trailing whitespace and ';' are allowed, a second statement
  // is an error (use Exec). Errors: kInternal with SQLite's message for bad SQL.
  Result<Statement> Prepare(std::string_view sql);

  // The statement cache for hot paths: prepares sql on first use and keeps it for the life of
  // the connection; every fetch returns it reset with its bindings cleared. The pointer stays
  // valid until the Database is destroyed (moving the Database keeps it valid), but the next
  // Cached() call with the same sql resets it again — don't interleave two uses of one sql.
  Result<Statement*> Cached(std::string_view sql);
  size_t CachedCount() const { return cache_.size(); }

  // The rowid of the last successful INSERT on this connection, and the rows changed by the
  // last INSERT/UPDATE/DELETE.
  int64_t LastInsertRowId() const;
  int Changes() const;

  // True when no transaction is open (SQLite's autocommit mode).
  bool InAutocommit() const;

  const std::string& path() const { return path_; }
  bool in_memory() const { return path_ == kInMemory; }
  sqlite3* handle() const { return db_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status Configure(const OpenOptions& options);
  Status EnableWal();
  Error LastError(int rc, std::string_view context) const;
  void Close();

  sqlite3* db_ = nullptr;
  std::string path_;
  // unique_ptr so that the Statement* handed out by Cached() survives rehashing and moves.
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace csp::sqlite
