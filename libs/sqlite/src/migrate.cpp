#include "csp/sqlite/migrate.h"

#include <string>

#include "csp/sqlite/database.h"
#include "csp/sqlite/transaction.h"

namespace csp::sqlite {

Result<int> SchemaVersion(Database& db) {
  Result<Statement> st = db.Prepare("PRAGMA user_version");
  if (!st) return st.error();
  Result<bool> row = st->Step();
  if (!row) return row.error();
  if (!*row) return Internal("PRAGMA user_version returned no row");
  return static_cast<int>(st->ColumnInt(0));
}

Status Migrate(Database& db, const std::vector<std::string>& steps) {
  const int latest = static_cast<int>(steps.size());
  bool applied_any = false;
  for (;;) {
    // The version is read inside the write transaction, so two processes starting together
    // cannot both apply the same step.
    Result<Transaction> tx = Transaction::Begin(db);
    if (!tx) return tx.error().WithPrefix("migrate");
    Result<int> version = SchemaVersion(db);
    if (!version) return version.error().WithPrefix("migrate");
    if (*version > latest || *version < 0) {
      return FailedPrecondition("database schema version " + std::to_string(*version) +
                                " is newer than this program's " + std::to_string(latest) +
                                "; run a newer version of the program");
    }
    if (*version == latest) {
      (void)tx->Rollback();  // ends the empty transaction
      // The steps' pages (table rebuilds, copies) would otherwise stay in the page cache for the
      // life of the connection.
      if (applied_any) (void)db.Exec("PRAGMA shrink_memory");
      return Ok();
    }
    const std::string step_name = "migration " + std::to_string(*version + 1);
    Status applied = db.Exec(steps[static_cast<size_t>(*version)]);
    if (!applied) return applied.error().WithPrefix(step_name);
    Status bumped = db.Exec("PRAGMA user_version = " + std::to_string(*version + 1));
    if (!bumped) return bumped.error().WithPrefix(step_name);
    Status committed = tx->Commit();
    if (!committed) return committed.error().WithPrefix(step_name);
    applied_any = true;
  }
}

}  // namespace csp::sqlite
