#include <doctest/doctest.h>

#include "csp/json/json.h"
#include "csp/sqlite/database.h"
#include "csp/sqlite/migrate.h"
#include "csp/test_support/process.h"
#include "store.h"

namespace csp::job_control {
namespace {

std::unique_ptr<Store> OpenStore() {
  auto s = Store::Open(":memory:");
  REQUIRE(s.ok());
  return std::move(*s);
}

NewJob Job(std::string id, std::string key = "", int64_t at = 1000) {
  NewJob j;
  j.id = std::move(id);
  j.name = "demo";
  j.document = R"({"steps":[]})";
  j.idempotency_key = std::move(key);
  j.created_at = at;
  j.step_count = 2;
  j.tasks = {{0, 0, "a", false}, {0, 1, "b", true}, {1, 0, "c", false}};
  return j;
}

TEST_SUITE("store") {
  TEST_CASE("a created job is queued with its task rows and an accepted event") {
    auto store = OpenStore();
    auto created = store->CreateJob(Job("j1"));
    REQUIRE(created.ok());
    CHECK(created->created);
    auto job = store->GetJob("j1");
    REQUIRE(job.ok());
    CHECK(job->status == kQueued);
    CHECK(job->name == "demo");
    CHECK(job->step_count == 2);
    auto tasks = store->ListTasks("j1");
    REQUIRE(tasks.ok());
    REQUIRE(tasks->size() == 3);
    CHECK((*tasks)[0].status == kTaskPending);
    CHECK((*tasks)[1].status == kTaskSkipped);
    auto events = store->ListEvents("j1", 0, 0);
    REQUIRE(events.ok());
    REQUIRE(events->size() == 1);
    CHECK((*events)[0].type == "job_accepted");
    CHECK((*events)[0].seq == 1);
  }

  TEST_CASE("an idempotency key returns the first job") {
    auto store = OpenStore();
    REQUIRE(store->CreateJob(Job("j1", "k")).ok());
    auto again = store->CreateJob(Job("j2", "k"));
    REQUIRE(again.ok());
    CHECK_FALSE(again->created);
    CHECK(again->id == "j1");
    CHECK(store->GetJob("j2").error().code == ErrorCode::kNotFound);
    CHECK(*store->FindByIdempotencyKey("k") == "j1");
  }

  TEST_CASE("task dispatch and outcome are recorded with a completion order") {
    auto store = OpenStore();
    REQUIRE(store->CreateJob(Job("j1")).ok());
    TaskRow row;
    row.step = 0;
    row.task = 0;
    row.request_id = "r1";
    row.service_url = "http://svc";
    row.endpoint = "http://svc/execute";
    row.request = json::Object{{"command", "create"}, {"requestId", "r1"}};
    row.attempts = 1;
    row.sent = true;
    row.started_at = 5;
    REQUIRE(store->MarkDispatched("j1", row).ok());
    auto tasks = *store->ListTasks("j1");
    CHECK(tasks[0].status == kTaskDispatched);
    CHECK(tasks[0].request_id == "r1");
    CHECK(json::Dump(tasks[0].request) == R"({"command":"create","requestId":"r1"})");
    REQUIRE(store->RecordAttempt("j1", 0, 0, 2, "http://svc", "http://svc/repeat", true).ok());
    row.status = kTaskSucceeded;
    row.attempts = 2;
    row.http_status = 201;
    row.result = json::Object{{"result", 1}};
    row.finished_at = 9;
    REQUIRE(store->FinishTask("j1", row).ok());
    TaskRow other;
    other.step = 1;
    other.task = 0;
    other.status = kTaskFailed;
    other.error = "boom";
    REQUIRE(store->FinishTask("j1", other).ok());
    tasks = *store->ListTasks("j1");
    CHECK(tasks[0].status == kTaskSucceeded);
    CHECK(tasks[0].attempts == 2);
    CHECK(*tasks[0].http_status == 201);
    CHECK(tasks[0].endpoint == "http://svc/repeat");
    CHECK(*tasks[0].completion_seq == 1);
    CHECK(*tasks[2].completion_seq == 2);
    CHECK(tasks[2].error == "boom");
  }

  TEST_CASE("statuses, cancel of a queued job, finish with its event") {
    auto store = OpenStore();
    REQUIRE(store->CreateJob(Job("j1")).ok());
    REQUIRE(store->CreateJob(Job("j2")).ok());
    auto cancelled = store->CancelQueued("j1", 50, json::Object{{"error", "cancelled by request"}});
    REQUIRE(cancelled.ok());
    CHECK(*cancelled);
    CHECK(store->GetJob("j1")->status == kCancelled);
    CHECK(store->ListEvents("j1", 1, 0)->at(0).type == "job_ended");
    REQUIRE(store->MarkRunning("j2", 10, 100).ok());
    CHECK_FALSE(*store->CancelQueued("j2", 50, json::Value()));
    REQUIRE(store->MarkReverting("j2", json::Object{{"error", "x"}}, kFailed).ok());
    auto j2 = *store->GetJob("j2");
    CHECK(j2.status == kReverting);
    CHECK(j2.end_status == kFailed);
    CHECK(*j2.deadline == 100);
    auto unfinished = store->UnfinishedJobs();
    CHECK(*unfinished == std::vector<std::string>{"j2"});
    REQUIRE(store->FinishJob("j2", kFailed, 70, j2.error).ok());
    CHECK(store->GetJob("j2")->status == kFailed);
    auto counts = *store->CountByStatus();
    CHECK(counts[kFailed] == 1);
    CHECK(counts[kCancelled] == 1);
    CHECK(counts[kRunning] == 0);
  }

  TEST_CASE("a file from the first schema keeps its events when upgraded to keyed events") {
    test::TempDir dir;
    std::string path = dir.path() + "/jc-store-upgrade-.db";
    {
      // The schema as the first release left it, with a job and two events.
      auto db = sqlite::Database::Open(path);
      REQUIRE(db.ok());
      REQUIRE(sqlite::Migrate(*db, {StoreMigrations().front()}).ok());
      REQUIRE(db->Exec("INSERT INTO jobs (id, status, document, created_at) VALUES ('j1', 'running', '{}', 1);"
                       "INSERT INTO events (job_id, seq, at, type, data) VALUES ('j1', 1, 10, 'job_accepted', '{}');"
                       "INSERT INTO events (job_id, seq, at, type, data) VALUES ('j1', 2, 20, 'job_started', '{\"x\":1}');")
                  .ok());
    }
    {
      auto opened = Store::Open(path);
      REQUIRE(opened.ok());
      auto& store = **opened;
      auto events = store.ListEvents("j1", 0, 0);
      REQUIRE(events.ok());
      REQUIRE(events->size() == 2);
      CHECK((*events)[1].type == "job_started");
      CHECK((*events)[1].data.Find("x")->AsInt() == 1);
      CHECK(store.AppendEvent("j1", 30, "step_started", json::Object{})->seq == 3);
      // Deleting the job still takes its events along (the foreign key survived the rebuild).
      REQUIRE(store.DeleteJob("j1").ok());
      CHECK(store.ListEvents("j1", 0, 0)->empty());
    }
  }

  TEST_CASE("event seqs continue after a reopen - a task change and its event commit together") {
    test::TempDir dir;
    std::string path = dir.path() + "/jc-store-test-.db";
    {
      auto opened = Store::Open(path);
      REQUIRE(opened.ok());
      auto& store = **opened;
      REQUIRE(store.CreateJob(Job("j1")).ok());  // seq 1: job_accepted
      CHECK(store.AppendEvent("j1", 2000, "job_started", json::Object{})->seq == 2);
      TaskRow row;
      row.step = 0;
      row.task = 0;
      row.request_id = "r1";
      row.request = json::Object{{"requestId", "r1"}};
      row.attempts = 1;
      row.sent = true;
      NewEvent ev{2001, "task_dispatched", json::Object{{"step", 0}}};
      REQUIRE(store.MarkDispatched("j1", row, {ev}).ok());
      auto tasks = store.ListTasks("j1");
      REQUIRE(tasks.ok());
      CHECK((*tasks)[0].status == kTaskDispatched);
      auto events = store.ListEvents("j1", 2, 0);
      REQUIRE(events.ok());
      REQUIRE(events->size() == 1);
      CHECK((*events)[0].seq == 3);
      CHECK((*events)[0].type == "task_dispatched");
      row.status = kTaskSucceeded;
      NewEvent done{2002, "task_succeeded", json::Object{{"step", 0}}};
      REQUIRE(store.FinishTask("j1", row, {done}).ok());
    }
    {
      auto opened = Store::Open(path);
      REQUIRE(opened.ok());
      auto& store = **opened;
      CHECK(store.AppendEvent("j1", 3000, "job_resumed", json::Object{})->seq == 5);
      auto events = store.ListEvents("j1", 0, 0);
      REQUIRE(events.ok());
      REQUIRE(events->size() == 5);
      for (size_t i = 0; i < events->size(); ++i) CHECK((*events)[i].seq == static_cast<int64_t>(i) + 1);
      // Ending the job drops the cached seq; the next event still follows on.
      REQUIRE(store.FinishJob("j1", kCompleted, 4000, json::Value()).ok());
      CHECK(store.AppendEvent("j1", 4001, "late", json::Object{})->seq == 7);
    }
  }

  TEST_CASE("reverts are upserted per task") {
    auto store = OpenStore();
    REQUIRE(store->CreateJob(Job("j1")).ok());
    RevertRow r;
    r.step = 1;
    r.task = 0;
    r.request_id = "r";
    r.status = "pending";
    r.attempts = 1;
    r.at = 1;
    REQUIRE(store->SaveRevert("j1", r).ok());
    r.status = "succeeded";
    r.attempts = 2;
    r.reply = json::Object{{"status", "reverted"}};
    REQUIRE(store->SaveRevert("j1", r).ok());
    auto reverts = *store->ListReverts("j1");
    REQUIRE(reverts.size() == 1);
    CHECK(reverts[0].status == "succeeded");
    CHECK(reverts[0].attempts == 2);
  }

  TEST_CASE("list, filter, delete and prune") {
    auto store = OpenStore();
    REQUIRE(store->CreateJob(Job("j1", "", 1000)).ok());
    REQUIRE(store->CreateJob(Job("j2", "", 2000)).ok());
    REQUIRE(store->FinishJob("j1", kCompleted, 3000, json::Value()).ok());
    JobFilter all;
    CHECK(store->ListJobs(all)->size() == 2);
    JobFilter by_status;
    by_status.status = kCompleted;
    CHECK(store->ListJobs(by_status)->size() == 1);
    JobFilter by_name;
    by_name.name = "em";
    CHECK(store->ListJobs(by_name)->size() == 2);
    JobFilter done;
    done.completed_at = "1970";
    CHECK(store->ListJobs(done)->size() == 1);
    JobFilter limited;
    limited.limit = 1;
    CHECK(store->ListJobs(limited)->at(0).id == "j1");
    CHECK(*store->PruneFinished(2000) == 0);
    CHECK(*store->PruneFinished(3001) == 1);
    CHECK(store->GetJob("j1").error().code == ErrorCode::kNotFound);
    CHECK(store->ListTasks("j1")->empty());
    CHECK(store->DeleteJob("j2").ok());
    CHECK(store->DeleteJob("j2").error().code == ErrorCode::kNotFound);
    CHECK(store->ListEvents("j2", 0, 0)->empty());
  }
}

}  // namespace
}  // namespace csp::job_control
