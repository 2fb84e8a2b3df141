#include <doctest/doctest.h>

#include "csp/json/json.h"
#include "job_view.h"
#include "render.h"

namespace csp::job_runner {
namespace {

json::Value J(const std::string& text) {
  auto v = json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

Event E(const std::string& text) { return ParseEvent(J(text)); }

// A two-step job: step 1 'first' with uppercase + timestamp, step 2 'second' (sequential) with person.
JobView TwoSteps() {
  JobView v = JobView::FromDocument(J(R"({"name": "demo", "steps": [
      {"name": "first", "tasks": [{"tag": "uppercase"}, {"tag": "timestamp", "enabled": false}]},
      {"name": "second", "mode": "sequential", "tasks": [{"tag": "person", "input": {"command": "create"}}]}]})"));
  v.id = "3f0c2a9e-5b1d-4c7e-9a2f-0b1c2d3e4f50";
  return v;
}

std::string Line(JobView& v, const std::string& event) {
  Event e = E(event);
  v.Apply(e);
  return FormatEventLine(e, v);
}

}  // namespace

TEST_SUITE("job-runner events") {
  TEST_CASE("event types in any spelling") {
    CHECK(KindOf("task_succeeded") == EventKind::kTaskSucceeded);
    CHECK(KindOf("task.succeeded") == EventKind::kTaskSucceeded);
    CHECK(KindOf("TaskSucceeded") == EventKind::kTaskSucceeded);
    CHECK(KindOf("task succeeded") == EventKind::kTaskSucceeded);
    CHECK(KindOf("job_accepted") == EventKind::kJobAccepted);
    CHECK(KindOf("step_started") == EventKind::kStepStarted);
    CHECK(KindOf("task_dispatched") == EventKind::kTaskDispatched);
    CHECK(KindOf("task_failed") == EventKind::kTaskFailed);
    CHECK(KindOf("state_written") == EventKind::kStateWritten);
    CHECK(KindOf("revert_sent") == EventKind::kRevertSent);
    CHECK(KindOf("revert_succeeded") == EventKind::kRevertSucceeded);
    CHECK(KindOf("revert_failed") == EventKind::kRevertFailed);
    CHECK(KindOf("job_ended") == EventKind::kJobEnded);
    CHECK(KindOf("something_new") == EventKind::kOther);
  }

  TEST_CASE("fields flat or under data") {
    Event flat = E(R"({"seq": 4, "at": "2026-11-22T10:00:00.000Z", "type": "task_succeeded", "step": 0, "task": 1,
                      "tag": "uppercase", "status": 200, "durationMs": 12})");
    CHECK(flat.seq == 4);
    REQUIRE(flat.at_ms.has_value());
    CHECK(*flat.step == 0);
    CHECK(*flat.task == 1);
    CHECK(flat.label == "uppercase");
    CHECK(*flat.http_status == 200);
    CHECK(*flat.duration_ms == 12);
    Event nested = E(R"({"seq": 5, "at": 1700000000000, "type": "task.failed",
                        "data": {"step": 1, "task": 0, "httpStatus": 400, "error": {"error": "bad input"}}})");
    CHECK(*nested.at_ms == 1700000000000);
    CHECK(*nested.step == 1);
    CHECK(*nested.http_status == 400);
    CHECK(nested.error == "bad input");
  }

  TEST_CASE("one plain line per event") {
    JobView v = TwoSteps();
    CHECK(Line(v, R"({"seq":1,"type":"job_accepted","name":"demo"})") == "job 2d3e4f50 accepted ('demo')");
    // Two jobs submitted in the same millisecond: their time-ordered ids share their first
    // characters, not their short form.
    CHECK(ShortId("01a24919-74a2-787e-ae4f-561acd9c43db") == "cd9c43db");
    CHECK(ShortId("01a24919-74a2-7d2c-9c7f-3fd7ab19e321") == "ab19e321");
    CHECK(Line(v, R"({"seq":2,"type":"job_started"})") == "job started");
    CHECK(Line(v, R"({"seq":3,"type":"step_started","step":0,"name":"first"})") == "step 1 'first' started");
    CHECK(Line(v, R"({"seq":4,"type":"task_dispatched","step":0,"task":0,"tag":"uppercase",
                     "url":"http://127.0.0.1:4100/execute","attempt":1})") ==
          "task uppercase#0 dispatched to http://127.0.0.1:4100/execute");
    CHECK(Line(v, R"({"seq":5,"type":"task_succeeded","step":0,"task":0,"tag":"uppercase","status":200,"durationMs":12})") ==
          "task uppercase#0 succeeded 200 in 12ms");
    CHECK(Line(v, R"({"seq":6,"type":"state_written","step":0,"task":0,"paths":["/out"]})") ==
          "state written at /out by uppercase#0");
    CHECK(Line(v, R"({"seq":7,"type":"step_started","step":1,"name":"second"})") == "step 2 'second' started (sequential)");
    CHECK(Line(v, R"({"seq":8,"type":"task_dispatched","step":1,"task":0,"tag":"person","attempt":2,
                     "url":"http://p/repeat"})") == "task person#0 dispatched to http://p/repeat (attempt 2)");
    CHECK(Line(v, R"({"seq":9,"type":"task_failed","step":1,"task":0,"tag":"person","status":400,"durationMs":5,
                     "error":"Invalid value for 'status'"})") ==
          "task person#0 failed 400 in 5ms: Invalid value for 'status'");
    CHECK(Line(v, R"({"seq":10,"type":"job_reverting","error":{"status":"error","task":"person","error":"boom"}})") ==
          "job reverting: boom");
    CHECK(Line(v, R"({"seq":11,"type":"revert_sent","step":1,"task":0,"tag":"person","url":"http://p/revert"})") ==
          "revert person#0 sent to http://p/revert");
    CHECK(Line(v, R"({"seq":12,"type":"revert_succeeded","step":1,"task":0,"status":200})") ==
          "revert person#0 succeeded 200");
    CHECK(Line(v, R"({"seq":13,"type":"revert_failed","step":0,"task":0,"error":"503 unavailable"})") ==
          "revert uppercase#0 failed: 503 unavailable");
    CHECK(Line(v, R"({"seq":14,"type":"job_ended","status":"revert-failed"})") == "job ended: revert-failed");
    CHECK(v.status == "revert-failed");
    CHECK(v.Ended());
  }

  TEST_CASE("retries and unknown events") {
    JobView v = TwoSteps();
    CHECK(Line(v, R"({"seq":1,"type":"task_retrying","step":0,"task":0,"attempt":1,"status":503,"error":"busy","delayMs":200})") ==
          "task uppercase#0 attempt 1 failed 503: busy; retrying in 200ms");
    CHECK(Line(v, R"({"seq":2,"type":"lease_renewed"})") == "lease renewed");
    CHECK(Line(v, R"({"seq":3,"type":"state_created","stateURL":"http://s/state/1"})") ==
          "state created at http://s/state/1");
    CHECK(Line(v, R"({"seq":4,"type":"task_resumed","step":0,"task":0,"tag":"uppercase"})") ==
          "task resumed uppercase#0");
  }

  TEST_CASE("repeated events are ignored") {
    JobView v = TwoSteps();
    v.Apply(E(R"({"seq":3,"type":"task_dispatched","step":0,"task":0,"attempt":1})"));
    v.Apply(E(R"({"seq":3,"type":"task_dispatched","step":0,"task":0,"attempt":1})"));
    CHECK(v.steps[0].tasks[0].attempts == 1);
  }
}

