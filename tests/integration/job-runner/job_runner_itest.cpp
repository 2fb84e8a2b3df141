// job-runner against the real platform: discovery, shared-state, the three example engines and
// job-control, each on port 0 with its own temporary data directory. The CLI runs as a
// subprocess, exactly as a user runs it (stdout is a pipe, so progress is one line per event).

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "csp/http/server.h"
#include "csp/http_client/client.h"
#include "csp/json/json.h"
#include "csp/test_support/process.h"

namespace csp::job_runner::itest {
namespace {

using json::Value;
using namespace std::chrono_literals;

Value J(const std::string& text) {
  auto v = json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

std::string Str(const Value& v, std::string_view key) {
  const Value* m = v.Find(key);
  return m != nullptr && m->IsString() ? m->AsString() : std::string();
}

std::string Source(const std::string& relative) { return test::SourcePath(relative); }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  REQUIRE(out.good());
  out << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

class Platform {
 public:
  // Starts every component; `with_job_control` false leaves it out.
  explicit Platform(bool with_job_control = true) {
    discovery_ = Start("discovery", {"--check-interval", "300ms"});
    state_ = Start("shared-state", {"--discovery-url", discovery_url()});
    for (const char* design : {"person", "todo", "order"}) {
      engines_.push_back(Start("engine", {"--discovery-url", discovery_url(), "--design",
                                          Source(std::string("examples/designs/") + design + ".json")}));
    }
    std::vector<std::string> names{"shared-state", "person", "todo", "order"};
    if (with_job_control) {
      job_control_ = Start("job-control", {"--discovery-url", discovery_url()});
      names.push_back("job-control");
    }
    for (const auto& name : names) {
      REQUIRE_MESSAGE(test::WaitFor([&] { return Registered(name); }, 15s), name << " did not register");
    }
  }

  const std::string& discovery_url() const { return discovery_->url(); }
  std::string state_url() const { return state_->url(); }
  test::Process& job_control() { return *job_control_; }

  bool Registered(const std::string& name) {
    auto r = http_.Get(discovery_url() + "/find?name=" + name, 2s);
    if (!r || !r->ok()) return false;
    auto body = r->Json();
    if (!body || !body->IsArray()) return false;
    for (const auto& e : body->AsArray()) {
      if (Str(e, "serviceName") == name) return true;
    }
    return false;
  }

  // Every state document's id.
  std::vector<std::string> StateIds() {
    auto r = http_.Get(state_url() + "/state", 5s);
    REQUIRE(r.ok());
    REQUIRE(r->ok());
    auto body = r->Json();
    REQUIRE(body.ok());
    std::vector<std::string> ids;
    for (const auto& d : body->AsArray()) ids.push_back(Str(d, "id"));
    return ids;
  }

  void PutState(const std::string& id, const std::string& content) {
    auto r = http_.PostJson(state_url() + "/state", [&] {
      Value v = J(content);
      v.Set("id", id);
      return v;
    }());
    REQUIRE(r.ok());
    REQUIRE(r->status == 201);
  }

  std::optional<Value> GetState(const std::string& id) {
    auto r = http_.Get(state_url() + "/state/" + id, 5s);
    REQUIRE(r.ok());
    if (r->status == 404) return std::nullopt;
    return *r->Json();
  }

  int JobCount() {
    auto r = http_.Get(job_control_->url() + "/jobs", 5s);
    REQUIRE(r.ok());
    return static_cast<int>(r->Json()->AsArray().size());
  }

 private:
  std::unique_ptr<test::Process> Start(const std::string& binary, std::vector<std::string> args) {
    dirs_.push_back(std::make_unique<test::TempDir>());
    std::vector<std::string> all{"--port", "0", "--data-dir", dirs_.back()->path()};
    all.insert(all.end(), args.begin(), args.end());
    auto p = test::Process::Start(test::BinaryPath(binary), all);
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message));
    return std::move(*p);
  }

