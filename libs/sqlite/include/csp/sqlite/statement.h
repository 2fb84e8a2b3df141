#pragma once
// A prepared SQLite statement: move-only owner of one sqlite3_stmt*.
//
//   auto st = db.Prepare("SELECT name FROM kv WHERE id = ?");
//   if (!st) return st.error();
//   st->Bind(1, id);
//   for (auto row = st->Step(); ; row = st->Step()) {
//     if (!row) return row.error();
//     if (!*row) break;
//     names.push_back(st->ColumnText(0));
//   }
//
// Like its Database, a Statement belongs to one thread at a time. Parameter and column indexes
// follow SQLite: parameters count from 1, columns from 0. Column getters read the current row and
// are valid only after Step() returned true.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "csp/core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace csp::sqlite {

// Bytes to bind as a BLOB (Bind(i, std::string_view) binds TEXT).
struct Blob {
  std::string_view bytes;
};

class Statement {
 public:
  // Takes ownership of stmt (non-null).
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binding copies the value (SQLITE_TRANSIENT), so temporaries are fine. Errors: kInternal for an
  // index out of range or a statement that is mid-step (call Reset() first).
  Status Bind(int index, int64_t value);
  Status Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Status Bind(int index, double value);
  Status Bind(int index, std::string_view text);
  Status Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Status Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Status Bind(int index, std::nullptr_t);
  Status Bind(int index, Blob blob);

  // The index of a named parameter (":id", "@id", "$id" — include the prefix).
  // Errors: kInternal when the statement has no such parameter.
  Result<int> ParameterIndex(std::string_view name) const;
  template <typename T>
  Status BindNamed(std::string_view name, T&& value) {
    Result<int> index = ParameterIndex(name);
    if (!index) return index.error();
    return Bind(*index, std::forward<T>(value));
  }

  // Runs one step: true = a row is available through the Column getters, false = done.
  // Errors: see ErrorFromSqlite (database.h) — kAlreadyExists for a PRIMARY KEY/UNIQUE clash,
  // kUnavailable for busy/locked/full/I/O, kInternal otherwise.
  Result<bool> Step();
  // Steps to completion, ignoring any rows (for INSERT/UPDATE/DELETE), then resets.
  Status Run();

  // Makes the statement ready to run again and clears every binding. A statement that was not
  // stepped to completion keeps a read snapshot open until it is reset, so reset (or destroy)
  // a statement as soon as you are done reading from it.
  void Reset();

  int ColumnCount() const;
  bool ColumnIsNull(int i) const;
  int64_t ColumnInt(int i) const;    // NULL reads as 0
  double ColumnDouble(int i) const;  // NULL reads as 0.0
  std::string ColumnText(int i) const;  // NULL reads as ""
  std::string ColumnBlob(int i) const;  // raw bytes; NULL reads as ""

  // The SQL text this statement was prepared from.
  std::string Sql() const;
  sqlite3_stmt* handle() const { return stmt_; }

 private:
  Status CheckBind(int rc) const;

  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace csp::sqlite
