#pragma once
// RAII write transaction: BEGIN IMMEDIATE on Begin, ROLLBACK on destruction unless committed.
//
//   auto tx = Transaction::Begin(db);
//   if (!tx) return tx.error();
//   ... writes; on error just return — the destructor rolls back ...
//   return tx->Commit();
//
// IMMEDIATE takes the write lock up front, so a transaction never fails half-way with
// SQLITE_BUSY on its first write; waiting for the lock is bounded by the busy timeout.
// Transactions do not nest. The Database must outlive the Transaction and must not be moved
// while one is open.

#include "csp/core/result.h"

namespace csp::sqlite {

class Database;

class Transaction {
 public:
  // Errors: kUnavailable when the write lock is not obtained within the busy timeout; kInternal
  // when a transaction is already open on db.
  static Result<Transaction> Begin(Database& db);

  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Commits. On error the transaction is rolled back (now or by the destructor) and nothing of
  // it is kept. Calling Commit or Rollback twice is a bug.
  Status Commit();
  // Rolls back now instead of at destruction.
  Status Rollback();

 private:
  explicit Transaction(Database* db) : db_(db) {}

  Database* db_;  // nullptr once committed, rolled back or moved from
};

}  // namespace csp::sqlite
