#include "csp/sqlite/transaction.h"

#include <utility>

#include "csp/sqlite/database.h"

namespace csp::sqlite {

// BEGIN, COMMIT and ROLLBACK run from the connection's statement cache: parsing them anew for
// every transaction (sqlite3_exec) cost about 5 % of a write-heavy service's CPU.
Result<Transaction> Transaction::Begin(Database& db) {
  Status begun = db.ExecCached("BEGIN IMMEDIATE");
  if (!begun) return begun.error();
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)Rollback();
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Status Transaction::Commit() {
  Status committed = db_->ExecCached("COMMIT");
  // A failed COMMIT may leave the transaction open (SQLITE_BUSY); the destructor then rolls it
  // back, so "not committed" always means "nothing kept".
  if (committed) db_ = nullptr;
  return committed;
}

Status Transaction::Rollback() {
  Database* db = std::exchange(db_, nullptr);
  // SQLite may already have rolled back by itself (an I/O error, a failed COMMIT); a second
  // ROLLBACK would only fail with "no transaction is active".
  if (db->InAutocommit()) return Ok();
  return db->ExecCached("ROLLBACK");
}

}  // namespace csp::sqlite
