#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "csp/sqlite/database.h"
#include "csp/sqlite/migrate.h"
#include "csp/sqlite/statement.h"
#include "csp/sqlite/transaction.h"

namespace {

using csp::ErrorCode;
using csp::sqlite::Blob;
using csp::sqlite::Database;
using csp::sqlite::Migrate;
using csp::sqlite::OpenOptions;
using csp::sqlite::SchemaVersion;
using csp::sqlite::Statement;
using csp::sqlite::Transaction;

// A fresh directory under /tmp, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string templ = "/tmp/csp-sqlite-test-XXXXXX";
    const char* made = mkdtemp(templ.data());
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

Database OpenOrDie(const std::string& path, const OpenOptions& options = {}) {
  auto db = Database::Open(path, options);
  REQUIRE_MESSAGE(db.ok(), (db.ok() ? "" : db.error().message));
  return std::move(*db);
}

void ExecOrDie(Database& db, const std::string& sql) {
  csp::Status s = db.Exec(sql);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
}

// The single integer a query returns.
int64_t QueryInt(Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  REQUIRE(st.ok());
  auto row = st->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return st->ColumnInt(0);
}

std::string QueryText(Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  REQUIRE(st.ok());
  auto row = st->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return st->ColumnText(0);
}

const std::vector<std::string> kSteps = {
    "CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, payload TEXT);",
    "CREATE TABLE tags (kv_id INTEGER NOT NULL REFERENCES kv(id), tag TEXT);"
    "CREATE INDEX tags_by_kv ON tags(kv_id);",
};

}  // namespace

