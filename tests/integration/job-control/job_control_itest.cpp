// job-control with the real discovery, shared-state and engines, driven over HTTP.

#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <set>
#include <thread>

#include "platform.h"

namespace csp::job_control::itest {
namespace {

// A platform with discovery, shared-state, the person/todo/order engines and job-control.
struct Full : Platform {
  explicit Full(std::vector<std::string> jc_args = {"--task-timeout", "5s"}) {
    StartDiscovery();
    StartSharedState();
    StartEngine("person");
    StartEngine("todo");
    StartEngine("order");
    StartJobControl(std::move(jc_args));
  }
};

std::vector<std::string> EventTypes(const std::vector<Value>& events) {
  std::vector<std::string> out;
  for (auto& e : events) out.push_back(Str(e, "type"));
  return out;
}

TEST_SUITE("job_control_itest") {
  TEST_CASE("the original's job shapes: sequential steps, parallel tasks, disabled parts, $fromState, storeResultAt") {
    Full p;
    // A state document of our own, named by sharedStateURL, seeded inline by sharedState.
    auto created = p.Post(p.state_url() + "/state", J(R"({"id": "shapes", "message": "hello"})"));
    REQUIRE_MESSAGE(created.status == 201, created.text);
    std::string state_url = Str(created.body, "stateURL");
    Value job = J(R"({
      "name": "shapes",
      "sharedStateURL": ")" + state_url + R"(",
      "sharedState": {"user": {"role": "editor", "zero": 0, "off": false, "nothing": null}},
      "steps": [
        {"name": "create", "tasks": [
          {"tag": "person", "input": {"command": "create", "resource": "person", "id": "shape-p1",
             "payload": {"email": "ann@example.org", "givenName": {"$fromState": "/message"},
                         "familyName": {"$fromState": "/missing", "default": "Default"}}},
           "storeResultAt": "/person"},
          {"tag": "todo", "input": {"command": "create", "resource": "todo", "id": "shape-t1",
             "payload": {"title": {"$fromState": "/user/role"}, "notes": {"$fromState": "/absent"}}},
           "storeResultAt": {"targetPath": "/todo/created", "sourcePath": "/result"}}]},
        {"name": "disabled step", "enabled": false, "tasks": [
          {"tag": "person", "input": {"command": "delete", "resource": "person", "id": "shape-p1"}}]},
        {"name": "read back", "mode": "sequential", "tasks": [
          {"tag": "person", "enabled": false, "input": {"command": "delete", "resource": "person", "id": "shape-p1"}},
          {"serviceName": "person", "input": {"command": "read", "resource": "person", "id": {"$fromState": "/person/result/id"}},
           "storeResultAt": [ {"targetPath": "/read/person", "sourcePath": "result"},
                              {"targetPath": "/read/only201", "onlyOnStatus": [201]},
                              {"targetPath": "/read/email", "sourcePath": "/result/email", "onlyOnStatus": [200]} ]},
          {"tag": "todo", "input": {"command": "status", "resource": "todo", "id": "shape-t1",
             "payload": {"status": {"$fromState": "/todoStatus", "default": "done"}}}}]}
      ]})");
    auto r = p.Post(p.jc() + "/run-job", job);
    REQUIRE_MESSAGE(r.status == 200, r.text);
    CHECK(Str(r.body, "status") == "completed");
    std::string id = Str(r.body, "jobId");

    Value person = p.Read("person", "person", "shape-p1");
    REQUIRE(person.IsObject());
    CHECK(Str(person, "givenName") == "hello");
    CHECK(Str(person, "familyName") == "Default");
    Value todo = p.Read("todo", "todo", "shape-t1");
    REQUIRE(todo.IsObject());
    CHECK(Str(todo, "title") == "editor");
    CHECK(todo.Find("notes") == nullptr);  // the key was left out
    CHECK(Str(todo, "status") == "done");  // the default of a reference that found nothing

    Value state = p.Get(state_url).body;
    CHECK(Str(state, "message") == "hello");
    CHECK(Str(*state.Find("user"), "role") == "editor");
    CHECK(state.Find("person")->Find("statusCode")->AsInt() == 201);  // the whole reply
    CHECK(Str(*state.Find("person")->Find("result"), "id") == "shape-p1");
    CHECK(Str(*state.Find("todo")->Find("created"), "title") == "editor");
    CHECK(Str(*state.Find("read")->Find("person"), "email") == "ann@example.org");
    CHECK(state.Find("read")->Find("only201") == nullptr);
    CHECK(Str(*state.Find("read"), "email") == "ann@example.org");

    Value record = p.Job(id);
    CHECK(Str(record, "status") == "completed");
    CHECK(Str(record, "stateURL") == state_url);
    const auto& steps = record.Find("stepDetails")->AsArray();
    REQUIRE(steps.size() == 3);
    CHECK(Str(steps[1], "status") == "skipped");
    CHECK(Str(steps[2].Find("tasks")->AsArray()[0], "status") == "skipped");
    CHECK(Str(steps[2].Find("tasks")->AsArray()[1], "status") == "succeeded");
    auto list = p.Get(p.jc() + "/jobs").body.AsArray();
    REQUIRE(list.size() == 1);
    CHECK(list[0].Find("steps")->AsInt() == 3);
    CHECK(Str(list[0], "rel") == "job");
  }

