#include "csp/sqlite/group_commit.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "csp/sqlite/database.h"
#include "csp/sqlite/statement.h"

namespace {

using csp::ErrorCode;
using csp::Status;
using csp::sqlite::Database;
using csp::sqlite::GroupCommit;

Database OpenWithSchema() {
  auto db = Database::Open(std::string(csp::sqlite::kInMemory));
  REQUIRE(db.ok());
  REQUIRE(db->Exec("CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                   "CREATE TABLE t (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) "
                   "DEFERRABLE INITIALLY DEFERRED);"
                   "INSERT INTO parent (id) VALUES (1);")
              .ok());
  return std::move(*db);
}

Status Insert(Database& db, int id, int parent = 1) {
  auto st = db.Prepare("INSERT INTO t (id, parent) VALUES (?, ?)");
  if (!st) return st.error();
  if (auto s = st->Bind(1, int64_t{id}); !s) return s;
  if (auto s = st->Bind(2, int64_t{parent}); !s) return s;
  return st->Run();
}

std::vector<int64_t> Ids(Database& db) {
  auto st = db.Prepare("SELECT id FROM t ORDER BY id");
  REQUIRE(st.ok());
  std::vector<int64_t> out;
  while (true) {
    auto row = st->Step();
    REQUIRE(row.ok());
    if (!*row) break;
    out.push_back(st->ColumnInt(0));
  }
  return out;
}

// Polls until cond holds or two seconds pass.
bool WaitFor(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Runs `first` in one write; while it runs, starts one write per entry of `others` on its own
// thread and waits until all of them are queued, so that they make up the next batch together.
std::vector<Status> RunSecondBatch(GroupCommit& group, const GroupCommit::Work& first,
                                   const std::vector<GroupCommit::Work>& others) {
  std::atomic<int> queued{0};
  std::vector<Status> results(others.size(), csp::Ok());
  std::vector<std::thread> threads;
  Status first_result = group.Write([&]() -> Status {
    for (size_t i = 0; i < others.size(); ++i) {
      threads.emplace_back([&, i] {
        // One at a time, so that the queue order is the order of `others`.
        while (queued.load() != static_cast<int>(i)) std::this_thread::yield();
        results[i] = group.Write(others[i], [&] { ++queued; });
      });
    }
    REQUIRE(WaitFor([&] { return queued.load() == static_cast<int>(others.size()); }));
    return first();
  });
  for (auto& t : threads) t.join();
  REQUIRE(first_result.ok());
  return results;
}

}  // namespace

TEST_CASE("group commit: a lone write is committed on its own") {
  Database db = OpenWithSchema();
  std::mutex mu;
  GroupCommit group(db, mu);
  int commits_seen = 0;
  group.set_on_commit([&] { ++commits_seen; });
  CHECK(group.Write([&] { return Insert(db, 1); }).ok());
  CHECK(db.InAutocommit());
  CHECK(Ids(db) == std::vector<int64_t>{1});
  CHECK(group.commits() == 1);
  CHECK(group.writes() == 1);
  CHECK(commits_seen == 1);
}

TEST_CASE("group commit: a lone failing write keeps nothing and reports its own error") {
  Database db = OpenWithSchema();
  std::mutex mu;
  GroupCommit group(db, mu);
  Status s = group.Write([&]() -> Status {
    if (auto i = Insert(db, 5); !i) return i;
    return Insert(db, 5);  // duplicate primary key
  });
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == ErrorCode::kAlreadyExists);
  CHECK(Ids(db).empty());
  CHECK(db.InAutocommit());
  CHECK(group.writes() == 1);
  CHECK(group.commits() == 0);  // nothing was kept, so nothing was committed
}

TEST_CASE("group commit: writes queued during a commit share the next one, in queue order") {
  Database db = OpenWithSchema();
  std::mutex mu;
  GroupCommit group(db, mu);
  std::vector<int> order;
  auto insert = [&](int id) {
    return [&, id] {
      order.push_back(id);
      return Insert(db, id);
    };
  };
  auto results = RunSecondBatch(group, insert(1), {insert(2), insert(3), insert(4)});
  for (const auto& r : results) CHECK(r.ok());
  CHECK(order == std::vector<int>{1, 2, 3, 4});
  CHECK(Ids(db) == std::vector<int64_t>{1, 2, 3, 4});
  CHECK(group.writes() == 4);
  CHECK(group.commits() == 2);
}

TEST_CASE("group commit: a failing write in a batch is rolled back alone") {
  Database db = OpenWithSchema();
  std::mutex mu;
  GroupCommit group(db, mu);
  auto results = RunSecondBatch(group, [&] { return Insert(db, 1); },
                                {[&] { return Insert(db, 2); },
                                 [&]() -> Status {
                                   if (auto s = Insert(db, 3); !s) return s;
                                   return Insert(db, 2);  // taken by the write before: fails
                                 },
                                 [&] { return Insert(db, 4); }});
  CHECK(results[0].ok());
  REQUIRE_FALSE(results[1].ok());
  CHECK(results[1].error().code == ErrorCode::kAlreadyExists);
  CHECK(results[2].ok());
  CHECK(Ids(db) == std::vector<int64_t>{1, 2, 4});  // 3 went with its write
  CHECK(group.commits() == 2);
}

TEST_CASE("group commit: a failed commit fails every write of the batch and keeps nothing") {
  Database db = OpenWithSchema();
  std::mutex mu;
  GroupCommit group(db, mu);
  int rollbacks = 0, commits_seen = 0;
  group.set_on_rollback([&] { ++rollbacks; });
  group.set_on_commit([&] { ++commits_seen; });
  // The foreign key is checked at COMMIT (deferred): the statement succeeds, the commit fails.
  auto results = RunSecondBatch(group, [&] { return Insert(db, 1); },
                                {[&] { return Insert(db, 2); }, [&] { return Insert(db, 3, /*parent=*/99); }});
  CHECK_FALSE(results[0].ok());
  CHECK_FALSE(results[1].ok());
  CHECK(rollbacks == 1);
  CHECK(commits_seen == 1);  // the first batch only
  CHECK(group.commits() == 1);
  CHECK(Ids(db) == std::vector<int64_t>{1});
  CHECK(db.InAutocommit());
  // The connection is usable afterwards.
  CHECK(group.Write([&] { return Insert(db, 7); }).ok());
  CHECK(Ids(db) == std::vector<int64_t>{1, 7});
}
