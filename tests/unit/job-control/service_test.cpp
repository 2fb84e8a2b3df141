#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>

#include "csp/http/router.h"
#include "csp/json/json.h"
#include "fakes.h"
#include "job_service.h"
#include "routes.h"

namespace csp::job_control {
namespace {

using testing::FakeClock;
using testing::FakeDiscovery;
using testing::FakeEngine;
using testing::FakeHttp;
using testing::JsonReply;
using testing::kDiscovery;

// The whole domain with routes, over the fake world; Start() is up to each test.
struct Service {
  FakeClock clock;
  FakeHttp http;
  FakeDiscovery disco{http};
  FakeEngine a{http, "http://a:1"};
  std::unique_ptr<Store> store = std::move(*Store::Open(":memory:"));
  EventLog events{*store, clock};
  ServiceDirectory directory{kDiscovery, http, clock};
  TaskPool pool{4};
  JobRunner runner{*store, events, directory, http, clock, pool, Options()};
  JobService service{*store, events, runner, clock, ServiceOptions{2, 3, std::chrono::hours(1), std::chrono::hours(1)}};
  http::Router router;

  static RunnerOptions Options() {
    RunnerOptions o;
    o.retry = RetryPolicy{2, std::chrono::milliseconds(1), std::chrono::milliseconds(1), 1.0};
    o.revert_retry = o.retry;
    return o;
  }
  Service() {
    disco.Add({"a", "http://a:1", {"a"}});
    AddRoutes(router, RouteContext{service, *store, events, Limits{}, "1.2.3"});
  }
  ~Service() {
    service.Stop(std::chrono::seconds(5));
    events.Shutdown();
  }

