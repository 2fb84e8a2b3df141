#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <condition_variable>
#include <thread>

#include "csp/json/json.h"
#include "fakes.h"
#include "job_service.h"
#include "runner.h"

namespace csp::job_control {
namespace {

using testing::FakeClock;
using testing::FakeDiscovery;
using testing::FakeEngine;
using testing::FakeHttp;
using testing::FakeState;
using testing::JsonReply;
using testing::kDiscovery;

json::Value J(std::string_view text) {
  auto v = json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

RunnerOptions FastOptions() {
  RunnerOptions o;
  o.retry = RetryPolicy{3, std::chrono::milliseconds(1), std::chrono::milliseconds(2), 2.0};
  o.revert_retry = RetryPolicy{3, std::chrono::milliseconds(1), std::chrono::milliseconds(2), 2.0};
  return o;
}

// The runner over a scripted world: discovery, engines "a", "b", "c" (tags of the same names),
// and the store in memory.
struct World {
  FakeClock clock;
  FakeHttp http;
  FakeDiscovery disco{http};
  std::unique_ptr<Store> store = std::move(*Store::Open(":memory:"));
  EventLog events{*store, clock};
  ServiceDirectory directory{kDiscovery, http, clock};
  TaskPool pool{4};
  RunnerOptions options = FastOptions();
  JobRunner runner{*store, events, directory, http, clock, pool, options};
  FakeEngine a{http, "http://a:1"};
  FakeEngine b{http, "http://b:1"};
  FakeEngine c{http, "http://c:1"};

  World() {
    disco.Add({"a", "http://a:1", {"a"}});
    disco.Add({"b", "http://b:1", {"b"}});
    disco.Add({"c", "http://c:1", {"c"}});
  }
  ~World() { events.Shutdown(); }

  std::string Submit(std::string_view text) {
    json::Value doc = J(text);
    ParsedJob parsed = ParseJob(doc);
    REQUIRE(parsed.ok());
    std::string id = "job-" + std::to_string(++count_);
    REQUIRE(store->CreateJob(BuildNewJob(id, doc, *parsed.job, "", 1)).ok());
    return id;
  }
  std::string Run(const std::string& id) {
    RunControl control;
    return runner.Run(id, control);
  }
  JobRow Job(const std::string& id) { return *store->GetJob(id); }
  std::vector<TaskRow> Tasks(const std::string& id) { return *store->ListTasks(id); }
  std::vector<std::string> EventTypes(const std::string& id) {
    std::vector<std::string> out;
    auto rows = store->ListEvents(id, 0, 0);
    REQUIRE(rows.ok());
    for (auto& e : *rows) out.push_back(e.type);
    return out;
  }

  int count_ = 0;
};

std::string Str(const json::Value& v, std::string_view key) {
  const json::Value* m = v.Find(key);
  return m != nullptr && m->IsString() ? m->AsString() : std::string();
}

Result<http_client::Response> Status(int status, const json::Value& body = json::Object{}) {
  return JsonReply(status, body);
}

// Polls (deadline 10 s) until n reaches at_least.
void WaitUntilAtLeast(const std::atomic<int>& n, int at_least) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (n.load() < at_least && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
}

// One step of three tasks, each storing its result under /out of the job's document.
constexpr const char* kThreeResults = R"({"sharedStateURL": "http://state:1/state/s1",
  "steps": [ {"tasks": [ {"tag": "a", "storeResultAt": {"targetPath": "/out/a", "sourcePath": "/result"}},
                         {"tag": "b", "storeResultAt": {"targetPath": "/out/b", "sourcePath": "/result"}},
                         {"tag": "c", "storeResultAt": {"targetPath": "/out/c", "sourcePath": "/result"}} ]} ]})";

// kThreeResults on a runner whose result writes wait up to `hold` for the rest of their step,
// against the fake document http://state:1/state/s1 ({"out": {}}). Scripts may be set on the
// engines before Run().
struct HeldWrites {
  explicit HeldWrites(std::chrono::milliseconds hold) : runner(MakeRunner(w, hold)) {}

  // Submits and runs the job: its end status, and how long the run took.
  std::string Run() {
    id = w.Submit(kThreeResults);
    RunControl control;
    auto start = std::chrono::steady_clock::now();
    std::string status = runner.Run(id, control);
    took = std::chrono::steady_clock::now() - start;
    return status;
  }
  std::vector<http_client::Request> Patches() const { return w.http.CallsTo("PATCH", "http://state:1/state/s1"); }

  static JobRunner MakeRunner(World& w, std::chrono::milliseconds hold) {
    w.options.state_write_hold = hold;
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    return JobRunner{*w.store, w.events, w.directory, w.http, w.clock, w.pool, w.options};
  }

