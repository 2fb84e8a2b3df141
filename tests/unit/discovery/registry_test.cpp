#include "discovery/registry.h"

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "csp/json/json.h"
#include "discovery/entry.h"
#include "discovery/store.h"
#include "fakes.h"

namespace {

using csp::ErrorCode;
using csp::discovery::CheckOutcome;
using csp::discovery::FindQuery;
using csp::discovery::HealthStatus;
using csp::discovery::PingTarget;
using csp::discovery::Registration;
using csp::discovery::Registry;
using csp::discovery::RegistryOptions;
using csp::discovery::Store;
using csp::discovery::testing::FakeClock;
using csp::discovery::testing::TempDir;
using std::chrono::seconds;

std::unique_ptr<Store> OpenStore(const std::string& path = ":memory:") {
  auto store = Store::Open(path);
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
  return std::move(*store);
}

Registration Reg(const std::string& name, const std::string& url, std::vector<std::string> tags = {}) {
  Registration r;
  r.service_name = name;
  r.service_url = url;
  r.tags = std::move(tags);
  return r;
}

// A registry over an in-memory store and a fake clock.
struct Fixture {
  FakeClock clock;
  std::unique_ptr<Store> store = OpenStore();
  Registry registry{clock, *store, RegistryOptions{3}};

  std::string Add(const Registration& r) {
    auto result = registry.Register(r);
    REQUIRE(result.ok());
    return result->registry_id;
  }
  std::vector<std::string> FindIds(const FindQuery& q) {
    std::vector<std::string> ids;
    for (const auto& e : registry.Find(q).entries) ids.push_back(e.registry_id);
    return ids;
  }
  HealthStatus StatusOf(const std::string& id) {
    auto e = registry.Get(id);
    REQUIRE(e.has_value());
    return e->status;
  }
};

FindQuery Tag(const std::string& tag) {
  FindQuery q;
  q.tag = tag;
  return q;
}

}  // namespace