  http_client::CurlClient http_;
  std::vector<std::unique_ptr<test::TempDir>> dirs_;
  std::unique_ptr<test::Process> discovery_;
  std::unique_ptr<test::Process> state_;
  std::vector<std::unique_ptr<test::Process>> engines_;
  std::unique_ptr<test::Process> job_control_;
};

// Runs job-runner with a clean environment: its own HOME (no user config), no colours.
test::CommandResult Runner(const std::vector<std::string>& args, const std::string& discovery_url,
                           const std::string& cwd) {
  static test::TempDir home;
  std::vector<std::string> argv{test::BinaryPath("job-runner")};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env{"HOME=" + home.path(), "XDG_CONFIG_HOME=" + home.path() + "/config", "NO_COLOR=1"};
  if (!discovery_url.empty()) env.push_back("JOB_RUNNER_DISCOVERY_URL=" + discovery_url);
  auto r = test::RunCommand(argv, cwd, env, 90s);
  INFO("job-runner " << args.front() << " exit " << r.exit_code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  return r;
}

std::string Jobs(const std::string& file) { return Source("examples/jobs/" + file); }

// A service registered under tag "hang" whose /execute never answers until the test ends; its
// /revert answers noop. For following, timing out and cancelling a job that is still running.
class HangingService {
 public:
  explicit HangingService(const std::string& discovery_url) {
    http::Router router;
    router.Get("/forms", [](const http::Request& req) {
      json::Array forms;
      for (const char* rel : {"execute", "repeat", "revert"}) {
        forms.push_back(json::Object{{"rel", rel}, {"method", "POST"}, {"href", req.BaseUrl() + "/" + rel}});
      }
      return http::Response::Json(200, forms);
    });
    for (const char* verb : {"/execute", "/repeat"}) {
      router.AddAsync(http::Method::kPost, verb, [this](http::Request, http::Reply reply) {
        std::lock_guard<std::mutex> lock(mu_);
        parked_.push_back(std::move(reply));
      });
    }
    router.Post("/revert", [](const http::Request&) {
      return http::Response::Json(200, json::Object{{"status", "noop"}});
    });
    server_ = std::make_unique<http::Server>(http::ServerOptions{}, std::move(router), metrics_);
    REQUIRE(server_->Start());
    auto r = http_client::CurlClient().PostJson(
        discovery_url + "/register",
        json::Object{{"serviceName", "hang"}, {"serviceURL", server_->url()}, {"tags", json::Array{"hang"}}});
    REQUIRE(r.ok());
    REQUIRE(r->ok());
  }
  ~HangingService() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& reply : parked_) reply(http::Response::FromError(Unavailable("test over")));
  }
  size_t parked() {
    std::lock_guard<std::mutex> lock(mu_);
    return parked_.size();
  }

 private:
  http::MetricsRegistry metrics_;
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  std::vector<http::Reply> parked_;
};

// One task on the hanging service; its call times out after 3 s and is not retried.
constexpr const char* kHangingJob =
    R"({"name":"hangs","steps":[{"name":"wait","tasks":[{"tag":"hang","timeoutMs":3000,)"
    R"("retry":{"maxAttempts":1},"input":{"command":"create","resource":"thing"}}]}]})";

}  // namespace

