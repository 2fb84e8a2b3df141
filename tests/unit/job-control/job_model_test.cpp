#include <doctest/doctest.h>

#include <algorithm>

#include "csp/json/json.h"
#include "job_model.h"

namespace csp::job_control {
namespace {

json::Value J(std::string_view text) {
  auto v = json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

bool HasProblem(const ParsedJob& p, std::string_view text) {
  return std::any_of(p.problems.begin(), p.problems.end(), [&](const std::string& s) { return s == text; });
}

std::string All(const ParsedJob& p) {
  std::string out;
  for (const auto& s : p.problems) out += s + "\n";
  return out;
}

TEST_SUITE("job_model") {
  TEST_CASE("the original's example job parses with its defaults") {
    auto p = ParseJob(J(R"({ "name": "demo", "sharedStateURL": "http://localhost:4500/state/s1",
      "sharedState": { "user": { "role": "editor" } },
      "steps": [ { "name": "s1", "enabled": true, "mode": "execute",
        "tasks": [ { "tag": "uppercase", "enabled": true,
          "input": { "input": { "$fromState": "/user/role", "default": "x" } },
          "storeResultAt": [ { "targetPath": "/out", "sourcePath": "/result", "onlyOnStatus": [200] } ] } ] } ] })"));
    REQUIRE_MESSAGE(p.ok(), All(p));
    const JobSpec& job = *p.job;
    CHECK(job.name == "demo");
    CHECK(job.shared_state_url == "http://localhost:4500/state/s1");
    REQUIRE(job.shared_state);
    REQUIRE(job.steps.size() == 1);
    CHECK(job.steps[0].rel == "execute");
    CHECK(job.steps[0].concurrency == Concurrency::kParallel);
    const TaskSpec& t = job.steps[0].tasks[0];
    CHECK(t.tag == "uppercase");
    REQUIRE(t.store.size() == 1);
    CHECK(t.store[0].target_path == "/out");
    CHECK(t.store[0].source_path == "/result");
    CHECK(t.store[0].only_on_status == std::vector<int>{200});
    CHECK(job.UsesState());
    CHECK(job.steps[0].ReadsState());
  }

  TEST_CASE("every problem is listed by its path") {
    auto p = ParseJob(J(R"({ "name": 5, "sharedStateURL": "ftp://x", "timeoutMs": -1,
      "steps": [ { "tasks": [ { "tag": "a" } ] },
                 { "enabled": "yes", "tasks": [ { "tag": 7 }, { "input": "text" }, "oops" ] } ] })"));
    CHECK_FALSE(p.ok());
    CHECK_FALSE(p.job.has_value());
    CHECK(HasProblem(p, "name: expected a string, got number"));
    CHECK(HasProblem(p, "sharedStateURL: expected an http or https URL"));
    CHECK(HasProblem(p, "steps[1].enabled: expected a boolean, got string"));
    CHECK(HasProblem(p, "steps[1].tasks[0].tag: expected a string, got number"));
    CHECK(HasProblem(p, "steps[1].tasks[1].input: expected an object, got string"));
    CHECK(HasProblem(p, "steps[1].tasks[1].tag: is required (or serviceName, or url)"));
    CHECK(HasProblem(p, "steps[1].tasks[2]: expected an object, got string"));
    CHECK(p.problems.size() == 7 + 1);  // each problem once (the numeric tag is not also "required")
    CHECK(HasProblem(ParseJob(J(R"({"steps": [ {"tasks": [ {"tag": ""} ]} ]})")),
                     "steps[0].tasks[0].tag: expected a non-empty string"));
    bool timeout = std::any_of(p.problems.begin(), p.problems.end(),
                               [](const std::string& s) { return s.rfind("timeoutMs: expected an integer from 1", 0) == 0; });
    CHECK(timeout);
  }

  TEST_CASE("a body that is not an object or has no steps") {
    CHECK(ParseJob(J("[1,2]")).problems == std::vector<std::string>{"body: expected a job object, got array"});
    CHECK(ParseJob(J("{}")).problems == std::vector<std::string>{"steps: is required"});
    CHECK(HasProblem(ParseJob(J(R"({"steps": {}})")), "steps: expected an array, got object"));
  }

  TEST_CASE("limits on steps, tasks and size give problems, not crashes") {
    Limits limits;
    limits.max_steps = 2;
    limits.max_tasks_per_step = 1;
    limits.max_document_bytes = 10'000;
    auto p = ParseJob(J(R"({"steps": [ {"tasks": []}, {"tasks": []}, {"tasks": []} ]})"), limits);
    CHECK(HasProblem(p, "steps: 3 steps is over the limit of 2"));
    p = ParseJob(J(R"({"steps": [ {"tasks": [ {"tag":"a"}, {"tag":"b"} ]} ]})"), limits);
    CHECK(HasProblem(p, "steps[0].tasks: 2 tasks is over the limit of 1"));
    std::string big = R"({"steps": [], "pad": ")" + std::string(20'000, 'x') + "\"}";
    p = ParseJob(J(big), limits);
    REQUIRE(p.problems.size() == 1);
    CHECK(p.problems[0].find("over the limit of 10000") != std::string::npos);
  }

  TEST_CASE("storeResultAt in its three forms") {
    auto p = ParseJob(J(R"({"steps": [ {"tasks": [
      {"tag": "a", "storeResultAt": "/whole"},
      {"tag": "b", "storeResultAt": {"targetPath": "/one", "sourcePath": "result"}},
      {"tag": "c", "storeResultAt": [ {"targetPath": "/x", "sourcePath": "/"}, {"targetPath": "/y", "onlyOnStatus": [201, 200]} ]}
    ]} ]})"));
    REQUIRE_MESSAGE(p.ok(), All(p));
    const auto& tasks = p.job->steps[0].tasks;
    REQUIRE(tasks[0].store.size() == 1);
    CHECK(tasks[0].store[0].target_path == "/whole");
    CHECK_FALSE(tasks[0].store[0].has_source);
    CHECK(tasks[1].store[0].source_path == "/result");  // the original's "result" form
    REQUIRE(tasks[2].store.size() == 2);
    CHECK(tasks[2].store[0].has_source);
    CHECK(tasks[2].store[0].source_path.empty());        // "/" is the whole result
    CHECK(tasks[2].store[1].only_on_status == std::vector<int>{201, 200});
  }

  TEST_CASE("bad storeResultAt entries are named") {
    auto p = ParseJob(J(R"({"steps": [ {"tasks": [
      {"tag": "a", "storeResultAt": 5},
      {"tag": "b", "storeResultAt": [ {"sourcePath": "/x"}, {"targetPath": "nope"}, {"targetPath": "/z", "onlyOnStatus": ["200"]} ]}
    ]} ]})"));
    CHECK(HasProblem(p, "steps[0].tasks[0].storeResultAt: expected a string, an object or an array of objects, got number"));
    CHECK(HasProblem(p, "steps[0].tasks[1].storeResultAt[0].targetPath: is required"));
    CHECK(HasProblem(p, "steps[0].tasks[1].storeResultAt[1].targetPath: 'nope' is not a JSON pointer starting with '/'"));
    CHECK(HasProblem(p, "steps[0].tasks[1].storeResultAt[2].onlyOnStatus[0]: expected an HTTP status code (100-599)"));
  }

  TEST_CASE("$fromState pointers must be JSON pointers, also inside defaults") {
    auto p = ParseJob(J(R"({"steps": [ {"tasks": [ {"tag": "a", "input": {
      "x": {"$fromState": "message"},
      "y": [ {"$fromState": "/ok", "default": {"$fromState": "bad~2"}} ] } } ]} ]})"));
    CHECK(HasProblem(p, "steps[0].tasks[0].input.x.$fromState: 'message' is not a JSON pointer (RFC 6901: empty or starting with '/')"));
    CHECK(HasProblem(p, "steps[0].tasks[0].input.y[0].default.$fromState: 'bad~2' is not a JSON pointer (RFC 6901: empty or starting with '/')"));
  }

  TEST_CASE("step modes: rels and concurrency - task mode - selectors") {
    auto p = ParseJob(J(R"({"steps": [
      {"mode": "sequential", "tasks": [ {"serviceName": "person"} ]},
      {"mode": "revert", "tasks": [ {"url": "http://127.0.0.1:4600/", "mode": "repeat"} ]},
      {"mode": "parallel", "tasks": [ {"tag": "t", "mode": "parallel"} ]} ]})"));
    CHECK(HasProblem(p, "steps[2].tasks[0].mode: expected a form rel such as execute, repeat or revert"));
    p = ParseJob(J(R"({"steps": [
      {"mode": "sequential", "tasks": [ {"serviceName": "person"} ]},
      {"mode": "revert", "tasks": [ {"url": "http://127.0.0.1:4600/", "mode": "repeat"} ]} ]})"));
    REQUIRE_MESSAGE(p.ok(), All(p));
    CHECK(p.job->steps[0].concurrency == Concurrency::kSequential);
    CHECK(p.job->steps[0].rel == "execute");
    CHECK(p.job->steps[0].tasks[0].Label() == "person");
    CHECK(p.job->steps[1].rel == "revert");
    CHECK(p.job->steps[1].tasks[0].url == "http://127.0.0.1:4600");
    CHECK(*p.job->steps[1].tasks[0].mode == "repeat");
    CHECK_FALSE(p.job->UsesState());
  }

  TEST_CASE("disabled steps and tasks: skipped, and need no selector") {
    auto p = ParseJob(J(R"({"steps": [
      {"enabled": false, "tasks": [ {"tag": "a"} ]},
      {"tasks": [ {"enabled": false} ]},
      {"tasks": []}, {"name": "no tasks"},
      {"tasks": [ {"tag": "a", "enabled": false}, {"tag": "b"} ]} ]})"));
    REQUIRE_MESSAGE(p.ok(), All(p));
    CHECK(p.job->steps[0].Skipped());
    CHECK(p.job->steps[1].Skipped());
    CHECK(p.job->steps[2].Skipped());
    CHECK(p.job->steps[3].Skipped());
    CHECK_FALSE(p.job->steps[4].Skipped());
  }

  TEST_CASE("retry and timeouts") {
    auto p = ParseJob(J(R"({"timeoutMs": 5000, "steps": [ {"tasks": [ {"tag": "a", "timeoutMs": 250,
      "retry": {"maxAttempts": 5, "initialDelayMs": 10, "maxDelayMs": 100, "multiplier": 3}} ]} ]})"));
    REQUIRE_MESSAGE(p.ok(), All(p));
    CHECK(p.job->timeout->count() == 5000);
    const TaskSpec& t = p.job->steps[0].tasks[0];
    CHECK(t.timeout->count() == 250);
    CHECK(t.retry->max_attempts == 5);
    CHECK(t.retry->initial_delay.count() == 10);
    CHECK(t.retry->max_delay.count() == 100);
    CHECK(t.retry->multiplier == 3.0);
    p = ParseJob(J(R"({"steps": [ {"tasks": [ {"tag": "a", "retry": {"maxAttempts": 0, "multiplier": 0.5}} ]} ]})"));
    CHECK(HasProblem(p, "steps[0].tasks[0].retry.maxAttempts: expected an integer from 1 to 20, got 0"));
    CHECK(HasProblem(p, "steps[0].tasks[0].retry.multiplier: expected a number from 1 to 100"));
  }
}

}  // namespace
}  // namespace csp::job_control