TEST_SUITE("discovery.registry") {
  TEST_CASE("a new serviceName+serviceURL creates an entry - the same pair updates it in place") {
    Fixture f;
    auto first = f.registry.Register(Reg("a", "http://h:1", {"x"}));
    REQUIRE(first.ok());
    CHECK(first->created);
    f.clock.Advance(seconds(5));
    auto again = f.registry.Register(Reg("a", "http://h:1", {"y"}));
    REQUIRE(again.ok());
    CHECK_FALSE(again->created);
    CHECK(again->registry_id == first->registry_id);
    CHECK(f.registry.size() == 1);
    auto e = f.registry.Get(first->registry_id);
    REQUIRE(e.has_value());
    CHECK(e->tags == std::vector<std::string>{"y"});
    CHECK(e->last_renewed - e->registered_at == seconds(5));
    // The old tag no longer finds it, the new one does.
    CHECK(f.FindIds(Tag("x")).empty());
    CHECK(f.FindIds(Tag("y")) == std::vector<std::string>{first->registry_id});
    // Another URL under the same name is another instance.
    auto other = f.registry.Register(Reg("a", "http://h:2"));
    REQUIRE(other.ok());
    CHECK(other->created);
    CHECK(f.registry.size() == 2);
  }

  TEST_CASE("find filters are ANDed - profile is a substring - no filter lists all") {
    Fixture f;
    Registration a = Reg("a", "http://h:1", {"text", "upper"});
    a.semantic_profile = "urn:example:uppercase";
    a.media_types = {"application/json"};
    Registration b = Reg("b", "http://h:2", {"text"});
    b.semantic_profile = "urn:example:lowercase";
    b.media_types = {"text/plain"};
    std::string ida = f.Add(a);
    std::string idb = f.Add(b);

    CHECK(f.FindIds({}) == std::vector<std::string>{ida, idb});
    CHECK(f.FindIds(Tag("text")) == std::vector<std::string>{ida, idb});
    CHECK(f.FindIds(Tag("upper")) == std::vector<std::string>{ida});
    CHECK(f.FindIds(Tag("missing")).empty());
    FindQuery q;
    q.profile = "lower";
    CHECK(f.FindIds(q) == std::vector<std::string>{idb});
    q = {};
    q.media_type = "application/json";
    CHECK(f.FindIds(q) == std::vector<std::string>{ida});
    q = {};
    q.name = "b";
    CHECK(f.FindIds(q) == std::vector<std::string>{idb});
    q = Tag("text");
    q.media_type = "text/plain";
    CHECK(f.FindIds(q) == std::vector<std::string>{idb});
    q = Tag("upper");
    q.name = "b";
    CHECK(f.FindIds(q).empty());
  }

  TEST_CASE("find returns passing entries first then the rest each in registration order") {
    Fixture f;
    Registration r1 = Reg("s", "http://h:1", {"t"});
    r1.ping_url = "http://h:1/ping";
    std::string id1 = f.Add(r1);
    std::string id2 = f.Add(Reg("s", "http://h:2", {"t"}));
    Registration r3 = Reg("s", "http://h:3", {"t"});
    r3.ping_url = "http://h:3/ping";
    std::string id3 = f.Add(r3);
    std::string id4 = f.Add(Reg("s", "http://h:4", {"t"}));
    CHECK(f.FindIds(Tag("t")) == std::vector<std::string>{id1, id2, id3, id4});

    CHECK(f.registry.RecordCheck({id1, "http://h:1/ping"}, false) == CheckOutcome::kCritical);
    CHECK(f.registry.RecordCheck({id3, "http://h:3/ping"}, false) == CheckOutcome::kCritical);
    CHECK(f.FindIds(Tag("t")) == std::vector<std::string>{id2, id4, id1, id3});
    FindQuery healthy = Tag("t");
    healthy.healthy_only = true;
    CHECK(f.FindIds(healthy) == std::vector<std::string>{id2, id4});

    CHECK(f.registry.RecordCheck({id3, "http://h:3/ping"}, true) == CheckOutcome::kPassing);
    CHECK(f.FindIds(Tag("t")) == std::vector<std::string>{id2, id3, id4, id1});
  }

  TEST_CASE("renew and unregister answer not found for unknown ids") {
    Fixture f;
    auto renew = f.registry.Renew("nope");
    REQUIRE_FALSE(renew.ok());
    CHECK(renew.error().code == ErrorCode::kNotFound);
    CHECK(renew.error().message == "Service not found in registry");
    auto unreg = f.registry.Unregister("nope");
    REQUIRE_FALSE(unreg.ok());
    CHECK(unreg.error().code == ErrorCode::kNotFound);
    auto by_url = f.registry.UnregisterByUrl("http://nowhere", "");
    REQUIRE_FALSE(by_url.ok());
    CHECK(by_url.error().code == ErrorCode::kNotFound);
  }

  TEST_CASE("the rendered find is the wire form of Find's entries and follows every change") {
    for (size_t cache : {size_t{4} << 20, size_t{0}}) {
      CAPTURE(cache);
      FakeClock clock;
      auto store = OpenStore();
      Registry registry{clock, *store, RegistryOptions{3, cache}};
      auto same = [&](const FindQuery& q) {
        csp::json::Array expected;
        auto found = registry.Find(q);
        for (const auto& e : found.entries) expected.push_back(csp::discovery::EntryToJson(e));
        auto text = registry.FindJson(q);
        CHECK(text.json == csp::json::Dump(csp::json::Value(std::move(expected))));
        CHECK(text.count == found.entries.size());
        CHECK(text.index == found.index);
      };
      Registration pinged = Reg("a", "http://h:1", {"t"});
      pinged.ping_url = "http://h:1/ping";
      std::string a = registry.Register(pinged)->registry_id;
      Registration timed = Reg("b", "http://h:2", {"t"});
      timed.ttl_seconds = 10;
      std::string b = registry.Register(timed)->registry_id;
      std::string c = registry.Register(Reg("c", "http://h:3", {"t", "u"}))->registry_id;
      same(Tag("t"));
      same(Tag("t"));  // from the kept texts
      same({});

      clock.Advance(seconds(3));
      REQUIRE(registry.Renew(a).ok());  // lastRenewed
      same(Tag("t"));
      CHECK(registry.RecordCheck({a, pinged.ping_url}, false) == CheckOutcome::kCritical);  // status, failures
      same(Tag("t"));
      CHECK(registry.RecordCheck({a, pinged.ping_url}, true) == CheckOutcome::kPassing);  // lastChecked
      same(Tag("t"));
      clock.Advance(seconds(11));
      registry.ExpireTtls();  // b misses its TTL
      same(Tag("t"));
      pinged.metadata = csp::json::Object{{"v", 2}};
      pinged.tags = {"t", "new"};
      REQUIRE(registry.Register(pinged).ok());  // a re-registration changes the rest
      same(Tag("t"));
      same(Tag("new"));
      pinged.metadata = csp::json::Object{{"v", 3}};  // again at the same instant: same lastRenewed
      REQUIRE(registry.Register(pinged).ok());
      same(Tag("t"));
      REQUIRE(registry.Unregister(c).ok());
      same(Tag("t"));
      same(Tag("u"));
      REQUIRE(registry.Renew(b).ok());
      same({});
    }
  }

  TEST_CASE("the rendered find stays the wire form while renewals, checks and re-registrations run beside it") {
    FakeClock clock;
    auto store = OpenStore();
    Registry registry{clock, *store, RegistryOptions{1000}};
    std::vector<std::string> ids;
    std::vector<Registration> regs;
    for (int i = 0; i < 6; ++i) {
      Registration r = Reg("s" + std::to_string(i), "http://h:" + std::to_string(i), {"t"});
      r.ping_url = r.service_url + "/ping";
      regs.push_back(r);
      ids.push_back(registry.Register(r)->registry_id);
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&] {
        while (!stop) CHECK(registry.FindJson(Tag("t")).count == 6);
      });
    }
    threads.emplace_back([&] {
      for (int n = 0; n < 300; ++n) {
        clock.Advance(std::chrono::milliseconds(1));
        (void)registry.Renew(ids[n % ids.size()]);
        (void)registry.RecordCheck({ids[(n + 1) % ids.size()], regs[(n + 1) % ids.size()].ping_url}, n % 3 != 0);
        Registration r = regs[(n + 2) % regs.size()];
        r.metadata = csp::json::Object{{"n", n}};
        (void)registry.Register(r);
      }
      stop = true;
    });
    for (auto& t : threads) t.join();
    csp::json::Array expected;
    for (const auto& e : registry.Find(Tag("t")).entries) expected.push_back(csp::discovery::EntryToJson(e));
    CHECK(registry.FindJson(Tag("t")).json == csp::json::Dump(csp::json::Value(std::move(expected))));
  }

  TEST_CASE("renew moves lastRenewed") {
    Fixture f;
    std::string id = f.Add(Reg("a", "http://h:1"));
    f.clock.Advance(seconds(7));
    REQUIRE(f.registry.Renew(id).ok());
    auto e = f.registry.Get(id);
    REQUIRE(e.has_value());
    CHECK(e->last_renewed - e->registered_at == seconds(7));
  }

  TEST_CASE("unregister by serviceURL and by serviceName+serviceURL") {
    Fixture f;
    f.Add(Reg("a", "http://h:1"));
    std::string b = f.Add(Reg("b", "http://h:1"));
    std::string c = f.Add(Reg("c", "http://h:2"));
    auto one = f.registry.UnregisterByUrl("http://h:1", "a");
    REQUIRE(one.ok());
    CHECK(*one == 1);
    CHECK(f.FindIds({}) == std::vector<std::string>{b, c});
    f.Add(Reg("a", "http://h:1"));
    auto both = f.registry.UnregisterByUrl("http://h:1", "");
    REQUIRE(both.ok());
    CHECK(*both == 2);
    CHECK(f.FindIds({}) == std::vector<std::string>{c});
  }

  TEST_CASE("bindings need both ends and go away with either entry") {
    Fixture f;
    std::string a = f.Add(Reg("a", "http://h:1"));
    std::string b = f.Add(Reg("b", "http://h:2"));
    std::string c = f.Add(Reg("c", "http://h:3"));
    auto missing = f.registry.Bind(a, "nope");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == ErrorCode::kNotFound);
    CHECK(missing.error().message == "Source or target service not found");

    auto ab = f.registry.Bind(a, b);
    auto bc = f.registry.Bind(b, c);
    auto ac = f.registry.Bind(a, c);
    REQUIRE(ab.ok());
    REQUIRE(bc.ok());
    REQUIRE(ac.ok());
    CHECK(f.registry.Bindings().size() == 3);
    REQUIRE(f.registry.Unregister(b).ok());
    auto left = f.registry.Bindings();
    REQUIRE(left.size() == 1);
    CHECK(left[0].binding_id == ac->binding_id);
    CHECK_FALSE(f.registry.GetBinding(ab->binding_id).has_value());

    REQUIRE(f.registry.Unbind(ac->binding_id).ok());
    auto again = f.registry.Unbind(ac->binding_id);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().message == "Binding not found");
  }

  TEST_CASE("the index moves on every change and stays put otherwise") {
    Fixture f;
    std::vector<uint64_t> notified;
    f.registry.SetChangeListener([&](uint64_t i) { notified.push_back(i); });
    uint64_t i0 = f.registry.index();

    Registration r = Reg("a", "http://h:1", {"t"});
    r.ping_url = "http://h:1/ping";
    std::string a = f.Add(r);
    uint64_t i1 = f.registry.index();
    CHECK(i1 > i0);
    // Same registration again: nothing a watcher sees has changed.
    f.Add(r);
    CHECK(f.registry.index() == i1);
    // A changed registration is a change.
    r.tags = {"u"};
    f.Add(r);
    uint64_t i2 = f.registry.index();
    CHECK(i2 > i1);
    // A renewal that changes no status is not.
    REQUIRE(f.registry.Renew(a).ok());
    CHECK(f.registry.index() == i2);
    // A status change is.
    f.registry.RecordCheck({a, "http://h:1/ping"}, false);
    uint64_t i3 = f.registry.index();
    CHECK(i3 > i2);
    // A second failure keeps it critical: no change.
    f.registry.RecordCheck({a, "http://h:1/ping"}, false);
    CHECK(f.registry.index() == i3);
    std::string b = f.Add(Reg("b", "http://h:2"));
    auto binding = f.registry.Bind(a, b);
    REQUIRE(binding.ok());
    uint64_t i4 = f.registry.index();
    CHECK(i4 > i3);
    REQUIRE(f.registry.Unbind(binding->binding_id).ok());
    CHECK(f.registry.index() > i4);
    uint64_t i5 = f.registry.index();
    REQUIRE(f.registry.Unregister(b).ok());
    CHECK(f.registry.index() > i5);

    REQUIRE_FALSE(notified.empty());
    CHECK(notified.back() == f.registry.index());
    for (size_t i = 1; i < notified.size(); ++i) CHECK(notified[i] > notified[i - 1]);
    // Find reports the index its snapshot was taken at.
    CHECK(f.registry.Find({}).index == f.registry.index());
  }

  TEST_CASE("pings: critical on the first failure evicted after evict_after in a row") {
    Fixture f;
    Registration r = Reg("a", "http://h:1");
    r.ping_url = "http://h:1/ping";
    std::string a = f.Add(r);
    std::string b = f.Add(Reg("b", "http://h:2"));
    REQUIRE(f.registry.Bind(b, a).ok());
    PingTarget t{a, r.ping_url};
    CHECK(f.StatusOf(a) == HealthStatus::kPassing);
    CHECK(f.registry.RecordCheck(t, false) == CheckOutcome::kCritical);
    CHECK(f.StatusOf(a) == HealthStatus::kCritical);
    CHECK(f.registry.Get(a)->failures() == 1);
    CHECK(f.registry.Get(a)->last_checked.has_value());
    // A pass in between resets the count.
    CHECK(f.registry.RecordCheck(t, true) == CheckOutcome::kPassing);
    CHECK(f.registry.Get(a)->failures() == 0);
    CHECK(f.registry.RecordCheck(t, false) == CheckOutcome::kCritical);
    CHECK(f.registry.RecordCheck(t, false) == CheckOutcome::kCritical);
    CHECK(f.registry.RecordCheck(t, false) == CheckOutcome::kEvicted);
    CHECK_FALSE(f.registry.Get(a).has_value());
    CHECK(f.registry.Bindings().empty());
    CHECK(f.registry.RecordCheck(t, false) == CheckOutcome::kIgnored);
  }

  TEST_CASE("a check of a pingURL the entry no longer has is ignored") {
    Fixture f;
    Registration r = Reg("a", "http://h:1");
    r.ping_url = "http://h:1/old";
    std::string a = f.Add(r);
    r.ping_url = "http://h:1/new";
    f.Add(r);
    CHECK(f.registry.RecordCheck({a, "http://h:1/old"}, false) == CheckOutcome::kIgnored);
    CHECK(f.StatusOf(a) == HealthStatus::kPassing);
    auto targets = f.registry.PingTargets();
    REQUIRE(targets.size() == 1);
    CHECK(targets[0].ping_url == "http://h:1/new");
  }

  TEST_CASE("TTL: critical once a TTL passes without renewal evicted after evict_after of them") {
    Fixture f;
    Registration r = Reg("a", "http://h:1");
    r.ttl_seconds = 10;
    std::string a = f.Add(r);
    std::string plain = f.Add(Reg("b", "http://h:2"));
    f.clock.Advance(seconds(9));
    CHECK(f.registry.ExpireTtls() == 0);
    CHECK(f.StatusOf(a) == HealthStatus::kPassing);
    f.clock.Advance(seconds(1));
    CHECK(f.registry.ExpireTtls() == 0);
    CHECK(f.StatusOf(a) == HealthStatus::kCritical);
    CHECK(f.registry.Get(a)->failures() == 1);
    // Renewing brings it back.
    REQUIRE(f.registry.Renew(a).ok());
    CHECK(f.StatusOf(a) == HealthStatus::kPassing);
    CHECK(f.registry.Get(a)->failures() == 0);
    f.clock.Advance(seconds(25));
    CHECK(f.registry.ExpireTtls() == 0);
    CHECK(f.registry.Get(a)->failures() == 2);
    f.clock.Advance(seconds(5));
    CHECK(f.registry.ExpireTtls() == 1);
    CHECK_FALSE(f.registry.Get(a).has_value());
    // Entries without a TTL never expire.
    CHECK(f.StatusOf(plain) == HealthStatus::kPassing);
  }

  TEST_CASE("entries survive a restart in order and are re-checked before they pass again") {
    TempDir dir;
    std::string path = dir.File("discovery.db");
    FakeClock clock;
    std::string pinged, ttl, plain, binding_id;
    {
      auto store = OpenStore(path);
      Registry registry(clock, *store);
      Registration p = Reg("p", "http://h:1", {"t"});
      p.ping_url = "http://h:1/ping";
      p.metadata = csp::json::Object{{"k", "v"}};
      pinged = registry.Register(p)->registry_id;
      Registration t = Reg("t", "http://h:2", {"t"});
      t.ttl_seconds = 30;
      ttl = registry.Register(t)->registry_id;
      plain = registry.Register(Reg("n", "http://h:3", {"t"}))->registry_id;
      std::string gone = registry.Register(Reg("gone", "http://h:4"))->registry_id;
      binding_id = registry.Bind(pinged, plain)->binding_id;
      REQUIRE(registry.Bind(gone, plain).ok());
      REQUIRE(registry.Unregister(gone).ok());
      clock.Advance(seconds(3));
      REQUIRE(registry.Renew(plain).ok());
    }
    auto store = OpenStore(path);
    Registry registry(clock, *store);
    REQUIRE(registry.Load().ok());
    auto found = registry.Find(Tag("t"));
    REQUIRE(found.entries.size() == 3);
    // Passing first: only the entry with nothing to check passes before it is re-checked.
    CHECK(found.entries[0].registry_id == plain);
    CHECK(found.entries[1].registry_id == pinged);
    CHECK(found.entries[2].registry_id == ttl);
    CHECK(found.entries[1].status == HealthStatus::kPending);
    CHECK(found.entries[2].status == HealthStatus::kPending);
    CHECK(found.entries[1].metadata == csp::json::Value(csp::json::Object{{"k", "v"}}));
    CHECK(found.entries[0].last_renewed - found.entries[0].registered_at == seconds(3));
    CHECK(registry.Bindings().size() == 1);
    CHECK(registry.Bindings()[0].binding_id == binding_id);
    CHECK(registry.index() >= 1);

    CHECK(registry.RecordCheck({pinged, "http://h:1/ping"}, true) == CheckOutcome::kPassing);
    CHECK(registry.Get(pinged)->status == HealthStatus::kPassing);
    REQUIRE(registry.Renew(ttl).ok());
    CHECK(registry.Get(ttl)->status == HealthStatus::kPassing);

    // New registrations continue the registration order after the loaded ones.
    auto later = registry.Register(Reg("z", "http://h:9", {"t"}));
    REQUIRE(later.ok());
    CHECK(registry.Find(Tag("t")).entries.back().registry_id == later->registry_id);
    // And the same name+URL as a loaded entry updates it instead of adding one.
    auto same = registry.Register(Reg("n", "http://h:3", {"t"}));
    REQUIRE(same.ok());
    CHECK(same->registry_id == plain);
  }

  TEST_CASE("find by tag over 100000 entries looks only at the entries carrying the tag") {
    Fixture f;
    constexpr int kEntries = 100'000;
    int failed = 0;
    for (int i = 0; i < kEntries; ++i) {
      std::string n = std::to_string(i);
      failed +=
          f.registry.Register(Reg("svc" + std::to_string(i % 100), "http://h/" + n, {"bulk", "t" + n})).ok() ? 0 : 1;
    }
    REQUIRE(failed == 0);
    REQUIRE(f.registry.size() == kEntries);
    auto one = f.registry.Find(Tag("t77777"));
    REQUIRE(one.entries.size() == 1);
    CHECK(one.entries[0].service_url == "http://h/77777");
    CHECK(one.examined == 1);
    // The most selective filter drives the lookup.
    FindQuery q = Tag("bulk");
    q.name = "svc7";
    auto by_name = f.registry.Find(q);
    CHECK(by_name.entries.size() == 1000);
    CHECK(by_name.examined == 1000);
    auto none = f.registry.Find(Tag("absent"));
    CHECK(none.entries.empty());
    CHECK(none.examined == 0);
  }
}