TEST_SUITE("job-runner integration") {
  TEST_CASE("a completed job exits 0 and emits the right state and deletes the state document") {
    Platform p;
    test::TempDir cwd;
    auto r = Runner({Jobs("happy-path.json"), "--state", Jobs("happy-path.state.json"), "--emit"}, p.discovery_url(),
                    cwd.path());
    CAPTURE(r.out);
    CAPTURE(r.err);
    REQUIRE(r.exit_code == 0);
    auto state = json::Parse(r.out);  // nothing but the document on stdout
    REQUIRE(state.ok());
    const Value* person = state->Find("person");
    const Value* order = state->Find("order");
    const Value* todo = state->Find("todo");
    REQUIRE(person != nullptr);
    REQUIRE(order != nullptr);
    REQUIRE(todo != nullptr);
    CHECK(Str(*person, "email") == "ada@example.org");
    CHECK(!Str(*person, "id").empty());
    CHECK(Str(*order, "personId") == Str(*person, "id"));
    CHECK(Str(*order, "status") == "confirmed");
    CHECK(Str(*todo, "relatedTo") == Str(*person, "id"));
    CHECK(state->Find("id") == nullptr);  // the id names the document; it is not content
    CHECK(Contains(r.err, "job completed in"));
    CHECK(p.StateIds().empty());
  }

  TEST_CASE("non-TTY progress is one plain line per event then the summary") {
    Platform p;
    test::TempDir cwd;
    auto r = Runner({"run", Jobs("happy-path.json"), "--state", Jobs("happy-path.state.json"), "--keep"},
                    p.discovery_url(), cwd.path());
    REQUIRE(r.exit_code == 0);
    CHECK(Contains(r.out, "step 1 'register-customer' started\n"));
    CHECK(Contains(r.out, "task person#0 dispatched to "));
    CHECK(Contains(r.out, "task person#0 succeeded 201 in "));
    CHECK(Contains(r.out, "step 2 'order-and-follow-up' started\n"));
    CHECK(Contains(r.out, "task order#0 succeeded 201"));
    CHECK(Contains(r.out, "task todo#1 succeeded 201"));
    CHECK(Contains(r.out, "job ended: completed"));
    CHECK(Contains(r.out, "job completed in "));
    CHECK(Contains(r.out, "state kept at "));
    CHECK_FALSE(Contains(r.out, "\x1b["));  // no terminal control sequences in a pipe
    CHECK(p.StateIds().size() == 1);  // --keep
  }

  TEST_CASE("a failed job exits 1 and is reverted and emitted and cleaned up") {
    Platform p;
    test::TempDir cwd;
    const std::string emitted = cwd.path() + "/final.json";
    auto r = Runner({Jobs("revert-on-failure.json"), "--state", Jobs("revert-on-failure.state.json"), "--emit", emitted},
                    p.discovery_url(), cwd.path());
    REQUIRE(r.exit_code == 1);
    CHECK(Contains(r.out, "task order#0 failed 400"));
    CHECK(Contains(r.out, "revert person#0 succeeded"));
    CHECK(Contains(r.out, "revert order#0 succeeded"));
    CHECK(Contains(r.out, "revert todo#1 succeeded"));
    CHECK(Contains(r.out, "job failed in "));
    CHECK(Contains(r.out, "at step 3 'mark-order-lost'"));
    auto state = json::Parse(ReadFile(emitted));
    REQUIRE(state.ok());
    CHECK(state->Find("person") != nullptr);  // written before the failure
    CHECK(state->Find("order") != nullptr);
    CHECK(p.StateIds().empty());  // cleaned up on failure too
  }

  TEST_CASE("an existing state document gives exit 2 without --overwrite and is replaced with it") {
    Platform p;
    test::TempDir cwd;
    p.PutState("fixed-doc", R"({"old": true, "assignee": "nobody"})");
    const std::string state_file = cwd.path() + "/state.json";
    WriteFile(state_file, R"({"id": "fixed-doc", "assignee": "grace",
                             "titles": {"first": "Draft", "second": "Publish"}})");

    auto refused = Runner({Jobs("sequential.json"), "--state", state_file}, p.discovery_url(), cwd.path());
    CHECK(refused.exit_code == 2);
    CHECK(refused.err == "job-runner: Shared state with id 'fixed-doc' already exists. Use --overwrite to replace it.\n");
    REQUIRE(p.GetState("fixed-doc").has_value());
    CHECK(p.GetState("fixed-doc")->Find("old") != nullptr);  // untouched
    CHECK(p.JobCount() == 0);

    auto replaced = Runner({Jobs("sequential.json"), "--state", state_file, "--overwrite", "--keep", "--emit"},
                           p.discovery_url(), cwd.path());
    REQUIRE(replaced.exit_code == 0);
    auto doc = p.GetState("fixed-doc");
    REQUIRE(doc.has_value());
    CHECK(doc->Find("old") == nullptr);  // replaced, not merged
    CHECK(doc->Find("id") == nullptr);
    CHECK(Str(*doc, "assignee") == "grace");
    REQUIRE(doc->Find("first") != nullptr);
    CHECK(Str(*doc->Find("first"), "status") == "done");
    const Value* checklist = doc->Find("checklist");
    REQUIRE(checklist != nullptr);
    CHECK(checklist->AsArray().size() == 2);  // the sequential step listed after both creates
  }

  TEST_CASE("--dry-run prints the plan and changes nothing") {
    Platform p;
    test::TempDir cwd;
    auto r = Runner({Jobs("happy-path.json"), "--state", Jobs("happy-path.state.json"), "--dry-run", "--set",
                     "basket.quantity=7"},
                    p.discovery_url(), cwd.path());
    REQUIRE(r.exit_code == 0);
    CHECK(Contains(r.out, "[dry-run] Would create shared state '"));
    CHECK(Contains(r.out, "\"quantity\": 7"));
    CHECK(Contains(r.out, "[dry-run] Would submit the job to " + p.job_control().url() + "/jobs"));
    CHECK(p.StateIds().empty());
    CHECK(p.JobCount() == 0);
  }

  TEST_CASE(".job-runner.json in the current directory loses to flags and beats defaults") {
    Platform p;
    test::TempDir cwd;
    WriteFile(cwd.path() + "/s.json", R"({"id": "from-config", "assignee": "ada",
                                        "titles": {"first": "One", "second": "Two"}})");
    // stateURL points nowhere: the flag must win. state, keep and emit come from the file.
    WriteFile(cwd.path() + "/.job-runner.json",
              R"({"stateURL": "http://127.0.0.1:9", "state": "s.json", "keep": true, "emit": "out.json"})");
    auto r = Runner({Jobs("sequential.json"), "--state-url", p.state_url()}, p.discovery_url(), cwd.path());
    REQUIRE(r.exit_code == 0);
    CHECK(p.GetState("from-config").has_value());  // keep, and the state file, from the config
    auto emitted = json::Parse(ReadFile(cwd.path() + "/out.json"));
    REQUIRE(emitted.ok());
    CHECK(Str(*emitted, "assignee") == "ada");

    // Without the flag the config's (unreachable) stateURL is used: the platform cannot be reached.
    auto unreachable = Runner({Jobs("sequential.json"), "--overwrite"}, p.discovery_url(), cwd.path());
    CHECK(unreachable.exit_code == 4);
    CHECK(Contains(unreachable.err, "cannot reach shared-state"));
  }

  TEST_CASE("validate reports a missing service and a missing state field") {
    Platform p;
    test::TempDir cwd;
    WriteFile(cwd.path() + "/job.json", R"({"steps": [
      {"name": "a", "tasks": [{"tag": "nosuch", "input": {"x": 1}}]},
      {"name": "b", "tasks": [{"tag": "person", "input": {"command": "read", "resource": "person",
                                 "id": {"$fromState": "/missing/id"}}}]}]})");
    WriteFile(cwd.path() + "/state.json", R"({"present": 1})");
    auto r = Runner({"validate", "job.json", "--state", "state.json"}, p.discovery_url(), cwd.path());
    CHECK(r.exit_code == 1);
    CHECK(Contains(r.out, "steps[0].tasks[0].tag: no service is registered in discovery for tag 'nosuch'"));
    CHECK(Contains(r.out, "steps[1].tasks[0].input.id.$fromState: '/missing/id' is not in the state"));
    CHECK(Contains(r.out, "2 problems"));

    auto ok = Runner({"validate", Jobs("happy-path.json"), "--state", Jobs("happy-path.state.json")}, p.discovery_url(),
                     cwd.path());
    CHECK(ok.exit_code == 0);
    CHECK(Contains(ok.out, ": ok ("));
  }

  TEST_CASE("status and list and events and state show what a run did") {
    Platform p;
    test::TempDir cwd;
    auto run = Runner({Jobs("revert-on-failure.json"), "--state", Jobs("revert-on-failure.state.json"), "--quiet"},
                      p.discovery_url(), cwd.path());
    REQUIRE(run.exit_code == 1);
    CHECK(run.out.empty());  // --quiet
    auto listed = Runner({"list", "--status", "failed", "--json"}, p.discovery_url(), cwd.path());
    REQUIRE(listed.exit_code == 0);
    auto jobs = json::Parse(listed.out);
    REQUIRE(jobs.ok());
    REQUIRE(jobs->AsArray().size() == 1);
    const std::string id = Str(jobs->AsArray()[0], "id");

    auto status = Runner({"status", id}, p.discovery_url(), cwd.path());
    CHECK(status.exit_code == 0);
    CHECK(Contains(status.out, "job order-with-bad-status"));
    CHECK(Contains(status.out, "step 3 mark-order-lost"));
    CHECK(Contains(status.out, "job failed"));
    CHECK(Contains(status.out, "reverted"));

    auto events = Runner({"events", id}, p.discovery_url(), cwd.path());
    CHECK(events.exit_code == 0);
    CHECK(Contains(events.out, "step 1 'register-customer' started"));
    CHECK(Contains(events.out, "revert person#0 succeeded"));

    CHECK(Runner({"list", "--status", "completed"}, p.discovery_url(), cwd.path()).out == "no completed jobs\n");
    CHECK(Runner({"status", "no-such-job"}, p.discovery_url(), cwd.path()).exit_code == 1);

    WriteFile(cwd.path() + "/doc.json", R"({"a": 1})");
    CHECK(Runner({"state", "put", "doc-x", "doc.json"}, p.discovery_url(), cwd.path()).exit_code == 0);
    auto got = Runner({"state", "get", "doc-x"}, p.discovery_url(), cwd.path());
    CHECK(got.exit_code == 0);
    CHECK(*json::Parse(got.out) == J(R"({"a": 1})"));
    CHECK(Runner({"state", "delete", "doc-x"}, p.discovery_url(), cwd.path()).exit_code == 0);
    CHECK(Runner({"state", "get", "doc-x"}, p.discovery_url(), cwd.path()).exit_code == 1);
  }

  TEST_CASE("--timeout cancels a job that does not end and exits 1") {
    Platform p;
    HangingService hang(p.discovery_url());
    test::TempDir cwd;
    WriteFile(cwd.path() + "/hang.json", kHangingJob);
    auto run = Runner({"run", "hang.json", "--timeout", "1s"}, p.discovery_url(), cwd.path());
    CHECK(run.exit_code == 1);
    CHECK(hang.parked() >= 1);
    auto listed = Runner({"list", "--status", "cancelled", "--json"}, p.discovery_url(), cwd.path());
    REQUIRE(listed.exit_code == 0);
    auto jobs = json::Parse(listed.out);
    REQUIRE(jobs.ok());
    CHECK(jobs->AsArray().size() == 1);
  }

  TEST_CASE("cancel stops a running job and watch follows it to its end") {
    Platform p;
    HangingService hang(p.discovery_url());
    test::TempDir cwd;
    WriteFile(cwd.path() + "/hang.json", kHangingJob);
    http_client::CurlClient http;
    auto submitted = http.PostJson(p.job_control().url() + "/jobs", *json::Parse(kHangingJob));
    REQUIRE(submitted.ok());
    REQUIRE(submitted->status == 202);
    const std::string id = Str(*submitted->Json(), "jobId");
    REQUIRE(test::WaitFor([&] { return hang.parked() >= 1; }, 10s));  // the task is in flight

    auto cancel = Runner({"cancel", id}, p.discovery_url(), cwd.path());
    CHECK(cancel.exit_code == 0);
    auto watch = Runner({"watch", id}, p.discovery_url(), cwd.path());
    CHECK(watch.exit_code == 1);  // cancelled: what ran was reverted
    CHECK(Contains(watch.out, "cancel"));
    auto job = http.Get(p.job_control().url() + "/jobs/" + id);
    REQUIRE(job.ok());
    CHECK(Str(*job->Json(), "status") == "cancelled");
  }

  TEST_CASE("doctor on a platform with one component down") {
    Platform p;
    test::TempDir cwd;
    auto healthy = Runner({"doctor"}, p.discovery_url(), cwd.path());
    CHECK(healthy.exit_code == 0);
    CHECK(Contains(healthy.out, "everything looks fine"));

    p.job_control().Kill();  // still registered, no longer answering
    auto r = Runner({"doctor"}, p.discovery_url(), cwd.path());
    CHECK(r.exit_code == 1);
    CHECK(Contains(r.out, "✗ job-control"));
    CHECK(Contains(r.out, "fix: "));
    CHECK(Contains(r.out, "scripts/start-all.sh"));
    CHECK(Contains(r.out, "✓ shared-state"));
    CHECK(Contains(r.out, "1 problem found"));
  }

  TEST_CASE("doctor names a component that is not registered") {
    Platform p(/*with_job_control=*/false);
    test::TempDir cwd;
    auto r = Runner({"doctor"}, p.discovery_url(), cwd.path());
    CHECK(r.exit_code == 1);
    CHECK(Contains(r.out, "job-control  not registered in discovery"));
    CHECK(Contains(r.out, "start it with scripts/start-all.sh"));
  }

  TEST_CASE("exit codes without a platform are 4 unreachable and 2 bad input with one line on stderr") {
    test::TempDir cwd;
    const std::string nowhere = "http://127.0.0.1:" + std::to_string(test::FreePort());
    auto unreachable = Runner({Jobs("happy-path.json"), "--state", Jobs("happy-path.state.json")}, nowhere, cwd.path());
    CHECK(unreachable.exit_code == 4);
    CHECK(Contains(unreachable.err, "cannot reach discovery at " + nowhere));
    CHECK(std::count(unreachable.err.begin(), unreachable.err.end(), '\n') == 1);

    WriteFile(cwd.path() + "/broken.json", "{\"steps\": [");
    auto broken = Runner({"broken.json"}, nowhere, cwd.path());
    CHECK(broken.exit_code == 2);
    CHECK(Contains(broken.err, "job file broken.json: invalid JSON at offset"));
    CHECK(std::count(broken.err.begin(), broken.err.end(), '\n') == 1);

    auto unknown = Runner({"stauts"}, nowhere, cwd.path());
    CHECK(unknown.exit_code == 2);
    CHECK(Contains(unknown.err, "did you mean 'status'"));
  }
}

}  // namespace csp::job_runner::itest