TEST_SUITE("job-runner tree and summary") {
  TEST_CASE("the document gives pending steps and tasks and skips disabled ones") {
    JobView v = TwoSteps();
    REQUIRE(v.steps.size() == 2);
    CHECK(v.steps[0].tasks[1].status == "skipped");
    CHECK(v.steps[1].mode == "sequential");
    CHECK(v.steps[1].tasks[0].command == "create");
    Style plain;
    plain.marks = false;
    auto lines = RenderTree(v, 0, plain);
    REQUIRE(lines.size() == 6);
    CHECK(lines[0].find("job demo") == 0);
    CHECK(lines[1].find("[pending] step 1 first") != std::string::npos);
    CHECK(lines[3].find("[skipped] timestamp#1") != std::string::npos);
    CHECK(lines[4].find("step 2 second (sequential)") != std::string::npos);
    CHECK(lines[5].find("person#0 create") != std::string::npos);
  }

  TEST_CASE("a completed job") {
    JobView v = TwoSteps();
    for (const char* e : {R"({"seq":1,"at":"2026-11-22T10:00:00.000Z","type":"job_started"})",
                          R"({"seq":2,"at":"2026-11-22T10:00:00.000Z","type":"step_started","step":0})",
                          R"({"seq":3,"at":"2026-11-22T10:00:00.010Z","type":"task_dispatched","step":0,"task":0,"service":"http://127.0.0.1:4100","attempt":1})",
                          R"({"seq":4,"at":"2026-11-22T10:00:00.022Z","type":"task_succeeded","step":0,"task":0,"status":200,"durationMs":12})",
                          R"({"seq":5,"at":"2026-11-22T10:00:00.030Z","type":"step_started","step":1})",
                          R"({"seq":6,"at":"2026-11-22T10:00:00.030Z","type":"task_dispatched","step":1,"task":0,"attempt":1})",
                          R"({"seq":7,"at":"2026-11-22T10:00:00.050Z","type":"task_succeeded","step":1,"task":0,"status":201,"attempts":3})",
                          R"({"seq":8,"at":"2026-11-22T10:00:01.300Z","type":"job_ended","status":"completed"})"}) {
      v.Apply(E(e));
    }
    CHECK(v.status == "completed");
    CHECK(v.steps[0].status == "succeeded");
    CHECK(v.steps[1].status == "succeeded");
    CHECK(v.steps[1].tasks[0].attempts == 3);
    CHECK(*v.steps[1].tasks[0].duration_ms == 20);  // from the event times

    Style style;
    auto lines = RenderTree(v, 0, style);
    CHECK(lines[0] == "job demo  2d3e4f50  completed  1.3s");
    CHECK(lines[1] == "  ✓ step 1 first  22ms");
    CHECK(lines[2] == "      ✓ uppercase#0      127.0.0.1:4100  200  1 attempt  12ms");
    CHECK(lines[5] == "      ✓ person#0 create                  201  3 attempts  20ms");
    CHECK(Summary(v, 0, style) == "✓ job completed in 1.3s: 2 steps, 2 tasks");
    Style plain;
    plain.marks = false;
    CHECK(Summary(v, 0, plain) == "job completed in 1.3s: 2 steps, 2 tasks");
  }

  TEST_CASE("a failed and reverted job") {
    JobView v = TwoSteps();
    for (const char* e : {R"({"seq":1,"at":"2026-11-22T10:00:00.000Z","type":"job_started"})",
                          R"({"seq":2,"type":"step_started","step":0})",
                          R"({"seq":3,"type":"task_succeeded","step":0,"task":0,"status":200})",
                          R"({"seq":4,"type":"step_started","step":1})",
                          R"({"seq":5,"type":"task_failed","step":1,"task":0,"status":400,"error":"Missing required input: email"})",
                          R"({"seq":6,"type":"revert_sent","step":1,"task":0})",
                          R"({"seq":7,"type":"revert_succeeded","step":1,"task":0})",
                          R"({"seq":8,"type":"revert_sent","step":0,"task":0})",
                          R"({"seq":9,"type":"revert_succeeded","step":0,"task":0})",
                          R"({"seq":10,"at":"2026-11-22T10:00:00.800Z","type":"job_ended","status":"failed","error":"Missing required input: email"})"}) {
      v.Apply(E(e));
    }
    CHECK(v.status == "failed");
    Style style;
    CHECK(Summary(v, 0, style) ==
          "✗ job failed in 800ms at step 2 'second', task person#0: Missing required input: email; 2 tasks reverted");
    auto lines = RenderTree(v, 0, style);
    CHECK(lines[1].find("↺ step 1 first") != std::string::npos);  // everything it did was undone
    CHECK(lines[2].find("↺ uppercase#0") != std::string::npos);
    CHECK(lines[2].find("reverted") != std::string::npos);
    CHECK(lines[4].find("✗ step 2 second") != std::string::npos);  // the step that broke the job
    CHECK(lines[5].find("✗ person#0 create") != std::string::npos);
    CHECK(lines[5].find("reverted  Missing required input: email") != std::string::npos);
  }

  TEST_CASE("a revert that failed and a cancelled job") {
    JobView v = TwoSteps();
    v.Apply(E(R"({"seq":1,"type":"task_succeeded","step":0,"task":0})"));
    v.Apply(E(R"({"seq":2,"type":"revert_failed","step":0,"task":0,"error":"connection refused"})"));
    v.Apply(E(R"({"seq":3,"type":"job_ended","status":"revert-failed","error":"boom"})"));
    Style plain;
    plain.marks = false;
    CHECK(Summary(v, 0, plain) == "job revert-failed: boom; 0 tasks reverted, 1 revert failed");
    CHECK(RenderTree(v, 0, plain)[2].find("revert failed: connection refused") != std::string::npos);

    JobView c = TwoSteps();
    c.Apply(E(R"({"seq":1,"type":"job_ended","status":"cancelled"})"));
    CHECK(Summary(c, 0, plain) == "job cancelled; nothing to revert");
  }

  TEST_CASE("the job record fills in what events did not say") {
    JobView v = TwoSteps();
    v.ApplyRecord(J(R"({"id": "abc", "status": "failed", "error": "boom", "failedTask": "person",
      "stateURL": "http://s/state/1", "steps": 2,
      "stepDetails": [{"name": "first", "status": "succeeded", "tasks": [{"tag": "uppercase", "status": "succeeded",
                        "service": "http://u", "attempts": 1, "httpStatus": 200, "durationMs": 7}]},
                      {"name": "second", "status": "failed", "concurrency": "sequential",
                       "tasks": [{"tag": "person", "status": "failed", "error": "bad", "httpStatus": 400}]}],
      "reverts": [{"step": 0, "task": 0, "status": "succeeded"}]})"));
    CHECK(v.id == "abc");
    CHECK(v.state_url == "http://s/state/1");
    CHECK(v.steps[0].tasks[0].service == "http://u");
    CHECK(*v.steps[0].tasks[0].duration_ms == 7);
    CHECK(v.steps[0].tasks[0].revert == "succeeded");
    CHECK(v.steps[1].tasks[0].error == "bad");
    CHECK(v.failed_task == "person");
  }
}

TEST_SUITE("job-runner text helpers") {
  TEST_CASE("display width ignores escapes and counts code points") {
    CHECK(DisplayWidth("abc") == 3);
    CHECK(DisplayWidth("✓ ok") == 4);
    CHECK(DisplayWidth("\x1b[32m✓\x1b[0m ok") == 4);
  }

  TEST_CASE("truncation keeps escapes whole") {
    CHECK(Truncate("abcdef", 4) == "abc…");
    CHECK(Truncate("abc", 4) == "abc");
    CHECK(Truncate("abc", 0) == "abc");
    const std::string cut = Truncate("\x1b[32m✓✓✓✓✓\x1b[0m", 3);
    CHECK(DisplayWidth(cut) == 3);
    CHECK(cut.find("\x1b[32m") == 0);
  }

  TEST_CASE("tables line up") {
    CHECK(FormatTable({{"ID", "STATUS"}, {"a", "completed"}, {"abcd", "failed"}}) ==
          "ID    STATUS\na     completed\nabcd  failed\n");
  }
}

}  // namespace csp::job_runner
