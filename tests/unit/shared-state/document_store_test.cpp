#include "shared-state/document_store.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "csp/core/id.h"
#include "csp/json/json.h"
#include "fake_clock.h"

namespace csp::shared_state {
namespace {

using json::Object;
using json::Value;
using testing::FakeClock;

Value J(std::string_view text) {
  Result<Value> v = json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

json::Pointer P(std::string_view text) {
  Result<json::Pointer> p = json::Pointer::Parse(text);
  REQUIRE_MESSAGE(p.ok(), text);
  return *p;
}

Preconditions IfMatch(std::string_view header) {
  Preconditions pre;
  Result<EntityTags> tags = ParseEntityTags(header, "If-Match");
  REQUIRE(tags.ok());
  pre.if_match = *tags;
  return pre;
}

Preconditions IfNoneMatchStar() {
  Preconditions pre;
  pre.if_none_match = EntityTags{true, {}};
  return pre;
}

struct Fixture {
  explicit Fixture(StoreOptions options = {}) {
    auto opened = DocumentStore::Open(":memory:", clock, options);
    REQUIRE(opened.ok());
    store = std::move(*opened);
    store->SetWriteListener([this](const std::string& id, int64_t version) { events.emplace_back(id, version); });
  }

  // The stored content of id, parsed; REQUIREs that it exists.
  Value Content(const std::string& id) {
    Result<DocumentPtr> doc = store->Get(id);
    REQUIRE_MESSAGE(doc.ok(), id);
    return J((*doc)->content);
  }
  int64_t Version(const std::string& id) {
    Result<int64_t> v = store->VersionOf(id);
    REQUIRE(v.ok());
    return *v;
  }

  FakeClock clock;
  std::unique_ptr<DocumentStore> store;
  std::vector<std::pair<std::string, int64_t>> events;
};

TEST_SUITE("shared_state.document_store") {
  TEST_CASE("ids: 1-128 characters of A-Z a-z 0-9 . _ ~ -") {
    CHECK(IsValidId("a"));
    CHECK(IsValidId("AZaz09._~-"));
    CHECK(IsValidId(std::string(128, 'x')));
    CHECK_FALSE(IsValidId(""));
    CHECK_FALSE(IsValidId(std::string(129, 'x')));
    for (std::string_view bad : {"a b", "a/b", "a%2F", "ä", "a?b", "a#", "a:b", "..\\x"}) {
      CHECK_FALSE_MESSAGE(IsValidId(bad), bad);
    }
    Fixture f;
    Result<WriteResult> r = f.store->Put("bad id", J("{}"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
    CHECK(f.store->Get("bad/id").error().code == ErrorCode::kInvalidArgument);
    CHECK(f.store->Count() == 0);
  }

  TEST_CASE("create: given id + timestamps from the clock + version 1 + 409 when taken") {
    Fixture f;
    Result<WriteResult> r = f.store->Create("s1", J(R"({"a":1})"));
    REQUIRE(r.ok());
    CHECK(r->created);
    CHECK(r->document->id == "s1");
    CHECK(r->document->version == 1);
    CHECK(r->document->created_at == "2026-11-22T10:00:00.000Z");
    CHECK(r->document->last_modified == "2026-11-22T10:00:00.000Z");
    CHECK(f.Content("s1") == J(R"({"a":1})"));
    CHECK(f.store->Count() == 1);

    Result<WriteResult> again = f.store->Create("s1", J("{}"));
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == ErrorCode::kAlreadyExists);
    CHECK(again.error().message == "State ID 's1' already exists.");
    CHECK(f.Content("s1") == J(R"({"a":1})"));
    CHECK(f.Version("s1") == 1);
  }

  TEST_CASE("create without an id makes a UUID v4") {
    Fixture f;
    Result<WriteResult> r = f.store->Create("", J("{}"));
    REQUIRE(r.ok());
    CHECK(IsUuid(r->document->id));
  }

  TEST_CASE("the record has the original's fields plus version") {
    Fixture f;
    Result<WriteResult> r = f.store->Create("s1", J(R"({"a":1})"));
    REQUIRE(r.ok());
    Value record = RecordJson(*r->document, r->content);
    CHECK(record == J(R"({"id":"s1","content":{"a":1},"createdAt":"2026-11-22T10:00:00.000Z",
                         "lastModified":"2026-11-22T10:00:00.000Z","version":1})"));
  }

  TEST_CASE("merge: upserts + is shallow + bumps version and lastModified + keeps createdAt") {
    Fixture f;
    Result<WriteResult> first = f.store->Merge("m", J(R"({"a":{"x":1},"b":1})").AsObject());
    REQUIRE(first.ok());
    CHECK(first->created);
    f.clock.Advance(std::chrono::seconds(5));
    Result<WriteResult> second = f.store->Merge("m", J(R"({"a":{"y":2},"c":null})").AsObject());
    REQUIRE(second.ok());
    CHECK_FALSE(second->created);
    CHECK(second->document->version == 2);
    CHECK(second->document->created_at == "2026-11-22T10:00:00.000Z");
    CHECK(second->document->last_modified == "2026-11-22T10:00:05.000Z");
    // Nested objects are replaced, not merged; null is a value like any other.
    CHECK(f.Content("m") == J(R"({"a":{"y":2},"b":1,"c":null})"));
  }

  TEST_CASE("an empty merge is still a write: the version grows") {
    Fixture f;
    REQUIRE(f.store->Merge("m", Object{}).ok());
    REQUIRE(f.store->Merge("m", Object{}).ok());
    CHECK(f.Version("m") == 2);
  }

  TEST_CASE("add: real JSON pointers") {
    Fixture f;
    REQUIRE(f.store->Put("d", J(R"({"list":[1,2],"n":5,"z":null})")).ok());

    SUBCASE("creates intermediate objects and upserts the document") {
      Result<WriteResult> r = f.store->Add("new", P("/a/b/c"), 1);
      REQUIRE(r.ok());
      CHECK(r->created);
      CHECK(f.Content("new") == J(R"({"a":{"b":{"c":1}}})"));
    }
    SUBCASE("~1 is / and ~0 is ~") {
      REQUIRE(f.store->Add("d", P("/a~1b/c~0d"), true).ok());
      CHECK(*f.Content("d").Find("a/b")->Find("c~d") == Value(true));
    }
    SUBCASE("- appends, an index inserts") {
      REQUIRE(f.store->Add("d", P("/list/-"), 3).ok());
      REQUIRE(f.store->Add("d", P("/list/0"), 0).ok());
      CHECK(*f.Content("d").Find("list") == J("[0,1,2,3]"));
    }
    SUBCASE("keys such as __proto__ are ordinary data") {
      REQUIRE(f.store->Add("d", P("/__proto__/x"), 1).ok());
      CHECK(*f.Content("d").Find("__proto__") == J(R"({"x":1})"));
    }
    SUBCASE("\"\" replaces the whole content with an object") {
      REQUIRE(f.store->Add("d", P(""), J(R"({"only":1})")).ok());
      CHECK(f.Content("d") == J(R"({"only":1})"));
    }
    SUBCASE("rejected adds change nothing") {
      struct Bad {
        const char* path;
        Value value;
      };
      std::vector<Bad> bad = {{"/list/5", 1}, {"/n/x", 1}, {"/z/x", 1}, {"/list/x", 1}, {"", 1}, {"", J("[1]")}};
      for (auto& b : bad) {
        Result<WriteResult> r = f.store->Add("d", P(b.path), b.value);
        REQUIRE_FALSE_MESSAGE(r.ok(), b.path);
        CHECK_MESSAGE(r.error().code == ErrorCode::kInvalidArgument, r.error().message);
      }
      CHECK(f.Content("d") == J(R"({"list":[1,2],"n":5,"z":null})"));
      CHECK(f.Version("d") == 1);
    }
  }

  TEST_CASE("a rejected write on a missing document creates nothing") {
    Fixture f;
    CHECK_FALSE(f.store->Add("ghost", P(""), 1).ok());
    CHECK_FALSE(f.store->Patch("ghost", J(R"([{"op":"remove","path":"/nope"}])")).ok());
    CHECK_FALSE(f.store->Patch("ghost", J(R"([{"op":"test","path":"/a","value":1}])")).ok());
    CHECK_FALSE(f.store->MergePatch("ghost", J("[1]")).ok());
    CHECK_FALSE(f.store->Put("ghost", J("\"text\"")).ok());
    CHECK(f.store->Get("ghost").error().code == ErrorCode::kNotFound);
    CHECK(f.store->Count() == 0);
    CHECK(f.events.empty());
  }

  TEST_CASE("JSON Patch: atomic - a failed test is a conflict and changes nothing") {
    Fixture f;
    REQUIRE(f.store->Put("p", J(R"({"a":1,"b":[1,2]})")).ok());
    Result<WriteResult> ok = f.store->Patch("p", J(R"([
        {"op":"test","path":"/a","value":1},
        {"op":"replace","path":"/a","value":2},
        {"op":"move","from":"/b/0","path":"/first"},
        {"op":"copy","from":"/a","path":"/c"},
        {"op":"remove","path":"/b"}])"));
    REQUIRE(ok.ok());
    CHECK(f.Content("p") == J(R"({"a":2,"first":1,"c":2})"));
    CHECK(f.Version("p") == 2);

    Result<WriteResult> conflict = f.store->Patch("p", J(R"([
        {"op":"add","path":"/x","value":1},
        {"op":"test","path":"/a","value":99}])"));
    REQUIRE_FALSE(conflict.ok());
    CHECK(conflict.error().code == ErrorCode::kConflict);
    Result<WriteResult> bad =
        f.store->Patch("p", J(R"([{"op":"add","path":"/x","value":1},{"op":"frob","path":"/a"}])"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == ErrorCode::kInvalidArgument);
    Result<WriteResult> not_object = f.store->Patch("p", J(R"([{"op":"replace","path":"","value":[1]}])"));
    REQUIRE_FALSE(not_object.ok());
    CHECK(not_object.error().code == ErrorCode::kInvalidArgument);
    CHECK(f.Content("p") == J(R"({"a":2,"first":1,"c":2})"));
    CHECK(f.Version("p") == 2);
  }

  TEST_CASE("JSON Patch on a missing document starts from {} and creates it") {
    Fixture f;
    Result<WriteResult> r = f.store->Patch("new", J(R"([{"op":"add","path":"/a","value":1}])"));
    REQUIRE(r.ok());
    CHECK(r->created);
    CHECK(f.Content("new") == J(R"({"a":1})"));
  }

  TEST_CASE("merge patch: deep + null deletes + the result must be an object") {
    Fixture f;
    REQUIRE(f.store->Put("m", J(R"({"a":{"x":1,"y":2},"b":1})")).ok());
    REQUIRE(f.store->MergePatch("m", J(R"({"a":{"y":null,"z":3},"b":null})")).ok());
    CHECK(f.Content("m") == J(R"({"a":{"x":1,"z":3}})"));
    Result<WriteResult> r = f.store->MergePatch("m", J("[1]"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
    CHECK(f.Version("m") == 2);
  }

  TEST_CASE("put: created on first write + replaced after - content must be an object") {
    Fixture f;
    Result<WriteResult> created = f.store->Put("p", J(R"({"a":1})"));
    REQUIRE(created.ok());
    CHECK(created->created);
    Result<WriteResult> replaced = f.store->Put("p", J(R"({"b":2})"));
    REQUIRE(replaced.ok());
    CHECK_FALSE(replaced->created);
    CHECK(replaced->document->version == 2);
    CHECK(f.Content("p") == J(R"({"b":2})"));
    Result<WriteResult> scalar = f.store->Put("p", 5);
    REQUIRE_FALSE(scalar.ok());
    CHECK(scalar.error().code == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("remove at a pointer") {
    Fixture f;
    REQUIRE(f.store->Put("r", J(R"({"a":{"b":1,"c":2},"l":[1,2,3]})")).ok());
    REQUIRE(f.store->RemoveAt("r", P("/a/b")).ok());
    REQUIRE(f.store->RemoveAt("r", P("/l/1")).ok());
    CHECK(f.Content("r") == J(R"({"a":{"c":2},"l":[1,3]})"));
    CHECK(f.Version("r") == 3);

    CHECK(f.store->RemoveAt("r", P("/nope")).error().code == ErrorCode::kNotFound);
    CHECK(f.store->RemoveAt("r", P("/l/9")).error().code == ErrorCode::kNotFound);
    CHECK(f.store->RemoveAt("r", P("/a/c/d")).error().code == ErrorCode::kInvalidArgument);
    CHECK(f.store->RemoveAt("r", P("")).error().code == ErrorCode::kInvalidArgument);
    CHECK(f.store->RemoveAt("missing", P("/a")).error().code == ErrorCode::kNotFound);
    CHECK(f.store->Get("missing").error().code == ErrorCode::kNotFound);
    CHECK(f.Version("r") == 3);
  }

  TEST_CASE("delete: whether or not it existed - history goes too - the version starts again") {
    Fixture f;
    REQUIRE(f.store->Put("d", J(R"({"a":1})")).ok());
    REQUIRE(f.store->Put("d", J(R"({"a":2})")).ok());
    Result<bool> existed = f.store->Delete("d");
    REQUIRE(existed.ok());
    CHECK(*existed);
    Result<bool> again = f.store->Delete("d");
    REQUIRE(again.ok());
    CHECK_FALSE(*again);
    CHECK(f.store->Get("d").error().code == ErrorCode::kNotFound);
    CHECK(f.store->History("d").error().code == ErrorCode::kNotFound);
    CHECK(f.store->Count() == 0);
    Result<WriteResult> recreated = f.store->Put("d", J("{}"));
    REQUIRE(recreated.ok());
    CHECK(recreated->document->version == 1);
    Result<std::vector<Revision>> history = f.store->History("d");
    REQUIRE(history.ok());
    CHECK(history->size() == 1);
  }

  TEST_CASE("the write listener hears every committed write + in order and nothing else") {
    Fixture f;
    REQUIRE(f.store->Put("a", J("{}")).ok());
    REQUIRE(f.store->Merge("a", Object{{"x", 1}}).ok());
    CHECK_FALSE(f.store->Put("a", 1).ok());
    REQUIRE(f.store->Delete("a").ok());
    REQUIRE(f.store->Delete("a").ok());
    std::vector<std::pair<std::string, int64_t>> expected = {{"a", 1}, {"a", 2}, {"a", 0}};
    CHECK(f.events == expected);
  }

  TEST_CASE("history: the newest --history revisions + newest first - content at a version - restore") {
    StoreOptions options;
    options.history = 3;
    Fixture f(options);
    for (int i = 1; i <= 5; ++i) {
      REQUIRE(f.store->Put("h", Object{{"n", i}}).ok());
      f.clock.Advance(std::chrono::seconds(1));
    }
    Result<std::vector<Revision>> history = f.store->History("h");
    REQUIRE(history.ok());
    REQUIRE(history->size() == 3);
    CHECK((*history)[0].version == 5);
    CHECK((*history)[1].version == 4);
    CHECK((*history)[2].version == 3);
    CHECK((*history)[0].last_modified == "2026-11-22T10:00:04.000Z");
    CHECK((*history)[0].size_bytes == std::string(R"({"n":5})").size());

    Result<std::string> v4 = f.store->ContentAt("h", 4);
    REQUIRE(v4.ok());
    CHECK(*v4 == R"({"n":4})");
    CHECK(f.store->ContentAt("h", 2).error().code == ErrorCode::kNotFound);
    CHECK(f.store->ContentAt("h", 9).error().code == ErrorCode::kNotFound);
    CHECK(f.store->ContentAt("nope", 1).error().code == ErrorCode::kNotFound);

    Result<WriteResult> restored = f.store->Restore("h", 3);
    REQUIRE(restored.ok());
    CHECK(restored->document->version == 6);
    CHECK(f.Content("h") == J(R"({"n":3})"));
    // Restoring pruned version 3 away (6 - 3 keeps 4..6).
    CHECK(f.store->Restore("h", 3).error().code == ErrorCode::kNotFound);
    CHECK(f.store->Restore("nope", 1).error().code == ErrorCode::kNotFound);
    CHECK(f.Version("h") == 6);
  }

  TEST_CASE("If-Match: the current version writes + a stale one changes nothing") {
    Fixture f;
    REQUIRE(f.store->Put("c", J(R"({"a":1})")).ok());
    CHECK(f.store->Merge("c", Object{{"b", 2}}, IfMatch("\"1\"")).ok());
    for (auto stale : {"\"1\"", "W/\"1\"", "\"7\", \"8\""}) {
      Result<WriteResult> r = f.store->Merge("c", Object{{"c", 3}}, IfMatch(stale));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == ErrorCode::kFailedPrecondition);
    }
    CHECK(f.store->Put("c", J("{}"), IfMatch("\"1\", W/\"2\"")).ok());
    CHECK(f.store->Merge("c", Object{}, IfMatch("*")).ok());
    CHECK(f.Version("c") == 4);

    // On a missing document: If-Match never holds, not even "*".
    CHECK(f.store->Merge("missing", Object{}, IfMatch("*")).error().code == ErrorCode::kFailedPrecondition);
    CHECK(f.store->Delete("missing", IfMatch("\"1\"")).error().code == ErrorCode::kFailedPrecondition);
    CHECK(f.store->Count() == 1);
    // Delete with a stale tag keeps the document.
    CHECK(f.store->Delete("c", IfMatch("\"1\"")).error().code == ErrorCode::kFailedPrecondition);
    CHECK(f.store->Get("c").ok());
  }

  TEST_CASE("If-None-Match: * writes only when the document does not exist") {
    Fixture f;
    Result<WriteResult> created = f.store->Put("n", J("{}"), IfNoneMatchStar());
    REQUIRE(created.ok());
    CHECK(created->created);
    Result<WriteResult> again = f.store->Put("n", J(R"({"a":1})"), IfNoneMatchStar());
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == ErrorCode::kFailedPrecondition);
    CHECK(f.Content("n") == J("{}"));
  }

  TEST_CASE("limits: document size (413) and depth (400) + nothing changed") {
    StoreOptions options;
    options.max_document = 32;
    options.max_depth = 4;
    Fixture f(options);
    REQUIRE(f.store->Put("l", J(R"({"a":1})")).ok());
    Result<WriteResult> big = f.store->Merge("l", Object{{"b", std::string(40, 'x')}});
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().code == ErrorCode::kTooLarge);
    CHECK(f.store->Put("l", J(R"({"a":{"b":{"c":1}}})")).ok());                   // depth 3
    Result<WriteResult> deep = f.store->Add("l", P("/a/b/c"), J(R"({"d":{}})"));  // depth 5
    REQUIRE_FALSE(deep.ok());
    CHECK(deep.error().code == ErrorCode::kInvalidArgument);
    CHECK(f.Version("l") == 2);
    Result<WriteResult> big_new = f.store->Create("l2", Object{{"b", std::string(40, 'x')}});
    REQUIRE_FALSE(big_new.ok());
    CHECK(f.store->Get("l2").error().code == ErrorCode::kNotFound);
  }

  TEST_CASE("options are checked") {
    FakeClock clock;
    StoreOptions options;
    options.history = 0;
    auto opened = DocumentStore::Open(":memory:", clock, options);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("list: creation order + without content") {
    Fixture f;
    REQUIRE(f.store->Put("b", J("{}")).ok());
    REQUIRE(f.store->Put("a", J(R"({"x":"yz"})")).ok());
    REQUIRE(f.store->Merge("b", Object{{"k", 1}}).ok());
    Result<std::vector<DocumentMeta>> list = f.store->List();
    REQUIRE(list.ok());
    REQUIRE(list->size() == 2);
    CHECK((*list)[0].id == "b");
    CHECK((*list)[0].version == 2);
    CHECK((*list)[1].id == "a");
    CHECK((*list)[1].size_bytes == std::string(R"({"x":"yz"})").size());
  }

  TEST_CASE("a file store keeps every acknowledged write across reopen") {
    std::string dir_template = std::filesystem::temp_directory_path().string() + "/csp-state-test-XXXXXX";
    REQUIRE(mkdtemp(dir_template.data()) != nullptr);
    std::string path = dir_template + "/shared-state.db";
    FakeClock clock;
    {
      auto store = DocumentStore::Open(path, clock);
      REQUIRE(store.ok());
      REQUIRE((*store)->Put("keep", J(R"({"a":1})")).ok());
      REQUIRE((*store)->Merge("keep", Object{{"b", 2}}).ok());
    }
    {
      auto store = DocumentStore::Open(path, clock);
      REQUIRE(store.ok());
      CHECK((*store)->Count() == 1);
      Result<DocumentPtr> doc = (*store)->Get("keep");
      REQUIRE(doc.ok());
      CHECK((*doc)->version == 2);
      CHECK(J((*doc)->content) == J(R"({"a":1,"b":2})"));
      Result<std::vector<Revision>> history = (*store)->History("keep");
      REQUIRE(history.ok());
      CHECK(history->size() == 2);
    }
    std::filesystem::remove_all(dir_template);
  }

  TEST_CASE("concurrent writes share commits yet each sees the one before it, and readers see only commits") {
    Fixture f;
    constexpr int kThreads = 6, kEach = 30;
    std::atomic<bool> writing{true};
    std::atomic<int> bad_reads{0};
    // Every write adds one member, so a committed version n has exactly n members.
    std::thread reader([&] {
      int64_t last = 0;
      while (writing) {
        Result<DocumentPtr> doc = f.store->Get("d");
        if (!doc) continue;
        Value content = J((*doc)->content);
        if ((*doc)->version < last || static_cast<int64_t>(content.AsObject().size()) != (*doc)->version) ++bad_reads;
        last = (*doc)->version;
      }
    });
    std::vector<std::thread> writers;
    std::atomic<int> failed{0};
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          std::string key = "/k" + std::to_string(t) + "_" + std::to_string(i);
          if (!f.store->Add("d", P(key), i).ok()) ++failed;
        }
      });
    }
    for (auto& w : writers) w.join();
    writing = false;
    reader.join();
    CHECK(failed == 0);
    CHECK(bad_reads == 0);
    CHECK(f.Version("d") == kThreads * kEach);
    CHECK(f.Content("d").AsObject().size() == static_cast<size_t>(kThreads * kEach));
    REQUIRE(f.events.size() == static_cast<size_t>(kThreads * kEach));
    for (size_t i = 0; i < f.events.size(); ++i) CHECK(f.events[i].second == static_cast<int64_t>(i + 1));
    CHECK(f.store->Count() == 1);
  }
}

}  // namespace
}  // namespace csp::shared_state
