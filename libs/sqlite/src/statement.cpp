#include "csp/sqlite/statement.h"

#include <sqlite3.h>

#include <utility>

#include "csp/sqlite/database.h"

namespace csp::sqlite {

namespace {

Error StatementError(sqlite3_stmt* stmt, int rc, std::string_view context) {
  return ErrorFromSqlite(rc, context, sqlite3_errmsg(sqlite3_db_handle(stmt)));
}

}  // namespace

Statement::~Statement() { sqlite3_finalize(stmt_); }  // a no-op on nullptr

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Status Statement::CheckBind(int rc) const {
  if (rc == SQLITE_OK) return Ok();
  return StatementError(stmt_, rc, "bind");
}

Status Statement::Bind(int index, int64_t value) {
  return CheckBind(sqlite3_bind_int64(stmt_, index, value));
}

Status Statement::Bind(int index, double value) {
  return CheckBind(sqlite3_bind_double(stmt_, index, value));
}

Status Statement::Bind(int index, std::string_view text) {
  // SQLITE_TRANSIENT makes SQLite copy, so callers may bind temporaries.
  return CheckBind(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                       SQLITE_UTF8));
}

Status Statement::Bind(int index, std::nullptr_t) { return CheckBind(sqlite3_bind_null(stmt_, index)); }

Status Statement::Bind(int index, Blob blob) {
  return CheckBind(
      sqlite3_bind_blob64(stmt_, index, blob.bytes.data(), blob.bytes.size(), SQLITE_TRANSIENT));
}

Result<int> Statement::ParameterIndex(std::string_view name) const {
  const std::string key(name);
  const int index = sqlite3_bind_parameter_index(stmt_, key.c_str());
  if (index == 0) return Internal("no SQL parameter named '" + key + "'");
  return index;
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return StatementError(stmt_, rc, "step");
}

Status Statement::Run() {
  for (;;) {
    Result<bool> row = Step();
    if (!row) {
      Reset();
      return row.error();
    }
    if (!*row) break;
  }
  Reset();
  return Ok();
}

void Statement::Reset() {
  // sqlite3_reset repeats the error of a failed last step; that error was already returned by
  // Step(), and the statement is reset either way.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }

bool Statement::ColumnIsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

int64_t Statement::ColumnInt(int i) const { return sqlite3_column_int64(stmt_, i); }

double Statement::ColumnDouble(int i) const { return sqlite3_column_double(stmt_, i); }

std::string Statement::ColumnText(int i) const {
  // Fetch the pointer before the size, as SQLite documents, so no conversion invalidates it.
  const unsigned char* text = sqlite3_column_text(stmt_, i);
  if (text == nullptr) return {};
  const int size = sqlite3_column_bytes(stmt_, i);
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

std::string Statement::ColumnBlob(int i) const {
  const void* data = sqlite3_column_blob(stmt_, i);
  if (data == nullptr) return {};
  const int size = sqlite3_column_bytes(stmt_, i);
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::string Statement::Sql() const {
  const char* sql = sqlite3_sql(stmt_);
  return sql == nullptr ? std::string() : std::string(sql);
}

}  // namespace csp::sqlite