  World w;
  JobRunner runner;
  FakeState state{w.http, "http://state:1/state/s1", J(R"({"out": {}})")};
  std::string id;
  std::chrono::steady_clock::duration took{};
};

TEST_SUITE("runner") {
  TEST_CASE("steps run in order, tasks in parallel, each call carries a fresh requestId") {
    World w;
    std::string id = w.Submit(R"({"name": "demo", "steps": [
      {"tasks": [ {"tag": "a", "input": {"command": "create", "resource": "person", "id": "p1"}}, {"tag": "b"} ]},
      {"enabled": false, "tasks": [ {"tag": "c"} ]},
      {"tasks": [ {"tag": "c", "enabled": false}, {"tag": "c", "input": {"command": "read"}} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    auto a = w.a.seen("execute");
    REQUIRE(a.size() == 1);
    CHECK(Str(a[0].body, "command") == "create");
    CHECK(Str(a[0].body, "id") == "p1");
    CHECK(Str(a[0].body, "requestId").size() == 36);
    REQUIRE(w.b.seen("execute").size() == 1);
    REQUIRE(w.c.seen("execute").size() == 1);
    CHECK(Str(w.c.seen("execute")[0].body, "requestId") != Str(a[0].body, "requestId"));
    auto tasks = w.Tasks(id);
    REQUIRE(tasks.size() == 5);
    CHECK(tasks[0].status == kTaskSucceeded);
    CHECK(tasks[0].attempts == 1);
    CHECK(*tasks[0].http_status == 200);
    CHECK(tasks[2].status == kTaskSkipped);
    CHECK(tasks[3].status == kTaskSkipped);
    CHECK(tasks[4].status == kTaskSucceeded);
    auto job = w.Job(id);
    CHECK(job.status == kCompleted);
    CHECK(job.completed_at.has_value());
    auto types = w.EventTypes(id);
    CHECK(types.front() == "job_accepted");
    CHECK(types.back() == "job_ended");
    CHECK(std::count(types.begin(), types.end(), "task_succeeded") == 3);
    CHECK(std::count(types.begin(), types.end(), "step_skipped") == 1);
  }

  TEST_CASE("events keep their order when job_started and step_started share a commit") {
    World w;
    std::string id = w.Submit(R"({"steps": [
      {"tasks": [ {"tag": "a"}, {"tag": "b"} ]},
      {"enabled": false, "tasks": [ {"tag": "c"} ]},
      {"tasks": [ {"tag": "c"} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    auto types = w.EventTypes(id);
    REQUIRE(types.size() == 12);
    CHECK(types[0] == "job_accepted");
    CHECK(types[1] == "job_started");
    CHECK(types[2] == "step_started");
    CHECK(std::count(types.begin() + 3, types.begin() + 7, "task_dispatched") == 2);
    CHECK(std::count(types.begin() + 3, types.begin() + 7, "task_succeeded") == 2);
    CHECK(types[7] == "step_skipped");
    CHECK(types[8] == "step_started");
    CHECK(types[9] == "task_dispatched");
    CHECK(types[10] == "task_succeeded");
    CHECK(types[11] == "job_ended");
  }

  TEST_CASE("a parallel step's tasks are recorded dispatched together, before any call goes out") {
    World w;
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a"}, {"tag": "nobody"}, {"tag": "b"}, {"tag": "c"} ]} ]})");
    CHECK(w.Run(id) == kFailed);
    auto types = w.EventTypes(id);
    // job_accepted, job_started, step_started, then the lookup failure of "nobody", then the
    // three dispatches of one commit, in task order.
    REQUIRE(types.size() >= 8);
    CHECK(types[3] == "task_failed");
    CHECK(types[4] == "task_dispatched");
    CHECK(types[5] == "task_dispatched");
    CHECK(types[6] == "task_dispatched");
    auto rows = w.store->ListEvents(id, 0, 0);
    REQUIRE(rows.ok());
    CHECK((*rows)[4].data.Find("task")->AsInt() == 0);
    CHECK((*rows)[5].data.Find("task")->AsInt() == 2);
    CHECK((*rows)[6].data.Find("task")->AsInt() == 3);
    auto tasks = w.Tasks(id);
    CHECK(tasks[1].status == kTaskFailed);
    for (int t : {0, 2, 3}) CHECK(tasks[t].request_id.size() == 36);
    CHECK(w.a.seen("execute").size() == 1);
    CHECK(w.b.seen("execute").size() == 1);
    CHECK(w.c.seen("execute").size() == 1);
  }

  TEST_CASE("retries go to /repeat with the same requestId and body") {
    World w;
    int calls = 0;
    w.a.SetScript([&](const json::Value&, const std::string& endpoint) {
      if (endpoint == "revert") return Status(200, json::Object{{"status", "noop"}});
      ++calls;
      if (calls <= 2) return Status(503, json::Object{{"error", "busy"}});
      return Status(201, json::Object{{"result", "ok"}});
    });
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a", "input": {"command": "create", "x": 1}} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    auto seen = w.a.seen();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].endpoint == "execute");
    CHECK(seen[1].endpoint == "repeat");
    CHECK(seen[2].endpoint == "repeat");
    CHECK(seen[0].body == seen[1].body);
    CHECK(seen[0].body == seen[2].body);
    auto t = w.Tasks(id)[0];
    CHECK(t.attempts == 3);
    CHECK(*t.http_status == 201);
    CHECK(t.endpoint == "http://a:1/repeat");
  }

  TEST_CASE("a transport timeout is retried to /repeat - the job's X-Request-Id is the job id") {
    World w;
    int calls = 0;
    w.http.Route("POST", "http://a:1/execute", [&](const http_client::Request& r) -> Result<http_client::Response> {
      ++calls;
      return Error(ErrorCode::kDeadlineExceeded, "POST " + r.url + ": Operation timed out");
    });
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a"} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    CHECK(calls == 1);
    REQUIRE(w.a.seen("repeat").size() == 1);
    auto posts = w.http.CallsTo("POST", "http://a:1/repeat");
    REQUIRE(posts.size() == 1);
    CHECK(posts[0].request_id == id);
  }

  TEST_CASE("4xx is never retried - the failed task is reverted too") {
    World w;
    w.a.SetScript([&](const json::Value&, const std::string& endpoint) {
      if (endpoint == "revert") return Status(200, json::Object{{"status", "noop"}});
      return Status(400, json::Object{{"error", "Missing required input: email"}});
    });
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a", "input": {"command": "create"}} ]}, {"tasks": [ {"tag": "b"} ]} ]})");
    CHECK(w.Run(id) == kFailed);
    REQUIRE(w.a.seen("execute").size() == 1);
    CHECK(w.a.seen("repeat").empty());
    REQUIRE(w.a.seen("revert").size() == 1);
    CHECK(Str(w.a.seen("revert")[0].body, "requestId") == Str(w.a.seen("execute")[0].body, "requestId"));
    CHECK(w.b.seen().empty());  // later steps never run
    auto job = w.Job(id);
    CHECK(Str(job.error, "task") == "a");
    CHECK(Str(job.error, "error") == "Request failed with status code 400: Missing required input: email");
    CHECK(w.Tasks(id)[0].status == kTaskFailed);
  }

  TEST_CASE("saga: a failure in step 3 reverts steps 3..1, latest first, one at a time") {
    World w;
    std::vector<std::string> reverts;  // "engine:requestId"
    std::mutex mu;
    std::map<std::string, std::string> ids;  // requestId -> "a1", "b1", ...
    auto script = [&](const std::string& engine) {
      return [&, engine](const json::Value& body, const std::string& endpoint) {
        std::lock_guard<std::mutex> lock(mu);
        if (endpoint == "revert") {
          reverts.push_back(ids[Str(body, "requestId")]);
          return Status(200, json::Object{{"status", "reverted"}});
        }
        ids[Str(body, "requestId")] = engine + Str(body, "id");
        if (engine == "c" && Str(body, "id") == "3") return Status(500, json::Object{{"error", "boom"}});
        return Status(201, json::Object{{"result", json::Object{{"id", Str(body, "id")}}}});
      };
    };
    w.a.SetScript(script("a"));
    w.b.SetScript(script("b"));
    w.c.SetScript(script("c"));
    std::string id = w.Submit(R"({"steps": [
      {"tasks": [ {"tag": "a", "input": {"command": "create", "resource": "person", "id": "1", "payload": {"email": "x"}}},
                  {"tag": "b", "input": {"command": "create", "id": "1"}} ]},
      {"tasks": [ {"tag": "a", "input": {"command": "create", "id": "2"}}, {"tag": "b", "input": {"command": "create", "id": "2"}} ]},
      {"tasks": [ {"tag": "b", "input": {"command": "create", "id": "3"}}, {"tag": "c", "input": {"command": "create", "id": "3"}} ]},
      {"tasks": [ {"tag": "a", "input": {"command": "create", "id": "4"}} ]} ]})");
    CHECK(w.Run(id) == kFailed);
    CHECK(reverts == std::vector<std::string>{"c3", "b3", "b2", "a2", "b1", "a1"});
    // The revert body carries the original call's command, resource, id and payload.
    auto a_reverts = w.a.seen("revert");
    REQUIRE(a_reverts.size() == 2);
    const json::Value& last = a_reverts[1].body;
    CHECK(Str(last, "command") == "create");
    CHECK(Str(last, "resource") == "person");
    CHECK(Str(last, "id") == "1");
    CHECK(json::Dump(*last.Find("payload")) == R"({"email":"x"})");
    auto job = w.Job(id);
    CHECK(Str(job.error, "task") == "c");
    CHECK(job.error.Find("step")->AsInt() == 2);
    auto rows = *w.store->ListReverts(id);
    CHECK(rows.size() == 6);
    for (auto& r : rows) CHECK(r.status == "succeeded");
    auto types = w.EventTypes(id);
    CHECK(std::count(types.begin(), types.end(), "revert_succeeded") == 6);
    CHECK(std::find(types.begin(), types.end(), "job_reverting") != types.end());
  }

  TEST_CASE("a revert that keeps failing ends the job revert-failed, naming it") {
    World w;
    w.b.SetScript([&](const json::Value&, const std::string& endpoint) {
      if (endpoint == "revert") return Status(503, json::Object{{"error", "down"}});
      return Status(200, json::Object{});
    });
    w.c.SetScript([&](const json::Value&, const std::string& endpoint) {
      if (endpoint == "revert") return Status(200, json::Object{{"status", "noop"}});
      return Status(409, json::Object{{"error", "exists"}});
    });
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a"}, {"tag": "b"} ]}, {"tasks": [ {"tag": "c"} ]} ]})");
    CHECK(w.Run(id) == kRevertFailed);
    CHECK(w.b.seen("revert").size() == 3);  // retried with the revert policy
    CHECK(w.a.seen("revert").size() == 1);  // the walk goes on after a failed revert
    auto job = w.Job(id);
    const json::Value* failures = job.error.Find("revertFailures");
    REQUIRE(failures != nullptr);
    REQUIRE(failures->AsArray().size() == 1);
    CHECK(Str(failures->AsArray()[0], "tag") == "b");
    CHECK(Str(job.error, "task") == "c");
  }

  TEST_CASE("cancel: stops dispatching, reverts what ran, ends cancelled") {
    World w;
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false, release = false;
    w.a.SetScript([&](const json::Value&, const std::string& endpoint) {
      if (endpoint == "revert") return Status(200, json::Object{{"status", "reverted"}});
      std::unique_lock<std::mutex> lock(mu);
      entered = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
      return Status(200, json::Object{});
    });
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a"} ]}, {"tasks": [ {"tag": "b"} ]} ]})");
    RunControl control;
    std::string status;
    std::thread t([&] { status = w.runner.Run(id, control); });
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return entered; });
    }
    control.RequestCancel();
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
      cv.notify_all();
    }
    t.join();
    CHECK(status == kCancelled);
    CHECK(w.b.seen().empty());
    CHECK(w.a.seen("revert").size() == 1);
    CHECK(Str(w.Job(id).error, "status") == "cancelled");
    CHECK(w.Tasks(id)[1].status == kTaskPending);
  }

  TEST_CASE("crash-resume: a task recorded dispatched is re-sent to /repeat with its requestId and body") {
    World w;
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a", "input": {"command": "create", "id": "p1"}}, {"tag": "b"} ]},
                                             {"tasks": [ {"tag": "c"} ]} ]})");
    // The store as a killed job-control left it: running, task a in flight, task b done.
    REQUIRE(w.store->MarkRunning(id, 1, INT64_MAX / 2).ok());
    TaskRow a;
    a.step = 0;
    a.task = 0;
    a.request_id = "11111111-2222-4333-8444-555555555555";
    a.service_url = "http://a:1";
    a.endpoint = "http://a:1/execute";
    a.request = J(R"({"command": "create", "id": "p1", "requestId": "11111111-2222-4333-8444-555555555555"})");
    a.attempts = 1;
    a.sent = true;
    a.started_at = 1;
    REQUIRE(w.store->MarkDispatched(id, a).ok());
    TaskRow b;
    b.step = 0;
    b.task = 1;
    b.request_id = "b-req";
    b.status = kTaskSucceeded;
    b.http_status = 200;
    b.finished_at = 2;
    REQUIRE(w.store->FinishTask(id, b).ok());

    CHECK(w.Run(id) == kCompleted);
    CHECK(w.a.seen("execute").empty());
    auto repeats = w.a.seen("repeat");
    REQUIRE(repeats.size() == 1);
    CHECK(repeats[0].body == a.request);
    CHECK(w.b.seen().empty());  // succeeded tasks are not run again
    CHECK(w.c.seen("execute").size() == 1);
    auto tasks = w.Tasks(id);
    CHECK(tasks[0].status == kTaskSucceeded);
    CHECK(tasks[0].attempts == 2);
    CHECK(tasks[0].request_id == a.request_id);
  }

  TEST_CASE("crash-resume of a reverting job does not resend succeeded reverts") {
    World w;
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a"}, {"tag": "b"} ]} ]})");
    REQUIRE(w.store->MarkRunning(id, 1, INT64_MAX / 2).ok());
    for (int i = 0; i < 2; ++i) {
      TaskRow t;
      t.step = 0;
      t.task = i;
      t.request_id = "req-" + std::to_string(i);
      t.service_url = i == 0 ? "http://a:1" : "http://b:1";
      t.sent = true;
      t.attempts = 1;
      t.request = json::Object{{"requestId", t.request_id}};
      REQUIRE(w.store->MarkDispatched(id, t).ok());
      t.status = i == 0 ? kTaskSucceeded : kTaskFailed;
      REQUIRE(w.store->FinishTask(id, t).ok());
    }
    REQUIRE(w.store->MarkReverting(id, J(R"({"status":"error","task":"b","error":"x"})"), kFailed).ok());
    RevertRow done;
    done.step = 0;
    done.task = 1;
    done.request_id = "req-1";
    done.status = "succeeded";
    done.attempts = 1;
    REQUIRE(w.store->SaveRevert(id, done).ok());
    CHECK(w.Run(id) == kFailed);
    CHECK(w.b.seen("revert").empty());
    REQUIRE(w.a.seen("revert").size() == 1);
    CHECK(Str(w.a.seen("revert")[0].body, "requestId") == "req-0");
  }

  TEST_CASE("stop (shutdown) leaves the job running, to be continued") {
    World w;
    RunControl control;
    w.a.SetScript([&](const json::Value&, const std::string&) {
      control.RequestStop();
      return Status(503, json::Object{});
    });
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a"} ]} ]})");
    CHECK(w.runner.Run(id, control) == kRunning);
    auto t = w.Tasks(id)[0];
    CHECK(t.status == kTaskDispatched);
    CHECK(w.Job(id).status == kRunning);
    w.a.SetScript(nullptr);
    CHECK(w.Run(id) == kCompleted);
    CHECK(w.a.seen("repeat").size() == 1);
  }

  TEST_CASE("storeResultAt writes one JSON patch per task, retrying on 412") {
    World w;
    FakeState state(w.http, "http://state:1/state/s1", J(R"({"message": "hi"})"));
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    w.a.SetScript([&](const json::Value& body, const std::string&) {
      return Status(201, json::Object{{"result", json::Object{{"in", *body.Find("text")}}}});
    });
    state.FailNextWith412(1);
    std::string id = w.Submit(R"({"sharedStateURL": "http://state:1/state/s1", "sharedState": {"seed": true},
      "steps": [ {"tasks": [ {"tag": "a", "input": {"text": {"$fromState": "/message"}},
        "storeResultAt": [ {"targetPath": "/out/a", "sourcePath": "/result/in"}, {"targetPath": "/skipped", "onlyOnStatus": [200]},
                           {"targetPath": "/raw"} ]} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    INFO(json::Dump(w.Job(id).error));
    CHECK(json::Dump(state.content()) ==
          R"({"message":"hi","seed":true,"out":{"a":"hi"},"raw":{"result":{"in":"hi"}}})");
    CHECK(state.json_patches() == 1);
    auto types = w.EventTypes(id);
    CHECK(std::count(types.begin(), types.end(), "state_written") == 1);
  }

  TEST_CASE("storeResultAt fast path: results that come while a PATCH is on its way share the next one") {
    World w;
    std::atomic<int> waited{0};
    std::mutex mu;
    std::vector<size_t> carried;
    RunnerHooks hooks;
    hooks.state_write_waited = [&] { waited += 1; };
    hooks.state_patch_sent = [&](size_t writes) {
      std::lock_guard<std::mutex> lock(mu);
      carried.push_back(writes);
    };
    w.options.state_write_hold = std::chrono::milliseconds(0);  // each result goes at once
    JobRunner runner{*w.store, w.events, w.directory, w.http, w.clock, w.pool, w.options, hooks};
    FakeState state(w.http, "http://state:1/state/s1", J(R"({"out": {}})"));
    // The first PATCH is held until the two other tasks' results wait behind it.
    state.SetPatchGate([&](int n, const http_client::Request&) -> std::optional<http_client::Response> {
      if (n == 1) WaitUntilAtLeast(waited, 2);
      return std::nullopt;
    });
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    std::string id = w.Submit(kThreeResults);
    RunControl control;
    CHECK(runner.Run(id, control) == kCompleted);
    CHECK(waited.load() == 2);
    CHECK(carried == std::vector<size_t>{1, 2});
    auto patches = w.http.CallsTo("PATCH", "http://state:1/state/s1");
    REQUIRE(patches.size() == 2);
    CHECK(J(patches[0].body).AsArray().size() == 1);
    CHECK(J(patches[1].body).AsArray().size() == 2);
    for (const char* key : {"a", "b", "c"}) CHECK(state.content().Find("out")->Find(key) != nullptr);
    auto types = w.EventTypes(id);
    CHECK(std::count(types.begin(), types.end(), "state_written") == 3);
  }

  TEST_CASE("storeResultAt fast path: a shared PATCH that fails is written again by each of its tasks alone") {
    World w;
    std::atomic<int> waited{0};
    RunnerHooks hooks;
    hooks.state_write_waited = [&] { waited += 1; };
    w.options.state_write_hold = std::chrono::milliseconds(0);  // each result goes at once
    JobRunner runner{*w.store, w.events, w.directory, w.http, w.clock, w.pool, w.options, hooks};
    FakeState state(w.http, "http://state:1/state/s1", J(R"({"out": {}})"));
    state.SetPatchGate([&](int n, const http_client::Request& req) -> std::optional<http_client::Response> {
      if (n == 1) WaitUntilAtLeast(waited, 2);
      auto body = json::Parse(req.body);
      if (body && body->IsArray() && body->AsArray().size() == 2) {
        return JsonReply(409, json::Object{{"error", "the shared patch is refused"}});
      }
      return std::nullopt;
    });
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    std::string id = w.Submit(kThreeResults);
    RunControl control;
    CHECK(runner.Run(id, control) == kCompleted);
    for (const char* key : {"a", "b", "c"}) CHECK(state.content().Find("out")->Find(key) != nullptr);
    // The refused shared PATCH's two tasks each read the document and wrote conditionally.
    auto patches = w.http.CallsTo("PATCH", "http://state:1/state/s1");
    REQUIRE(patches.size() >= 4);
    int conditional = 0;
    for (const auto& p : patches) {
      for (const auto& [k, v] : p.headers) conditional += k == "If-Match" ? 1 : 0;
    }
    CHECK(conditional >= 2);
    auto types = w.EventTypes(id);
    CHECK(std::count(types.begin(), types.end(), "state_written") == 3);
  }

  TEST_CASE("storeResultAt fast path: the results of a parallel step's calls that end together share one PATCH") {
    HeldWrites h(std::chrono::seconds(10));  // only the calls' ends release it
    CHECK(h.Run() == kCompleted);
    CHECK(h.took < std::chrono::seconds(5));
    auto patches = h.Patches();
    REQUIRE(patches.size() == 1);
    CHECK(J(patches[0].body).AsArray().size() == 3);
    for (const char* key : {"a", "b", "c"}) CHECK(h.state.content().Find("out")->Find(key) != nullptr);
    auto types = h.w.EventTypes(h.id);
    CHECK(std::count(types.begin(), types.end(), "state_written") == 3);
  }

  TEST_CASE("the tasks of a parallel step that end together are recorded in one write") {
    HeldWrites h(std::chrono::seconds(10));
    int64_t writes_before = h.w.store->GroupWrites();
    CHECK(h.Run() == kCompleted);
    // The job's start, its state document's record, the step's dispatch, the three outcomes.
    CHECK(h.w.store->GroupWrites() - writes_before == 4);
    auto tasks = h.w.Tasks(h.id);
    REQUIRE(tasks.size() == 3);
    std::vector<int64_t> seqs;
    for (const auto& t : tasks) {
      CHECK(t.status == kTaskSucceeded);
      REQUIRE(t.completion_seq.has_value());
      seqs.push_back(*t.completion_seq);
    }
    std::sort(seqs.begin(), seqs.end());
    CHECK(seqs == std::vector<int64_t>{1, 2, 3});
    // Each task's events, state_written then task_succeeded, before the job's end.
    auto types = h.w.EventTypes(h.id);
    CHECK(std::count(types.begin(), types.end(), "task_succeeded") == 3);
    CHECK(types.back() == "job_ended");
  }

  TEST_CASE("storeResultAt fast path: a slow call holds its step's other results no longer than the hold") {
    HeldWrites h(std::chrono::milliseconds(50));
    // c answers only once a PATCH has gone out: a and b's results must not wait for it.
    h.w.c.SetScript([&](const json::Value&, const std::string&) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (h.state.json_patches() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      return Status(200, J(R"({"result": "late"})"));
    });
    CHECK(h.Run() == kCompleted);
    auto patches = h.Patches();
    REQUIRE(patches.size() == 2);
    CHECK(J(patches[0].body).AsArray().size() == 2);
    CHECK(J(patches[1].body).AsArray().size() == 1);
    CHECK(json::Dump(*h.state.content().Find("out")->Find("c")) == R"("late")");
  }

  TEST_CASE("storeResultAt fast path: a call that fails does not hold its step's other results") {
    HeldWrites h(std::chrono::seconds(10));
    h.w.b.SetScript([&](const json::Value&, const std::string& path) {
      if (path.find("revert") != std::string::npos) return Status(200, J(R"({"status": "noop"})"));
      return Status(400, J(R"({"error": "no such person"})"));
    });
    CHECK(h.Run() == kFailed);
    CHECK(h.took < std::chrono::seconds(5));
    auto patches = h.Patches();
    REQUIRE(patches.size() == 1);
    CHECK(J(patches[0].body).AsArray().size() == 2);
    CHECK(h.state.content().Find("out")->Find("a") != nullptr);
    CHECK(h.state.content().Find("out")->Find("c") != nullptr);
    CHECK(h.state.content().Find("out")->Find("b") == nullptr);
  }

  TEST_CASE("a step's snapshot is the document from the previous write's reply: no GET between steps") {
    World w;
    FakeState state(w.http, "http://state:1/state/s1", J(R"({"message": "hi"})"));
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    w.a.SetScript([](const json::Value& body, const std::string&) {
      return Status(200, json::Object{{"result", *body.Find("text")}});
    });
    std::string id = w.Submit(R"({"sharedStateURL": "http://state:1/state/s1", "sharedState": {"out": {}},
      "steps": [ {"tasks": [ {"tag": "a", "input": {"text": "first"},
                              "storeResultAt": {"targetPath": "/out/one", "sourcePath": "/result"}} ]},
                 {"tasks": [ {"tag": "a", "input": {"text": {"$fromState": "/out/one"}},
                              "storeResultAt": {"targetPath": "/out/two", "sourcePath": "/result"}} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    // Step 1 starts from the seeding's reply, step 2 from step 1's PATCH reply.
    CHECK(w.http.CallsTo("GET", "http://state:1/state/s1").empty());
    CHECK(json::Dump(*state.content().Find("out")) == R"({"one":"first","two":"first"})");
  }

  TEST_CASE("a result written on the conditional path makes the next step read the document") {
    World w;
    FakeState state(w.http, "http://state:1/state/s1", J(R"({"message": "hi"})"));
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    auto echo = [](const json::Value& body, const std::string&) {
      const json::Value* text = body.Find("text");
      return Status(200, json::Object{{"result", text != nullptr ? *text : json::Value("missing")}});
    };
    w.a.SetScript(echo);
    // b answers only once a's result PATCH has gone out, so that its own write, on the conditional
    // path (/made needs creating), lands after it: that PATCH's reply does not hold it.
    w.b.SetScript([&](const json::Value& body, const std::string& endpoint) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (state.json_patches() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      return echo(body, endpoint);
    });
    std::string id = w.Submit(R"({"sharedStateURL": "http://state:1/state/s1", "sharedState": {"out": {}},
      "steps": [ {"tasks": [ {"tag": "a", "input": {"text": "first"},
                              "storeResultAt": {"targetPath": "/out/one", "sourcePath": "/result"}},
                             {"tag": "b", "input": {"text": "second"},
                              "storeResultAt": {"targetPath": "/made/two", "sourcePath": "/result"}} ]},
                 {"tasks": [ {"tag": "a", "input": {"text": {"$fromState": "/made/two"}},
                              "storeResultAt": {"targetPath": "/out/three", "sourcePath": "/result"}} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    CHECK(json::Dump(*state.content().Find("out")->Find("three")) == R"("second")");
    // One GET for b's conditional write, one for step 2's snapshot.
    CHECK(w.http.CallsTo("GET", "http://state:1/state/s1").size() == 2);
  }

  TEST_CASE("storeResultAt fast path: parents in the step's snapshot - unconditional PATCHes, no GET") {
    World w;
    FakeState state(w.http, "http://state:1/state/s1", J(R"({"out": {}})"));
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    std::string id = w.Submit(R"({"sharedStateURL": "http://state:1/state/s1",
      "steps": [ {"tasks": [ {"tag": "a", "storeResultAt": {"targetPath": "/out/a", "sourcePath": "/result"}},
                             {"tag": "b", "storeResultAt": {"targetPath": "/out/b", "sourcePath": "/result"}},
                             {"tag": "c", "storeResultAt": {"targetPath": "/top", "sourcePath": "/result"}} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    auto content = state.content();
    CHECK(content.Find("out")->Find("a") != nullptr);
    CHECK(content.Find("out")->Find("b") != nullptr);
    CHECK(content.Find("top") != nullptr);
    // One read for the step's snapshot, none per task; the three results in unconditional
    // PATCHes (one each, or shared by results that came while another was on its way).
    CHECK(w.http.CallsTo("GET", "http://state:1/state/s1").size() == 1);
    auto patches = w.http.CallsTo("PATCH", "http://state:1/state/s1");
    size_t ops = 0;
    for (const auto& p : patches) {
      ops += J(p.body).AsArray().size();
      for (const auto& [k, v] : p.headers) CHECK(k != "If-Match");
    }
    CHECK(ops == 3);
    auto types = w.EventTypes(id);
    CHECK(std::count(types.begin(), types.end(), "state_written") == 3);
  }

  TEST_CASE("storeResultAt fast path falls back to GET + If-Match when a parent vanished") {
    World w;
    FakeState state(w.http, "http://state:1/state/s1", J(R"({"out": {}, "keep": 1})"));
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    w.a.SetScript([&](const json::Value&, const std::string&) {
      state.SetContent(J(R"({"keep": 1})"));  // someone removes /out after the step's snapshot
      return Status(200, J(R"({"result": 7})"));
    });
    std::string id = w.Submit(R"({"sharedStateURL": "http://state:1/state/s1",
      "steps": [ {"tasks": [ {"tag": "a", "storeResultAt": {"targetPath": "/out/a", "sourcePath": "/result"}} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    CHECK(json::Dump(state.content()) == R"({"keep":1,"out":{"a":7}})");
    auto patches = w.http.CallsTo("PATCH", "http://state:1/state/s1");
    REQUIRE(patches.size() == 2);
    auto has_if_match = [](const http_client::Request& r) {
      for (const auto& [k, v] : r.headers) {
        if (k == "If-Match") return true;
      }
      return false;
    };
    CHECK_FALSE(has_if_match(patches[0]));  // the fast path, answered 400
    CHECK(has_if_match(patches[1]));        // the safe path, after a fresh read
    CHECK(w.http.CallsTo("GET", "http://state:1/state/s1").size() == 2);
  }

  TEST_CASE("storeResultAt that must create a parent keeps the conditional write") {
    World w;
    FakeState state(w.http, "http://state:1/state/s1");
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    std::string id = w.Submit(R"({"sharedStateURL": "http://state:1/state/s1",
      "steps": [ {"tasks": [ {"tag": "a", "storeResultAt": {"targetPath": "/new/a", "sourcePath": "/result"}},
                             {"tag": "b", "storeResultAt": {"targetPath": "/new/b", "sourcePath": "/result"}} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    json::Value content = state.content();
    const json::Value* created = content.Find("new");
    REQUIRE(created != nullptr);
    CHECK(created->Find("a") != nullptr);  // neither task's parent clobbered the other's member
    CHECK(created->Find("b") != nullptr);
    for (const auto& p : w.http.CallsTo("PATCH", "http://state:1/state/s1")) {
      bool conditional = false;
      for (const auto& [k, v] : p.headers) conditional = conditional || k == "If-Match";
      CHECK(conditional);
    }
  }

  TEST_CASE("a tag lookup makes its origins callable: dispatch fetches no whole registry") {
    World w;
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a"}, {"tag": "b"} ]}, {"tasks": [ {"tag": "a"} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    int full = 0;
    for (const auto& c : w.http.CallsTo("GET", std::string(kDiscovery) + "/find")) {
      if (c.url.find("tag=") == std::string::npos && c.url.find("name=") == std::string::npos) ++full;
    }
    CHECK(full == 0);
    CHECK(w.a.seen("execute").size() == 2);
  }

  TEST_CASE("registered origins expire: an unregistered service stops being callable") {
    FakeClock clock;
    FakeHttp http;
    FakeDiscovery disco(http);
    disco.Add({"a", "http://a:1", {"a"}});
    ServiceDirectory dir(kDiscovery, http, clock);
    auto full_fetches = [&] {
      int n = 0;
      for (const auto& c : http.CallsTo("GET", std::string(kDiscovery) + "/find")) {
        if (c.url.find('?') == std::string::npos) ++n;
      }
      return n;
    };
    TaskSpec t;
    t.tag = "a";
    REQUIRE(dir.Instances(t).ok());
    CHECK(dir.CheckAllowed("http://a:1/execute").ok());
    CHECK(full_fetches() == 0);
    disco.Remove("a");
    clock.Advance(std::chrono::seconds(31));
    auto denied = dir.CheckAllowed("http://a:1/execute");
    REQUIRE_FALSE(denied.ok());
    CHECK(denied.error().code == ErrorCode::kPermissionDenied);
    CHECK(full_fetches() == 1);
    // A second miss within the cache TTL does not fetch the registry again.
    CHECK_FALSE(dir.CheckAllowed("http://a:1/execute").ok());
    CHECK(full_fetches() == 1);
  }

  TEST_CASE("a sourcePath missing from the reply fails the task, which is reverted") {
    World w;
    FakeState state(w.http, "http://state:1/state/s1");
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    std::string id = w.Submit(R"({"sharedStateURL": "http://state:1/state/s1",
      "steps": [ {"tasks": [ {"tag": "a", "storeResultAt": {"targetPath": "/x", "sourcePath": "/nope"}} ]} ]})");
    CHECK(w.Run(id) == kFailed);
    CHECK(Str(w.Job(id).error, "error").find("sourcePath /nope not found in result") != std::string::npos);
    CHECK(w.a.seen("revert").size() == 1);
  }

  TEST_CASE("a job that uses state without a URL gets a document on shared-state") {
    World w;
    FakeState state(w.http, "http://state:1/state/job-created");
    w.disco.Add({"shared-state", "http://state:1", {"state"}});
    std::string created_url = "http://state:1/state/job-created";
    json::Value created_body;
    w.http.Route("POST", "http://state:1/state", [&](const http_client::Request& r) {
      created_body = *json::Parse(r.body);
      return Status(201, json::Object{{"stateURL", created_url}});
    });
    std::string id = w.Submit(R"({"sharedState": {"who": "me"},
      "steps": [ {"tasks": [ {"tag": "a", "input": {"v": {"$fromState": "/who", "default": "nobody"}}, "storeResultAt": "/r"} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    CHECK(Str(created_body, "id") == "job-" + id);
    CHECK(Str(created_body, "who") == "me");
    CHECK(w.Job(id).state_url == created_url);
    CHECK(state.content().Find("r") != nullptr);
  }

  TEST_CASE("a connection failure moves to the next instance - calls are spread round-robin") {
    World w;
    w.disco.Add({"a2", "http://a-dead:1", {"multi"}});
    w.disco.Add({"a3", "http://a:1", {"multi"}});
    w.http.Route("GET", "http://a-dead:1/forms", [&](const http_client::Request&) {
      return Status(200, J(R"([{"rel":"execute","href":"http://a-dead:1/execute"}])"));
    });
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "multi"}, {"tag": "multi"} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    // One of the two tasks was sent to the dead instance first and moved on.
    CHECK(w.a.seen().size() == 2);
    CHECK(w.http.CallsTo("POST", "http://a-dead:1/execute").size() == 1);
  }

  TEST_CASE("no service for a tag fails the task without a revert - an unknown mode skips it") {
    World w;
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"tag": "a", "mode": "frobnicate"}, {"tag": "nobody"} ]} ]})");
    CHECK(w.Run(id) == kFailed);
    auto tasks = w.Tasks(id);
    CHECK(tasks[0].status == kTaskSkipped);
    CHECK(tasks[1].status == kTaskFailed);
    CHECK(tasks[1].error == "No service found for tag nobody");
    CHECK(w.a.seen().empty());
  }

  TEST_CASE("only registered origins are called") {
    World w;
    std::string id = w.Submit(R"({"steps": [ {"tasks": [ {"url": "http://evil:1"} ]} ]})");
    CHECK(w.Run(id) == kFailed);
    CHECK(w.Tasks(id)[0].error.find("is not registered in discovery") != std::string::npos);
    CHECK(w.http.CallsTo("GET", "http://evil:1/forms").empty());
    // localhost is 127.0.0.1: a registered 127.0.0.1 service may be named as localhost.
    w.disco.Add({"local", "http://127.0.0.1:4600", {"local"}});
    FakeEngine local(w.http, "http://localhost:4600");
    // The whole registry is fetched at most once per cache TTL (2 s): the miss above just did.
    w.clock.Advance(std::chrono::milliseconds(2000));
    id = w.Submit(R"({"steps": [ {"tasks": [ {"url": "http://localhost:4600"} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
    CHECK(local.seen("execute").size() == 1);
  }

  TEST_CASE("a sharedStateURL whose origin is not registered fails the job before step 1") {
    World w;
    std::string id = w.Submit(R"({"sharedStateURL": "http://evil:1/state/x",
      "steps": [ {"tasks": [ {"tag": "a", "storeResultAt": "/r"} ]} ]})");
    CHECK(w.Run(id) == kFailed);
    CHECK(Str(w.Job(id).error, "error").find("sharedStateURL: the origin of http://evil:1/state/x") == 0);
    CHECK(w.a.seen().empty());
    // Named but never read or written: not called, not checked.
    id = w.Submit(R"({"sharedStateURL": "http://evil:1/state/x", "steps": [ {"tasks": [ {"tag": "a"} ]} ]})");
    CHECK(w.Run(id) == kCompleted);
  }

  TEST_CASE("the job deadline fails and reverts the job") {
    World w;
    w.a.SetScript([&](const json::Value&, const std::string& endpoint) {
      if (endpoint == "revert") return Status(200, json::Object{{"status", "noop"}});
      w.clock.Advance(std::chrono::seconds(2));
      return Status(503, json::Object{});
    });
    std::string id = w.Submit(R"({"timeoutMs": 1000, "steps": [ {"tasks": [ {"tag": "a"} ]}, {"tasks": [ {"tag": "b"} ]} ]})");
    CHECK(w.Run(id) == kFailed);
    CHECK(w.a.seen("execute").size() == 1);
    CHECK(w.a.seen("repeat").empty());
    CHECK(w.a.seen("revert").size() == 1);
    CHECK(w.b.seen().empty());
    CHECK(Str(w.Job(id).error, "error").find("job deadline of 1000ms exceeded") != std::string::npos);
  }

  TEST_CASE("sequential steps stop at the first failure") {
    World w;
    w.b.SetScript([&](const json::Value&, const std::string& endpoint) {
      if (endpoint == "revert") return Status(200, json::Object{{"status", "noop"}});
      return Status(422, json::Object{{"error", "no"}});
    });
    std::string id = w.Submit(R"({"steps": [ {"mode": "sequential", "tasks": [ {"tag": "a"}, {"tag": "b"}, {"tag": "c"} ]} ]})");
    CHECK(w.Run(id) == kFailed);
    CHECK(w.c.seen().empty());
    CHECK(w.Tasks(id)[2].status == kTaskPending);
  }

  TEST_CASE("backoff grows, is capped, and is jittered into [50%, 100%]") {
    RetryPolicy p{5, std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 2.0};
    CHECK(BackoffDelay(p, 1, 1.0).count() == 100);
    CHECK(BackoffDelay(p, 2, 1.0).count() == 200);
    CHECK(BackoffDelay(p, 3, 0.0).count() == 200);
    CHECK(BackoffDelay(p, 10, 1.0).count() == 1000);
  }
}

}  // namespace
}  // namespace csp::job_control
