#include "csp/sqlite/transaction.h"

#include <sqlite3.h>

#include <utility>

#include "csp/sqlite/database.h"

namespace csp::sqlite {

namespace {

Status ExecRaw(sqlite3* db, const char* sql) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return Ok();
  return ErrorFromSqlite(rc, sql, sqlite3_errmsg(db));
}

}  // namespace

Result<Transaction> Transaction::Begin(Database& db) {
  Status begun = ExecRaw(db.handle(), "BEGIN IMMEDIATE");
  if (!begun) return begun.error();
  return Transaction(db.handle());
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)Rollback();
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Status Transaction::Commit() {
  Status committed = ExecRaw(db_, "COMMIT");
  // A failed COMMIT may leave the transaction open (SQLITE_BUSY); the destructor then rolls it
  // back, so "not committed" always means "nothing kept".
  if (committed) db_ = nullptr;
  return committed;
}

Status Transaction::Rollback() {
  sqlite3* db = std::exchange(db_, nullptr);
  // SQLite may already have rolled back by itself (an I/O error, a failed COMMIT); a second
  // ROLLBACK would only fail with "no transaction is active".
  if (sqlite3_get_autocommit(db) != 0) return Ok();
  return ExecRaw(db, "ROLLBACK");
}

}  // namespace csp::sqlite