  http::Response Call(http::Method method, std::string path, std::string body = "",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request req;
    req.method = method;
    size_t q = path.find('?');
    if (q != std::string::npos) {
      req.query_string = path.substr(q + 1);
      req.query = http::ParseQuery(req.query_string);
      path = path.substr(0, q);
    }
    req.path = path;
    req.body = std::move(body);
    req.headers.Set("Host", "jc:4700");
    for (auto& [k, v] : headers) req.headers.Set(k, v);
    return router.Dispatch(std::move(req));
  }
  json::Value Body(const http::Response& r) {
    auto v = json::Parse(r.body);
    REQUIRE_MESSAGE(v.ok(), r.body);
    return *v;
  }
};

std::string Str(const json::Value& v, std::string_view key) {
  const json::Value* m = v.Find(key);
  return m != nullptr && m->IsString() ? m->AsString() : std::string();
}

constexpr const char* kJob = R"({"name": "demo", "steps": [ {"tasks": [ {"tag": "a"} ]} ]})";

TEST_SUITE("service") {
  TEST_CASE("POST /jobs accepts at once - the job runs to completion") {
    Service s;
    REQUIRE(s.service.Start().ok());
    auto r = s.Call(http::Method::kPost, "/jobs", kJob);
    REQUIRE(r.status == 202);
    json::Value body = s.Body(r);
    std::string id = Str(body, "jobId");
    CHECK(Str(body, "status") == "queued");
    CHECK(Str(body, "href") == "http://jc:4700/jobs/" + id);
    CHECK(*r.Header("Location") == "/jobs/" + id);
    // Wait for the end through the event log, as job-runner does.
    auto events = s.Call(http::Method::kGet, "/jobs/" + id + "/events?after=0&wait=10s");
    CHECK(events.status == 200);
    for (int i = 0; i < 500 && s.store->GetJob(id)->status != kCompleted; ++i) {
      s.Call(http::Method::kGet, "/jobs/" + id + "/events?after=100&wait=50ms");
    }
    auto job = s.Call(http::Method::kGet, "/jobs/" + id);
    REQUIRE(job.status == 200);
    json::Value detail = s.Body(job);
    CHECK(Str(detail, "status") == "completed");
    CHECK(Str(detail, "rel") == "jobs");
    CHECK(detail.Find("steps")->AsInt() == 1);
    const json::Value& task = detail.Find("stepDetails")->AsArray()[0].Find("tasks")->AsArray()[0];
    CHECK(Str(task, "status") == "succeeded");
    CHECK(Str(task, "service") == "http://a:1");
    CHECK(Str(task, "requestId").size() == 36);
  }

  TEST_CASE("every accepted job runs: one after another, no wake-up is lost") {
    Service s;
    REQUIRE(s.service.Start().ok());
    ParsedJob parsed = ParseJob(*json::Parse(kJob));
    REQUIRE(parsed.ok());
    for (int i = 0; i < 30; ++i) {
      std::mutex mu;
      std::condition_variable cv;
      std::string status;
      auto submitted = s.service.Submit(*json::Parse(kJob), *parsed.job, "", [&](const JobOutcome& o) {
        std::lock_guard<std::mutex> lock(mu);
        status = o.status;
        cv.notify_all();
      });
      REQUIRE(submitted.ok());
      std::unique_lock<std::mutex> lock(mu);
      REQUIRE_MESSAGE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return !status.empty(); }), "job " << i);
      CHECK(status == kCompleted);
    }
  }

  TEST_CASE("POST /run-job answers when the job ends: 200 completed, 500 with the original's error shape") {
    Service s;
    REQUIRE(s.service.Start().ok());
    auto ok = s.Call(http::Method::kPost, "/run-job", kJob);
    CHECK(ok.status == 200);
    CHECK(Str(s.Body(ok), "status") == "completed");
    s.a.SetScript([](const json::Value&, const std::string& ep) {
      if (ep == "revert") return Result<http_client::Response>(JsonReply(200, json::Object{{"status", "noop"}}));
      return Result<http_client::Response>(JsonReply(400, json::Object{{"error", "Input must be a string"}}));
    });
    auto failed = s.Call(http::Method::kPost, "/run-job", kJob);
    CHECK(failed.status == 500);
    json::Value body = s.Body(failed);
    CHECK(Str(body, "jobId").size() == 36);
    const json::Value* error = body.Find("error");
    REQUIRE(error != nullptr);
    CHECK(Str(*error, "status") == "error");
    CHECK(Str(*error, "task") == "a");
    CHECK(Str(*error, "error") == "Request failed with status code 400: Input must be a string");
    auto listed = s.Body(s.Call(http::Method::kGet, "/jobs?status=failed"));
    REQUIRE(listed.AsArray().size() == 1);
    CHECK(Str(listed.AsArray()[0], "error") == "Request failed with status code 400: Input must be a string");
    CHECK(Str(listed.AsArray()[0], "rel") == "job");
  }

  TEST_CASE("validation errors list every problem - nothing is started") {
    Service s;
    auto r = s.Call(http::Method::kPost, "/jobs", R"({"steps": [ {"tasks": [ {"tag": 1}, {} ]} ]})");
    CHECK(r.status == 400);
    json::Value body = s.Body(r);
    CHECK(Str(body, "code") == "invalid_argument");
    REQUIRE(body.Find("problems")->AsArray().size() == 2);
    CHECK(body.Find("problems")->AsArray()[0].AsString() == "steps[0].tasks[0].tag: expected a string, got number");
    CHECK(s.store->ListJobs({})->empty());
    auto bad_json = s.Call(http::Method::kPost, "/run-job", "{nope");
    CHECK(bad_json.status == 400);
    CHECK(Str(s.Body(bad_json), "code") == "invalid_json");
  }

  TEST_CASE("an Idempotency-Key returns the first job") {
    Service s;
    auto first = s.Call(http::Method::kPost, "/jobs", kJob, {{"Idempotency-Key", "k1"}});
    auto second = s.Call(http::Method::kPost, "/jobs", kJob, {{"Idempotency-Key", "k1"}});
    CHECK(first.status == 202);
    CHECK(second.status == 200);
    CHECK(Str(s.Body(first), "jobId") == Str(s.Body(second), "jobId"));
    CHECK(s.store->ListJobs({})->size() == 1);
  }

  TEST_CASE("a full queue answers 503 overloaded with Retry-After") {
    Service s;  // not started: nothing leaves the queue (size 3)
    for (int i = 0; i < 3; ++i) CHECK(s.Call(http::Method::kPost, "/jobs", kJob).status == 202);
    auto r = s.Call(http::Method::kPost, "/jobs", kJob);
    CHECK(r.status == 503);
    CHECK(Str(s.Body(r), "code") == "overloaded");
    CHECK(*r.Header("Retry-After") == "1");
  }

  TEST_CASE("cancel a queued job - delete only ended jobs - 404 shape") {
    Service s;
    std::string id = Str(s.Body(s.Call(http::Method::kPost, "/jobs", kJob)), "jobId");
    auto del = s.Call(http::Method::kDelete, "/jobs/" + id);
    CHECK(del.status == 409);
    auto cancel = s.Call(http::Method::kPost, "/jobs/" + id + "/cancel");
    CHECK(cancel.status == 200);
    CHECK(Str(s.Body(cancel), "status") == "cancelled");
    CHECK(s.Call(http::Method::kPost, "/jobs/" + id + "/cancel").status == 409);
    CHECK(s.Call(http::Method::kDelete, "/jobs/" + id).status == 204);
    auto missing = s.Call(http::Method::kGet, "/jobs/" + id);
    CHECK(missing.status == 404);
    CHECK(Str(s.Body(missing), "error") == "Job not found");
    CHECK(Str(s.Body(missing), "code") == "not_found");
    CHECK(s.Call(http::Method::kGet, "/jobs/nope/events").status == 404);
  }

  TEST_CASE("cancel a running job: it stops, reverts, and ends cancelled") {
    Service s;
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false, release = false;
    s.a.SetScript([&](const json::Value&, const std::string& ep) {
      if (ep == "revert") return Result<http_client::Response>(JsonReply(200, json::Object{{"status", "reverted"}}));
      std::unique_lock<std::mutex> lock(mu);
      entered = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
      return Result<http_client::Response>(JsonReply(200, json::Object{}));
    });
    REQUIRE(s.service.Start().ok());
    std::string id = Str(s.Body(s.Call(http::Method::kPost, "/jobs",
                                       R"({"steps": [ {"tasks": [ {"tag": "a"} ]}, {"tasks": [ {"tag": "a"} ]} ]})")),
                         "jobId");
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return entered; });
    }
    auto cancel = s.Call(http::Method::kPost, "/jobs/" + id + "/cancel");
    CHECK(cancel.status == 202);
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
      cv.notify_all();
    }
    std::string status;
    for (int i = 0; i < 1000; ++i) {
      status = s.store->GetJob(id)->status;
      if (IsTerminalStatus(status)) break;
      s.Call(http::Method::kGet, "/jobs/" + id + "/events?after=1000&wait=20ms");
    }
    CHECK(status == kCancelled);
    CHECK(s.a.seen("execute").size() == 1);
    CHECK(s.a.seen("revert").size() == 1);
  }

  TEST_CASE("start-up picks up unfinished jobs") {
    Service s;
    std::string id = Str(s.Body(s.Call(http::Method::kPost, "/jobs", kJob)), "jobId");
    REQUIRE(s.store->MarkRunning(id, 1, INT64_MAX / 2).ok());
    // A service started on this store resumes it (the queue entry above is also there; running it
    // twice is harmless: the second run finds it ended).
    REQUIRE(s.service.Start().ok());
    for (int i = 0; i < 1000 && s.store->GetJob(id)->status != kCompleted; ++i) {
      s.Call(http::Method::kGet, "/jobs/" + id + "/events?after=1000&wait=20ms");
    }
    CHECK(s.store->GetJob(id)->status == kCompleted);
    CHECK(s.a.seen("execute").size() == 1);
  }

  TEST_CASE("events: ?after filters, wait=0 answers at once, a parked wait is answered on shutdown") {
    Service s;
    std::string id = Str(s.Body(s.Call(http::Method::kPost, "/jobs", kJob)), "jobId");
    auto all = s.Body(s.Call(http::Method::kGet, "/jobs/" + id + "/events"));
    REQUIRE(all.AsArray().size() == 1);
    CHECK(Str(all.AsArray()[0], "type") == "job_accepted");
    CHECK(all.AsArray()[0].Find("seq")->AsInt() == 1);
    CHECK(s.Body(s.Call(http::Method::kGet, "/jobs/" + id + "/events?after=1")).AsArray().empty());
    CHECK(s.Call(http::Method::kGet, "/jobs/" + id + "/events?after=x").status == 400);
    CHECK(s.Call(http::Method::kGet, "/jobs/" + id + "/events?wait=soon").status == 400);
    std::vector<EventRow> got;
    bool answered = false;
    s.events.Watch(id, 1, std::chrono::minutes(1), [&](std::vector<EventRow> e) {
      got = std::move(e);
      answered = true;
    });
    CHECK(s.events.parked() == 1);
    s.events.Append(id, "note", {{"x", 1}});
    CHECK(answered);
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == "note");
    answered = false;
    s.events.Watch(id, 2, std::chrono::minutes(1), [&](std::vector<EventRow>) { answered = true; });
    s.events.Shutdown();
    CHECK(answered);
  }

  TEST_CASE("events: a wait that finds the job ended gets job_ended, even if the end came after its first look") {
    Service s;
    std::string id = Str(s.Body(s.Call(http::Method::kPost, "/jobs", kJob)), "jobId");
    // The job ends right after the watcher has found no event after seq 1 (job_accepted).
    s.events.set_between_looks([&] { REQUIRE(s.store->FinishJob(id, kCancelled, 2, json::Value()).ok()); });
    std::vector<EventRow> got;
    bool answered = false;
    s.events.Watch(id, 1, std::chrono::minutes(1), [&](std::vector<EventRow> e) {
      got = std::move(e);
      answered = true;
    });
    CHECK(answered);
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == "job_ended");
  }

  TEST_CASE("GET /filter, GET /forms, GET /") {
    Service s;
    s.Call(http::Method::kPost, "/jobs", kJob);
    s.Call(http::Method::kPost, "/jobs", R"({"name": "other", "steps": []})");
    auto filtered = s.Body(s.Call(http::Method::kGet, "/filter?name=dem&status=queue"));
    REQUIRE(filtered.AsArray().size() == 1);
    CHECK(Str(filtered.AsArray()[0], "name") == "demo");
    CHECK(s.Body(s.Call(http::Method::kGet, "/filter?completedAt=20")).AsArray().empty());
    auto forms = s.Body(s.Call(http::Method::kGet, "/forms"));
    std::vector<std::string> rels;
    for (auto& f : forms.AsArray()) rels.push_back(Str(f, "rel"));
    for (const char* rel : {"run-job", "list-jobs", "get-job", "filter-jobs", "submit-job", "cancel-job", "job-events"}) {
      CHECK(std::find(rels.begin(), rels.end(), rel) != rels.end());
    }
    CHECK(Str(forms.AsArray()[0], "href") == "http://jc:4700/run-job");
    auto root = s.Body(s.Call(http::Method::kGet, "/"));
    CHECK(Str(root, "name") == "job-control");
    CHECK(Str(root, "version") == "1.2.3");
    CHECK(s.Call(http::Method::kGet, "/jobs?limit=-1").status == 400);
    CHECK(s.Body(s.Call(http::Method::kGet, "/jobs?limit=1")).AsArray().size() == 1);
  }
}

}  // namespace
}  // namespace csp::job_control
