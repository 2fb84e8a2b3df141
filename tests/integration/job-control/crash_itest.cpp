// The crash test: job-control is SIGKILLed at random moments while jobs run, and started again on
// the same data dir each time. Every job must end completed or failed-and-reverted, with each
// engine effect applied exactly once. The engines generate record ids, so an effect applied twice
// would show as a second record.
//
// Bounded by default (3 kills, 10 jobs x 3 steps). For a longer run:
//   CSP_CRASH_KILLS=100 [CSP_CRASH_SEED=n] job_control_itest -tc='crash*'

#include <doctest/doctest.h>

#include <cstdlib>
#include <random>
#include <thread>

#include "platform.h"

namespace csp::job_control::itest {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

Value CrashJob(int j, bool good) {
  std::string tag = "crash-" + std::to_string(j);
  Value todo_payload = json::Object{{"notes", tag}};
  if (good) todo_payload.Set("title", tag);
  json::Array step1{
      json::Object{{"tag", "person"},
                   {"input", json::Object{{"command", "create"},
                                          {"resource", "person"},
                                          {"payload", json::Object{{"email", tag + "@example.org"}}}}},
                   {"storeResultAt", "/person"}},
      json::Object{{"tag", "delay"}}};
  json::Array step2{
      json::Object{{"tag", "order"},
                   {"input", json::Object{{"command", "create"},
                                          {"resource", "order"},
                                          {"payload", json::Object{{"personId", J(R"({"$fromState": "/person/result/id"})")},
                                                                   {"item", tag}}}}},
                   {"storeResultAt", "/order"}},
      json::Object{{"tag", "delay"}}};
  json::Array step3{
      json::Object{{"tag", "todo"},
                   {"input", json::Object{{"command", "create"}, {"resource", "todo"}, {"payload", todo_payload}}}},
      json::Object{{"tag", "person"},
                   {"input", json::Object{{"command", "update"},
                                          {"resource", "person"},
                                          {"id", J(R"({"$fromState": "/person/result/id"})")},
                                          {"payload", json::Object{{"givenName", tag}}}}}},
      json::Object{{"tag", "delay"}}};
  return json::Object{{"name", tag},
                      {"steps", json::Array{json::Object{{"tasks", step1}}, json::Object{{"tasks", step2}},
                                            json::Object{{"tasks", step3}}}}};
}

size_t CountWhere(const std::vector<Value>& records, const std::string& field, const std::string& value) {
  size_t n = 0;
  for (const auto& r : records) n += Str(r, field) == value ? 1 : 0;
  return n;
}

TEST_SUITE("job_control_itest") {
  TEST_CASE("crash: random SIGKILLs of job-control - every job ends completed or failed-and-reverted, each effect once") {
    const int kills = EnvInt("CSP_CRASH_KILLS", 3);
    const int batch = 10;
    unsigned seed = static_cast<unsigned>(EnvInt("CSP_CRASH_SEED", static_cast<int>(std::random_device{}() & 0x7fffffff)));
    MESSAGE("crash test: kills=" << kills << " seed=" << seed);
    std::mt19937 rng(seed);

    Platform p;
    p.StartDiscovery();
    p.StartSharedState();
    p.StartEngine("person");
    p.StartEngine("order");
    p.StartEngine("todo");
    // A service that takes a little while, so that kills land in the middle of steps.
    TestService delay;
    delay.router().Get("/forms", FormsFor);
    auto slow = [](const http::Request&) {
      thread_local std::mt19937 r(std::random_device{}());
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + r() % 100));
      return http::Response::Json(200, json::Object{{"result", "waited"}});
    };
    delay.router().Post("/execute", slow);
    delay.router().Post("/repeat", slow);
    delay.router().Post("/revert", [](const http::Request&) { return http::Response::Json(200, json::Object{{"status", "noop"}}); });
    delay.Start(16);
    p.Register("delay", delay.url(), {"delay"});
    p.StartJobControl({"--task-timeout", "5s"});

    std::vector<std::pair<std::string, bool>> jobs;  // (id, good)
    auto submit_batch = [&] {
      for (int i = 0; i < batch; ++i) {
        int j = static_cast<int>(jobs.size());
        bool good = j % 4 != 3;
        jobs.emplace_back(p.Submit(CrashJob(j, good)), good);
      }
    };
    auto unfinished = [&] {
      size_t n = 0;
      for (const char* status : {"queued", "running", "reverting"}) {
        auto r = p.Get(p.jc() + "/jobs?status=" + status);
        REQUIRE(r.status == 200);
        n += r.body.AsArray().size();
      }
      return n;
    };

    submit_batch();
    auto started = std::chrono::steady_clock::now();
    for (int k = 0; k < kills; ++k) {
      if (unfinished() == 0) submit_batch();  // keep work in flight for every kill
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 450));  // a random moment, not a wait
      p.KillJobControl();
      p.RestartJobControl();
    }
    REQUIRE(test::WaitFor([&] { return unfinished() == 0; }, std::chrono::seconds(120 + kills)));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    auto people = p.Records("person", "person");
    auto orders = p.Records("order", "order");
    auto todos = p.Records("todo", "todo");
    int completed = 0, failed = 0, resumed = 0;
    for (size_t j = 0; j < jobs.size(); ++j) {
      const auto& [id, good] = jobs[j];
      std::string tag = "crash-" + std::to_string(j);
      Value record = p.Job(id);
      std::string status = Str(record, "status");
      CAPTURE(tag);
      CAPTURE(id);
      CHECK(status == (good ? "completed" : "failed"));
      size_t want = good ? 1 : 0;
      CHECK(CountWhere(people, "email", tag + "@example.org") == want);
      CHECK(CountWhere(orders, "item", tag) == want);
      CHECK(CountWhere(todos, "notes", tag) == want);
      if (good) {
        CHECK(CountWhere(people, "givenName", tag) == 1);
      } else {
        for (auto& r : record.Find("reverts")->AsArray()) CHECK(Str(r, "status") == "succeeded");
      }
      completed += status == "completed" ? 1 : 0;
      failed += status == "failed" ? 1 : 0;
      for (auto& e : p.Events(id)) resumed += Str(e, "type") == "task_resumed" ? 1 : 0;
    }
    CHECK(people.size() == static_cast<size_t>(completed));
    CHECK(orders.size() == static_cast<size_t>(completed));
    CHECK(todos.size() == static_cast<size_t>(completed));
    MESSAGE("crash test figures: kills=" << kills << " jobs=" << jobs.size() << " completed=" << completed
                                         << " failed-and-reverted=" << failed << " tasks resumed via /repeat=" << resumed
                                         << " seconds=" << seconds << " seed=" << seed);
  }
}

}  // namespace
}  // namespace csp::job_control::itest
