#include "csp/sqlite/transaction.h"

#include <utility>

#include "csp/sqlite/database.h"
#include "csp/sqlite/statement.h"

namespace csp::sqlite {

namespace {

// BEGIN, COMMIT and ROLLBACK run from the connection's statement cache: parsing them anew for
// every transaction (sqlite3_exec) cost about 5 % of a write-heavy service's CPU.
Status RunCached(Database& db, const char* sql) {
  Result<Statement*> st = db.Cached(sql);
  if (!st) return st.error();
  return (*st)->Run();
}

}  // namespace

Result<Transaction> Transaction::Begin(Database& db) {
  Status begun = RunCached(db, "BEGIN IMMEDIATE");
  if (!begun) return begun.error();
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)Rollback();
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Status Transaction::Commit() {
  Status committed = RunCached(*db_, "COMMIT");
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
  return RunCached(*db, "ROLLBACK");
}

}  // namespace csp::sqlite