  TEST_CASE("a job using state without a URL gets its own document, seeded with sharedState") {
    Full p;
    Value job = J(R"({"sharedState": {"who": "Zoe"}, "steps": [ {"tasks": [
      {"tag": "person", "input": {"command": "create", "resource": "person", "id": "inline-1",
        "payload": {"email": "z@example.org", "givenName": {"$fromState": "/who"}}}, "storeResultAt": "/created"} ]} ]})");
    auto r = p.Post(p.jc() + "/run-job", job);
    REQUIRE_MESSAGE(r.status == 200, r.text);
    Value record = p.Job(Str(r.body, "jobId"));
    std::string state_url = Str(record, "stateURL");
    REQUIRE(!state_url.empty());
    Value state = p.Get(state_url).body;
    CHECK(Str(state, "who") == "Zoe");
    CHECK(Str(*state.Find("created")->Find("result"), "givenName") == "Zoe");
  }

  TEST_CASE("a failure in step 3 reverts steps 3, 2, 1 in exact reverse order, as the engines show") {
    Full p;
    Value job = J(R"({"name": "saga", "steps": [
      {"tasks": [
        {"tag": "person", "input": {"command": "create", "resource": "person", "id": "saga-p", "payload": {"email": "s@example.org"}}},
        {"tag": "order", "input": {"command": "create", "resource": "order", "id": "saga-o", "payload": {"personId": "saga-p", "item": "book"}}}]},
      {"tasks": [
        {"tag": "person", "input": {"command": "update", "resource": "person", "id": "saga-p", "payload": {"givenName": "Changed"}}},
        {"tag": "order", "input": {"command": "status", "resource": "order", "id": "saga-o", "payload": {"status": "confirmed"}}}]},
      {"tasks": [
        {"tag": "todo", "input": {"command": "create", "resource": "todo", "id": "saga-t", "payload": {"title": "ship"}}},
        {"tag": "person", "input": {"command": "create", "resource": "person", "id": "saga-bad", "payload": {}}}]},
      {"tasks": [ {"tag": "todo", "input": {"command": "create", "resource": "todo", "id": "never", "payload": {"title": "x"}}} ]}
    ]})");
    auto r = p.Post(p.jc() + "/run-job", job);
    REQUIRE_MESSAGE(r.status == 500, r.text);
    const Value* error = r.body.Find("error");
    REQUIRE(error != nullptr);
    CHECK(Str(*error, "status") == "error");
    CHECK(Str(*error, "task") == "person");
    CHECK(Str(*error, "error") == "Request failed with status code 400: Missing required input: email");
    std::string id = Str(r.body, "jobId");

    // The engines: every effect is undone. The update and status were reverted before the creates
    // (otherwise restoring them would have brought the records back), and step 4 never ran.
    CHECK(p.Read("person", "person", "saga-p").IsNull());
    CHECK(p.Read("order", "order", "saga-o").IsNull());
    CHECK(p.Read("todo", "todo", "saga-t").IsNull());
    CHECK(p.Read("todo", "todo", "never").IsNull());
    CHECK(p.Records("person", "person").empty());
    CHECK(p.Records("order", "order").empty());
    CHECK(p.Records("todo", "todo").empty());

    // The order, as recorded: (step, task) of each revert, latest first.
    std::vector<std::pair<int64_t, int64_t>> order;
    for (auto& e : p.Events(id)) {
      if (Str(e, "type") == "revert_succeeded") order.emplace_back(e.Find("step")->AsInt(), e.Find("task")->AsInt());
    }
    std::vector<std::pair<int64_t, int64_t>> expected = {{2, 1}, {2, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}};
    CHECK(order == expected);
    Value record = p.Job(id);
    CHECK(Str(record, "status") == "failed");
    CHECK(Str(record, "failedTask") == "person");
    CHECK(record.Find("reverts")->AsArray().size() == 6);
  }

  TEST_CASE("a service that hangs: the attempt times out, is retried, then the job fails and reverts") {
    Platform p;
    p.StartDiscovery();
    // Declared before the service, which uses them until it is destroyed.
    std::mutex mu;
    std::vector<http::Reply> parked;
    std::atomic<int> executes{0}, repeats{0}, reverts{0};
    TestService hang;
    hang.router().Get("/forms", FormsFor);
    auto park = [&](http::Request, http::Reply reply) {
      std::lock_guard<std::mutex> lock(mu);
      parked.push_back(std::move(reply));
    };
    hang.router().AddAsync(http::Method::kPost, "/execute", [&, park](http::Request r, http::Reply reply) {
      ++executes;
      park(std::move(r), std::move(reply));
    });
    hang.router().AddAsync(http::Method::kPost, "/repeat", [&, park](http::Request r, http::Reply reply) {
      ++repeats;
      park(std::move(r), std::move(reply));
    });
    hang.router().Post("/revert", [&](const http::Request&) {
      ++reverts;
      return http::Response::Json(200, json::Object{{"status", "noop"}});
    });
    hang.OnStop([&] {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& reply : parked) reply(http::Response::Json(200, json::Object{}));
      parked.clear();
    });
    hang.Start();
    p.Register("hang", hang.url(), {"hang"});
    p.StartJobControl({"--task-timeout", "300ms"});
    auto start = std::chrono::steady_clock::now();
    auto r = p.Post(p.jc() + "/run-job",
                    J(R"({"steps": [ {"tasks": [ {"tag": "hang", "retry": {"maxAttempts": 2, "initialDelayMs": 10}} ]} ]})"));
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_MESSAGE(r.status == 500, r.text);
    CHECK(Str(*r.body.Find("error"), "error").find("timed out") != std::string::npos);
    CHECK(executes == 1);
    CHECK(repeats == 1);
    CHECK(reverts == 1);  // its outcome is unknown, so it is reverted
    CHECK(took < 10s);
  }

  TEST_CASE("a service that fails twice then succeeds: retries go to /repeat with the same requestId") {
    Platform p;
    p.StartDiscovery();
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> calls;  // (endpoint, requestId)
    TestService flaky;
    flaky.router().Get("/forms", FormsFor);
    auto handler = [&](const std::string& endpoint) {
      return [&, endpoint](const http::Request& req) {
        auto body = req.JsonBody();
        std::lock_guard<std::mutex> lock(mu);
        calls.emplace_back(endpoint, body ? Str(*body, "requestId") : "");
        if (calls.size() <= 2) return http::Response::Json(503, json::Object{{"error", "try later"}});
        return http::Response::Json(200, json::Object{{"result", "done"}});
      };
    };
    flaky.router().Post("/execute", handler("execute"));
    flaky.router().Post("/repeat", handler("repeat"));
    flaky.router().Post("/revert", [](const http::Request&) { return http::Response::Json(200, json::Object{}); });
    flaky.Start();
    p.Register("flaky", flaky.url(), {"flaky"});
    p.StartJobControl();
    auto r = p.Post(p.jc() + "/run-job",
                    J(R"({"steps": [ {"tasks": [ {"tag": "flaky", "retry": {"maxAttempts": 3, "initialDelayMs": 10}} ]} ]})"));
    REQUIRE_MESSAGE(r.status == 200, r.text);
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].first == "execute");
    CHECK(calls[1].first == "repeat");
    CHECK(calls[2].first == "repeat");
    CHECK(calls[0].second.size() == 36);
    CHECK(calls[1].second == calls[0].second);
    CHECK(calls[2].second == calls[0].second);
    Value job = p.Job(Str(r.body, "jobId"));
    const Value& task = job.Find("stepDetails")->AsArray()[0].Find("tasks")->AsArray()[0];
    CHECK(task.Find("attempts")->AsInt() == 3);
  }

  TEST_CASE("cancel: a running job stops dispatching, reverts what ran, ends cancelled") {
    Full p;
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false, release = false;
    TestService slow;
    slow.router().Get("/forms", FormsFor);
    slow.router().Post("/execute", [&](const http::Request&) {
      std::unique_lock<std::mutex> lock(mu);
      entered = true;
      cv.notify_all();
      cv.wait_for(lock, 20s, [&] { return release; });
      return http::Response::Json(200, json::Object{{"result", "slow"}});
    });
    slow.router().Post("/revert", [](const http::Request&) { return http::Response::Json(200, json::Object{{"status", "noop"}}); });
    slow.OnStop([&] {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
      cv.notify_all();
    });
    slow.Start();
    p.Register("slow", slow.url(), {"slow"});
    std::string id = p.Submit(J(R"({"steps": [
      {"tasks": [ {"tag": "person", "input": {"command": "create", "resource": "person", "id": "cancel-p", "payload": {"email": "c@example.org"}}},
                  {"tag": "slow"} ]},
      {"tasks": [ {"tag": "todo", "input": {"command": "create", "resource": "todo", "id": "cancel-t", "payload": {"title": "no"}}} ]} ]})"));
    {
      std::unique_lock<std::mutex> lock(mu);
      REQUIRE(cv.wait_for(lock, 20s, [&] { return entered; }));
    }
    auto cancel = p.Post(p.jc() + "/jobs/" + id + "/cancel", Value());
    CHECK(cancel.status == 202);
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
      cv.notify_all();
    }
    Value record = p.WaitForEnd(id);
    CHECK(Str(record, "status") == "cancelled");
    CHECK(p.Read("person", "person", "cancel-p").IsNull());
    CHECK(p.Read("todo", "todo", "cancel-t").IsNull());
    CHECK(p.Post(p.jc() + "/jobs/" + id + "/cancel", Value()).status == 409);
    CHECK(p.Send("DELETE", p.jc() + "/jobs/" + id).status == 204);
    CHECK(p.Get(p.jc() + "/jobs/" + id).status == 404);
  }

  TEST_CASE("idempotent submission: the same Idempotency-Key gives the first job, and one effect") {
    Full p;
    Value job = J(R"({"steps": [ {"tasks": [ {"tag": "person", "input": {"command": "create", "resource": "person",
      "payload": {"email": "idem@example.org"}}} ]} ]})");
    auto first = p.Post(p.jc() + "/jobs", job, {{"Idempotency-Key", "submit-1"}});
    auto second = p.Post(p.jc() + "/jobs", job, {{"Idempotency-Key", "submit-1"}});
    REQUIRE(first.status == 202);
    REQUIRE(second.status == 200);
    CHECK(Str(first.body, "jobId") == Str(second.body, "jobId"));
    CHECK(first.raw.Header("Location").has_value());
    p.WaitForEnd(Str(first.body, "jobId"));
    auto sync = p.Post(p.jc() + "/run-job", job, {{"Idempotency-Key", "submit-1"}});
    CHECK(sync.status == 200);
    CHECK(Str(sync.body, "jobId") == Str(first.body, "jobId"));
    CHECK(p.Records("person", "person").size() == 1);
    CHECK(p.Get(p.jc() + "/jobs").body.AsArray().size() == 1);
  }

  TEST_CASE("bad flags exit 2 with one line naming the flag") {
    for (std::vector<std::string> flags :
         {std::vector<std::string>{"--state-write-hold", "2s"}, std::vector<std::string>{"--state-write-hold", "soon"},
          std::vector<std::string>{"--workers", "0"}}) {
      std::vector<std::string> argv = {Binary("job-control"), "--port", "0", "--data-dir", ":memory:"};
      argv.insert(argv.end(), flags.begin(), flags.end());
      auto bad = test::RunCommand(argv);
      INFO(flags[0] << " " << flags[1] << ": " << bad.err);
      CHECK(bad.exit_code == 2);
      CHECK(bad.err.find(flags[0]) != std::string::npos);
    }
  }

  TEST_CASE("validation, 404s, forms, events and metrics over HTTP") {
    Platform p;
    p.StartDiscovery();
    p.StartJobControl();
    auto bad = p.Post(p.jc() + "/jobs", J(R"({"steps": [ {"tasks": [ {"tag": 5} ]} ], "timeoutMs": "x"})"));
    CHECK(bad.status == 400);
    CHECK(Str(bad.body, "code") == "invalid_argument");
    CHECK(bad.body.Find("problems")->AsArray().size() == 2);
    auto not_json = p.Send("POST", p.jc() + "/run-job", "{");
    CHECK(not_json.status == 400);
    CHECK(Str(not_json.body, "code") == "invalid_json");
    auto missing = p.Get(p.jc() + "/jobs/00000000-0000-4000-8000-000000000000");
    CHECK(missing.status == 404);
    CHECK(Str(missing.body, "error") == "Job not found");
    auto forms = p.Get(p.jc() + "/forms");
    CHECK(forms.status == 200);
    CHECK(forms.body.AsArray().size() >= 7);
    CHECK(Str(p.Get(p.jc() + "/").body, "name") == "job-control");
    // An unregistered tag: the job fails (nothing to revert) and says why.
    std::string id = p.Submit(J(R"({"steps": [ {"tasks": [ {"tag": "nobody"} ]} ]})"));
    Value record = p.WaitForEnd(id);
    CHECK(Str(record, "status") == "failed");
    CHECK(Str(record, "error") == "No service found for tag nobody");
    auto types = EventTypes(p.Events(id));
    CHECK(types.front() == "job_accepted");
    CHECK(types.back() == "job_ended");
    auto metrics = p.Get(p.jc() + "/metrics");
    CHECK(metrics.text.find("job_control_jobs{status=\"failed\"} 1") != std::string::npos);
    CHECK(p.WaitRegistered("job-control"));
    // SIGTERM: a clean exit.
    CHECK(p.job_control().Terminate(10s) == 0);
  }
}

}  // namespace
}  // namespace csp::job_control::itest
