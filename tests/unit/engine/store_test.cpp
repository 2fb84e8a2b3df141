#include "store.h"

#include <doctest/doctest.h>

#include "csp/sqlite/database.h"
#include "csp/sqlite/migrate.h"
#include "csp/test_support/process.h"
#include "fixture.h"

namespace csp::engine {
namespace {

using testing::J;

Store OpenMemory() {
  Result<Store> s = Store::Open(":memory:");
  REQUIRE(s.ok());
  return std::move(*s);
}

Change Put(const std::string& id, const std::string& body, int64_t seq = 0) {
  Change c;
  c.put = Record{seq, id, J(body)};
  return c;
}

std::vector<std::string> Ids(Store& store) {
  Result<std::vector<Record>> all = store.Scan(0, 100);
  REQUIRE(all.ok());
  std::vector<std::string> ids;
  for (const Record& r : *all) ids.push_back(r.id);
  return ids;
}

TEST_SUITE("engine.store") {
  TEST_CASE("records keep creation order - a replace keeps the position") {
    Store store = OpenMemory();
    REQUIRE(store.Commit(Put("b", R"({"id":"b"})"), 1).ok());
    REQUIRE(store.Commit(Put("a", R"({"id":"a"})"), 2).ok());
    REQUIRE(store.Commit(Put("b", R"({"id":"b","v":2})"), 3).ok());
    CHECK(Ids(store) == std::vector<std::string>{"b", "a"});
    Result<std::optional<Record>> b = store.Get("b");
    REQUIRE(b.ok());
    REQUIRE(b->has_value());
    CHECK((*b)->body == J(R"({"id":"b","v":2})"));
    CHECK(store.Count().value_or(-1) == 2);
  }

  TEST_CASE("a restored record gets its old position back") {
    Store store = OpenMemory();
    for (const char* id : {"a", "b", "c"}) REQUIRE(store.Commit(Put(id, "{}"), 1).ok());
    Result<std::optional<Record>> b = store.Get("b");
    REQUIRE(b.ok());
    const int64_t seq = (*b)->seq;
    Change erase;
    erase.erase = "b";
    REQUIRE(store.Commit(erase, 2).ok());
    REQUIRE(store.Commit(Put("d", "{}"), 3).ok());
    CHECK(Ids(store) == std::vector<std::string>{"a", "c", "d"});
    REQUIRE(store.Commit(Put("b", "{}", seq), 4).ok());
    CHECK(Ids(store) == std::vector<std::string>{"a", "b", "c", "d"});
  }

  TEST_CASE("scan pages by sequence number") {
    Store store = OpenMemory();
    for (const char* id : {"a", "b", "c"}) REQUIRE(store.Commit(Put(id, "{}"), 1).ok());
    Result<std::vector<Record>> first = store.Scan(0, 2);
    REQUIRE(first.ok());
    REQUIRE(first->size() == 2);
    Result<std::vector<Record>> rest = store.Scan(first->back().seq, 2);
    REQUIRE(rest.ok());
    REQUIRE(rest->size() == 1);
    CHECK(rest->front().id == "c");
  }

  TEST_CASE("the request log round-trips") {
    Store store = OpenMemory();
    Change c;
    RequestEntry e;
    e.request_id = "r1";
    e.command = "update";
    e.record_id = "p1";
    e.status = 200;
    e.reply = J(R"({"result":{"id":"p1"}})");
    e.undo = Undo::kRestore;
    e.before = Record{7, "p1", J(R"({"id":"p1","old":true})")};
    c.request = e;
    REQUIRE(store.Commit(c, 1000).ok());

    Result<std::optional<RequestEntry>> got = store.FindRequest("r1");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    const RequestEntry& g = **got;
    CHECK(g.command == "update");
    CHECK(g.record_id == "p1");
    CHECK(g.status == 200);
    CHECK(g.reply == e.reply);
    CHECK(g.replayable);
    CHECK(g.undo == Undo::kRestore);
    REQUIRE(g.before.has_value());
    CHECK(g.before->seq == 7);
    CHECK(g.before->body == e.before->body);
    CHECK_FALSE(g.reverted_ms.has_value());
    CHECK(g.created_ms == 1000);

    Change mark;
    mark.mark_reverted = "r1";
    REQUIRE(store.Commit(mark, 2000).ok());
    CHECK(store.FindRequest("r1").value()->reverted_ms == 2000);
    CHECK_FALSE(store.FindRequest("nope").value().has_value());
  }

  TEST_CASE("a file from the first schema keeps its request log when upgraded to keyed requests") {
    test::TempDir dir;
    std::string path = dir.path() + "/engine-store-upgrade-.db";
    {
      // The schema as the first release left it, with one logged update.
      auto db = sqlite::Database::Open(path);
      REQUIRE(db.ok());
      REQUIRE(sqlite::Migrate(*db, {StoreMigrations().front()}).ok());
      REQUIRE(db->Exec("INSERT INTO requests (request_id, command, record_id, status, reply, replayable, undo, "
                       "before_body, before_seq, reverted_ms, created_ms) VALUES ('r1', 'update', 'p1', 200, "
                       "'{\"result\":{\"id\":\"p1\"}}', 1, 'restore', '{\"id\":\"p1\"}', 7, NULL, 1000)")
                  .ok());
    }
    {
      Result<Store> store = Store::Open(path);
      REQUIRE(store.ok());
      Result<std::optional<RequestEntry>> got = store->FindRequest("r1");
      REQUIRE(got.ok());
      REQUIRE(got->has_value());
      CHECK((*got)->command == "update");
      CHECK((*got)->undo == Undo::kRestore);
      CHECK((*got)->reply == J(R"({"result":{"id":"p1"}})"));
      CHECK((*got)->created_ms == 1000);
      // New requests are logged beside it.
      Change c;
      RequestEntry e;
      e.request_id = "r2";
      e.command = "read";
      e.record_id = "p1";
      e.status = 200;
      c.request = e;
      REQUIRE(store->Commit(c, 2000).ok());
      CHECK(store->FindRequest("r2").value().has_value());
    }
  }

  TEST_CASE("an empty reply body round-trips as no body") {
    Store store = OpenMemory();
    Change c;
    RequestEntry e;
    e.request_id = "r1";
    e.command = "delete";
    e.status = 204;
    c.request = e;
    REQUIRE(store.Commit(c, 1).ok());
    CHECK_FALSE(store.FindRequest("r1").value()->reply.has_value());
  }

  TEST_CASE("a change is all or nothing") {
    Store store = OpenMemory();
    Change first = Put("a", R"({"v":1})");
    first.request = RequestEntry{};
    first.request->request_id = "r1";
    REQUIRE(store.Commit(first, 1).ok());

    // Same request id again: the log insert fails, so the record write must not stay either.
    Change second = Put("b", R"({"v":2})");
    second.request = RequestEntry{};
    second.request->request_id = "r1";
    Status s = store.Commit(second, 2);
    CHECK_FALSE(s.ok());
    CHECK_FALSE(store.Get("b").value().has_value());
    CHECK(store.Count().value_or(-1) == 1);
  }

  TEST_CASE("old requests are pruned") {
    Store store = OpenMemory();
    for (int i = 0; i < 3; ++i) {
      Change c;
      c.request = RequestEntry{};
      c.request->request_id = "r" + std::to_string(i);
      REQUIRE(store.Commit(c, 100 * (i + 1)).ok());
    }
    CHECK(store.PruneRequests(250).value_or(-1) == 2);
    CHECK_FALSE(store.FindRequest("r0").value().has_value());
    CHECK(store.FindRequest("r2").value().has_value());
    CHECK(store.Ping().ok());
  }
}

}  // namespace
}  // namespace csp::engine