TEST_SUITE("sqlite") {
  TEST_CASE("in-memory database: write and read back every column type") {
    Database db = OpenOrDie(":memory:");
    CHECK(db.in_memory());
    ExecOrDie(db, "CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n TEXT)");
    auto insert = db.Prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)");
    REQUIRE(insert.ok());
    const std::string bytes("a\0b", 3);
    CHECK(insert->Bind(1, int64_t{1} << 40).ok());
    CHECK(insert->Bind(2, 2.5).ok());
    CHECK(insert->Bind(3, std::string("héllo")).ok());
    CHECK(insert->Bind(4, Blob{bytes}).ok());
    CHECK(insert->Bind(5, nullptr).ok());
    auto done = insert->Step();
    REQUIRE(done.ok());
    CHECK_FALSE(*done);
    CHECK(db.Changes() == 1);
    CHECK(db.LastInsertRowId() == 1);

    auto select = db.Prepare("SELECT i, d, s, b, n FROM t");
    REQUIRE(select.ok());
    CHECK(select->ColumnCount() == 5);
    auto row = select->Step();
    REQUIRE(row.ok());
    REQUIRE(*row);
    CHECK(select->ColumnInt(0) == (int64_t{1} << 40));
    CHECK(select->ColumnDouble(1) == 2.5);
    CHECK(select->ColumnText(2) == "héllo");
    CHECK(select->ColumnBlob(3) == bytes);
    CHECK(select->ColumnIsNull(4));
    CHECK_FALSE(select->ColumnIsNull(0));
    CHECK(select->ColumnText(4).empty());
    auto end = select->Step();
    REQUIRE(end.ok());
    CHECK_FALSE(*end);
  }

  TEST_CASE("each :memory: database is private") {
    Database a = OpenOrDie(":memory:");
    Database b = OpenOrDie(":memory:");
    ExecOrDie(a, "CREATE TABLE only_in_a (x)");
    CHECK(QueryInt(b, "SELECT count(*) FROM sqlite_master WHERE name = 'only_in_a'") == 0);
  }

  TEST_CASE("a file database creates its directory and runs in WAL with the chosen settings") {
    TempDir dir;
    const std::string path = dir.File("nested/deeper/store.db");
    {
      Database db = OpenOrDie(path);
      CHECK_FALSE(db.in_memory());
      CHECK(std::filesystem::exists(path));
      CHECK(QueryText(db, "PRAGMA journal_mode") == "wal");
      CHECK(QueryInt(db, "PRAGMA synchronous") == 1);  // NORMAL
      CHECK(QueryInt(db, "PRAGMA foreign_keys") == 1);
      ExecOrDie(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
      CHECK(std::filesystem::exists(path + "-wal"));
    }
    OpenOptions full;
    full.synchronous_full = true;
    Database again = OpenOrDie(path, full);
    CHECK(QueryText(again, "PRAGMA journal_mode") == "wal");
    CHECK(QueryInt(again, "PRAGMA synchronous") == 2);  // FULL
    CHECK(QueryInt(again, "SELECT count(*) FROM t") == 1);
  }

  TEST_CASE("an exclusive database keeps its data and shuts a second connection out") {
    TempDir dir;
    const std::string path = dir.File("owned.db");
    OpenOptions owned = csp::sqlite::ExclusiveOptions();
    owned.busy_timeout_ms = 50;
    {
      Database db = OpenOrDie(path, owned);
      CHECK(QueryText(db, "PRAGMA journal_mode") == "wal");
      CHECK(QueryText(db, "PRAGMA locking_mode") == "exclusive");
      ExecOrDie(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
      auto second = Database::Open(path, owned);
      REQUIRE_FALSE(second);
      CHECK(second.error().code == csp::ErrorCode::kUnavailable);
    }
    // The lock goes with the connection; the write is there for the next owner.
    Database again = OpenOrDie(path, owned);
    CHECK(QueryInt(again, "SELECT count(*) FROM t") == 1);
  }

  TEST_CASE("open fails cleanly when the directory cannot be created") {
    TempDir dir;
    const std::string blocker = dir.File("plain-file");
    {
      Database db = OpenOrDie(blocker);  // a file where the test wants a directory
    }
    auto db = Database::Open(blocker + "/sub/store.db");
    REQUIRE_FALSE(db.ok());
    CHECK(db.error().code == ErrorCode::kUnavailable);
    CHECK_FALSE(Database::Open("").ok());
  }

  TEST_CASE("foreign keys are enforced") {
    Database db = OpenOrDie(":memory:");
    REQUIRE(Migrate(db, kSteps).ok());
    csp::Status s = db.Exec("INSERT INTO tags (kv_id, tag) VALUES (42, 'orphan')");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == ErrorCode::kInternal);
  }

  TEST_CASE("migrations apply once, in order, and are idempotent on reopen") {
    TempDir dir;
    const std::string path = dir.File("m.db");
    {
      Database db = OpenOrDie(path);
      CHECK(SchemaVersion(db).value() == 0);
      csp::Status s = Migrate(db, {kSteps[0]});
      REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
      CHECK(SchemaVersion(db).value() == 1);
      ExecOrDie(db, "INSERT INTO kv (name) VALUES ('kept')");
    }
    {
      // Reapplying step 1 would fail with "table kv already exists".
      Database db = OpenOrDie(path);
      csp::Status s = Migrate(db, kSteps);
      REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
      CHECK(SchemaVersion(db).value() == 2);
      CHECK(QueryInt(db, "SELECT count(*) FROM sqlite_master WHERE name = 'tags'") == 1);
    }
    Database db = OpenOrDie(path);
    CHECK(Migrate(db, kSteps).ok());
    CHECK(Migrate(db, kSteps).ok());
    CHECK(SchemaVersion(db).value() == 2);
    CHECK(QueryInt(db, "SELECT count(*) FROM kv") == 1);
    CHECK(db.InAutocommit());
  }

  TEST_CASE("a database newer than the code is refused") {
    Database db = OpenOrDie(":memory:");
    REQUIRE(Migrate(db, kSteps).ok());
    csp::Status s = Migrate(db, {kSteps[0]});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == ErrorCode::kFailedPrecondition);
    CHECK(SchemaVersion(db).value() == 2);
  }

  TEST_CASE("a failing migration step leaves the database at the previous version") {
    Database db = OpenOrDie(":memory:");
    const std::vector<std::string> steps = {
        kSteps[0],
        "CREATE TABLE half (x); THIS IS NOT SQL;",
    };
    csp::Status s = Migrate(db, steps);
    REQUIRE_FALSE(s.ok());
    CHECK(SchemaVersion(db).value() == 1);
    CHECK(QueryInt(db, "SELECT count(*) FROM sqlite_master WHERE name = 'half'") == 0);
    CHECK(db.InAutocommit());
  }

  TEST_CASE("a transaction rolls back on destruction and keeps its writes on commit") {
    Database db = OpenOrDie(":memory:");
    REQUIRE(Migrate(db, kSteps).ok());
    {
      auto tx = Transaction::Begin(db);
      REQUIRE(tx.ok());
      ExecOrDie(db, "INSERT INTO kv (name) VALUES ('dropped')");
      CHECK(QueryInt(db, "SELECT count(*) FROM kv") == 1);
    }
    CHECK(QueryInt(db, "SELECT count(*) FROM kv") == 0);
    CHECK(db.InAutocommit());
    {
      auto tx = Transaction::Begin(db);
      REQUIRE(tx.ok());
      ExecOrDie(db, "INSERT INTO kv (name) VALUES ('kept')");
      CHECK(tx->Commit().ok());
    }
    CHECK(QueryInt(db, "SELECT count(*) FROM kv") == 1);
    {
      auto tx = Transaction::Begin(db);
      REQUIRE(tx.ok());
      ExecOrDie(db, "INSERT INTO kv (name) VALUES ('rolled back')");
      CHECK(tx->Rollback().ok());
      CHECK(db.InAutocommit());
    }
    CHECK(QueryInt(db, "SELECT count(*) FROM kv") == 1);
  }

  TEST_CASE("transactions do not nest and survive a move") {
    Database db = OpenOrDie(":memory:");
    ExecOrDie(db, "CREATE TABLE t (x)");
    auto outer = Transaction::Begin(db);
    REQUIRE(outer.ok());
    auto inner = Transaction::Begin(db);
    CHECK_FALSE(inner.ok());
    Transaction moved = std::move(*outer);
    ExecOrDie(db, "INSERT INTO t VALUES (1)");
    CHECK(moved.Commit().ok());
    CHECK(QueryInt(db, "SELECT count(*) FROM t") == 1);
  }

  TEST_CASE("constraint failures map to error codes") {
    Database db = OpenOrDie(":memory:");
    REQUIRE(Migrate(db, kSteps).ok());
    ExecOrDie(db, "INSERT INTO kv (id, name) VALUES (1, 'a')");

    csp::Status pk = db.Exec("INSERT INTO kv (id, name) VALUES (1, 'b')");
    REQUIRE_FALSE(pk.ok());
    CHECK(pk.error().code == ErrorCode::kAlreadyExists);

    auto unique = db.Prepare("INSERT INTO kv (name) VALUES (?)");
    REQUIRE(unique.ok());
    REQUIRE(unique->Bind(1, "a").ok());
    auto step = unique->Step();
    REQUIRE_FALSE(step.ok());
    CHECK(step.error().code == ErrorCode::kAlreadyExists);
    CHECK(step.error().message.find("UNIQUE") != std::string::npos);

    csp::Status not_null = db.Exec("INSERT INTO kv (id) VALUES (7)");
    REQUIRE_FALSE(not_null.ok());
    CHECK(not_null.error().code == ErrorCode::kInternal);
  }

  TEST_CASE("a held write lock makes another connection unavailable after its busy timeout") {
    TempDir dir;
    const std::string path = dir.File("busy.db");
    Database a = OpenOrDie(path);
    ExecOrDie(a, "CREATE TABLE t (x)");
    OpenOptions impatient;
    impatient.busy_timeout_ms = 0;
    Database b = OpenOrDie(path, impatient);
    auto held = Transaction::Begin(a);
    REQUIRE(held.ok());
    auto blocked = Transaction::Begin(b);
    REQUIRE_FALSE(blocked.ok());
    CHECK(blocked.error().code == ErrorCode::kUnavailable);
    CHECK(held->Commit().ok());
    CHECK(Transaction::Begin(b).ok());
  }

  TEST_CASE("prepare rejects bad SQL, empty SQL and several statements") {
    Database db = OpenOrDie(":memory:");
    auto bad = db.Prepare("SELEKT 1");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == ErrorCode::kInternal);
    CHECK_FALSE(db.Prepare("   ").ok());
    CHECK_FALSE(db.Prepare("SELECT 1; SELECT 2").ok());
    CHECK(db.Prepare("SELECT 1;  \n").ok());
  }

  TEST_CASE("the statement cache prepares once and hands the statement back reset") {
    Database db = OpenOrDie(":memory:");
    ExecOrDie(db, "CREATE TABLE t (x INTEGER)");
    ExecOrDie(db, "INSERT INTO t VALUES (1), (2), (3)");
    const std::string sql = "SELECT x FROM t WHERE x >= ? ORDER BY x";

    auto first = db.Cached(sql);
    REQUIRE(first.ok());
    REQUIRE((*first)->Bind(1, 2).ok());
    auto row = (*first)->Step();
    REQUIRE(row.ok());
    REQUIRE(*row);
    CHECK((*first)->ColumnInt(0) == 2);  // left mid-iteration on purpose

    auto second = db.Cached(sql);
    REQUIRE(second.ok());
    CHECK(*second == *first);
    CHECK(db.CachedCount() == 1);
    // Reset restarted the query and cleared the binding: "x >= NULL" matches nothing.
    auto none = (*second)->Step();
    REQUIRE(none.ok());
    CHECK_FALSE(*none);

    auto third = db.Cached(sql);
    REQUIRE(third.ok());
    REQUIRE((*third)->Bind(1, 1).ok());
    int rows = 0;
    for (auto r = (*third)->Step(); r.ok() && *r; r = (*third)->Step()) ++rows;
    CHECK(rows == 3);

    CHECK(db.Cached("SELECT count(*) FROM t").ok());
    CHECK(db.CachedCount() == 2);
    CHECK_FALSE(db.Cached("NOT SQL").ok());
    CHECK(db.CachedCount() == 2);
  }

  TEST_CASE("named parameters and Run") {
    Database db = OpenOrDie(":memory:");
    ExecOrDie(db, "CREATE TABLE t (k TEXT, v REAL)");
    auto insert = db.Prepare("INSERT INTO t (k, v) VALUES (:k, :v)");
    REQUIRE(insert.ok());
    CHECK(insert->BindNamed(":k", "pi").ok());
    CHECK(insert->BindNamed(":v", 3.14).ok());
    CHECK_FALSE(insert->BindNamed(":missing", 1).ok());
    CHECK(insert->Run().ok());
    CHECK(insert->Bind(1, "e").ok());  // Run reset it: ready to go again
    CHECK(insert->Run().ok());
    CHECK(QueryInt(db, "SELECT count(*) FROM t") == 2);
    CHECK(QueryInt(db, "SELECT count(*) FROM t WHERE v IS NULL") == 1);
    CHECK_FALSE(insert->Bind(9, 1).ok());  // out of range
  }

  TEST_CASE("Database and Statement are move-only owners") {
    static_assert(!std::is_copy_constructible_v<Database>);
    static_assert(!std::is_copy_constructible_v<Statement>);
    static_assert(std::is_nothrow_move_constructible_v<Database>);
    static_assert(std::is_nothrow_move_constructible_v<Statement>);

    Database db = OpenOrDie(":memory:");
    ExecOrDie(db, "CREATE TABLE t (x)");
    auto cached = db.Cached("INSERT INTO t VALUES (?)");
    REQUIRE(cached.ok());
    Statement* insert = *cached;

    Database moved = std::move(db);
    CHECK(db.handle() == nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
    REQUIRE(moved.handle() != nullptr);
    REQUIRE(insert->Bind(1, 5).ok());
    CHECK(insert->Run().ok());  // the cached statement survived the move
    CHECK(moved.Cached("INSERT INTO t VALUES (?)").value() == insert);

    auto st = moved.Prepare("SELECT x FROM t");
    REQUIRE(st.ok());
    Statement owner = std::move(*st);
    CHECK(st->handle() == nullptr);  // NOLINT(bugprone-use-after-move)
    auto row = owner.Step();
    REQUIRE(row.ok());
    REQUIRE(*row);
    CHECK(owner.ColumnInt(0) == 5);

    Database other = OpenOrDie(":memory:");
    other = std::move(moved);  // closes other's own connection, takes moved's
    CHECK(QueryInt(other, "SELECT count(*) FROM t") == 1);
  }
}
