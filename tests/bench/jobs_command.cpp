// job_load jobs: end-to-end job latency and throughput through job-control, plus what each job
// costs the engine (serving time) and every local process (CPU time).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "commands.h"
#include "csp/clients/state.h"
#include "csp/core/id.h"
#include "csp/json/json.h"
#include "flags.h"
#include "measure.h"

namespace csp::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSteps = 3;

struct JobsOptions {
  std::string job_url;
  std::string state_url;
  std::string engine_url;
  int64_t jobs = 200;
  int64_t concurrency = 8;
  int64_t warmup = 5;
  int64_t width = 4;  // tasks per step
  std::string tag = "person";
  std::string run_id;
  std::chrono::milliseconds timeout{60'000};
  std::vector<NamedPid> pids;
  // --via direct: the submitters make the job's own exchanges with shared-state and the engine
  // themselves, without job-control (see RunDirectJob).
  bool direct = false;
};

Result<JobsOptions> ParseJobsOptions(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {"job-url", "state-url", "engine-url", "jobs", "concurrency", "warmup", "width",
                                   "tag", "run-id", "timeout-ms", "pid", "via"});
  if (!flags) return flags.error();
  JobsOptions o;
  const std::string via = flags->String("via", "job-control");
  if (via != "job-control" && via != "direct") return InvalidArgument("--via must be job-control or direct");
  o.direct = via == "direct";
  std::vector<std::string> required = {"state-url", "engine-url"};
  if (!o.direct) required.push_back("job-url");
  if (auto missing = flags->Missing(required); !missing.empty()) {
    return InvalidArgument("missing required flag " + missing.front());
  }
  o.job_url = flags->String("job-url");
  o.state_url = flags->String("state-url");
  o.engine_url = flags->String("engine-url");
  o.tag = flags->String("tag", o.tag);
  o.run_id = flags->String("run-id", std::to_string(std::chrono::system_clock::now().time_since_epoch().count()));
  for (auto [name, target] : {std::pair{"jobs", &o.jobs}, std::pair{"concurrency", &o.concurrency},
                              std::pair{"warmup", &o.warmup}, std::pair{"width", &o.width}}) {
    auto v = flags->Int(name, *target);
    if (!v) return v.error();
    *target = *v;
  }
  auto timeout = flags->Int("timeout-ms", o.timeout.count());
  if (!timeout) return timeout.error();
  o.timeout = std::chrono::milliseconds(*timeout);
  if (o.jobs < 1 || o.concurrency < 1 || o.width < 1) return InvalidArgument("--jobs, --concurrency and --width must be >= 1");
  auto pids = ParseNamedPids(flags->All("pid"));
  if (!pids) return pids.error();
  o.pids = std::move(*pids);
  return o;
}

// Submitter s owns persons <run>-s-0 .. <run>-s-(width-1): concurrent jobs never touch the same
// record, as independent jobs of real users would not.
std::string PersonId(const JobsOptions& o, int64_t submitter, int64_t k) {
  return "bench-" + o.run_id + "-" + std::to_string(submitter) + "-" + std::to_string(k);
}

Status CreatePersons(const JobsOptions& o, http_client::Client& client) {
  for (int64_t s = 0; s < o.concurrency; ++s) {
    for (int64_t k = 0; k < o.width; ++k) {
      json::Value msg = json::Object{{"command", "create"}, {"resource", "person"}, {"id", PersonId(o, s, k)},
                                     {"payload", json::Object{{"email", "bench@example.org"}, {"givenName", "Bench"}}}};
      auto reply = client.PostJson(o.engine_url + "/execute", msg, std::chrono::seconds(10));
      if (!reply) return reply.error();
      if (!reply->ok() && reply->status != 409) {
        return Internal("creating person: HTTP " + std::to_string(reply->status) + " " + reply->body);
      }
    }
  }
  return Ok();
}

json::Value Task(const JobsOptions& o, json::Value input, const std::string& store_at) {
  return json::Object{{"tag", o.tag},
                      {"input", std::move(input)},
                      {"storeResultAt", json::Object{{"targetPath", store_at}, {"sourcePath", "/result"}}}};
}

json::Value FromState(const std::string& pointer) { return json::Object{{"$fromState", pointer}}; }

// Step 1 reads the submitter's persons and stores them; step 2 sets each one's status by the id
// step 1 stored; step 3 updates each one by the id step 2 stored.
json::Value JobDocument(const JobsOptions& o, const std::string& name, int64_t submitter) {
  json::Array read, status, update;
  for (int64_t k = 0; k < o.width; ++k) {
    std::string key = std::to_string(k);
    read.push_back(Task(o, json::Object{{"command", "read"}, {"resource", "person"}, {"id", PersonId(o, submitter, k)}},
                        "/read/" + key));
    status.push_back(Task(o,
                          json::Object{{"command", "status"}, {"resource", "person"}, {"id", FromState("/read/" + key + "/id")},
                                       {"payload", json::Object{{"status", "active"}}}},
                          "/status/" + key));
    update.push_back(Task(o,
                          json::Object{{"command", "update"}, {"resource", "person"}, {"id", FromState("/status/" + key + "/id")},
                                       {"payload", json::Object{{"givenName", name}}}},
                          "/update/" + key));
  }
  auto step = [](const char* step_name, json::Array tasks) {
    return json::Value(json::Object{{"name", step_name}, {"tasks", std::move(tasks)}});
  };
  return json::Object{
      {"name", name},
      {"sharedStateURL", o.state_url + "/state/" + name},
      {"sharedState", json::Object{{"read", json::Object{}}, {"status", json::Object{}}, {"update", json::Object{}}}},
      {"steps", json::Array{step("read", std::move(read)), step("status", std::move(status)),
                            step("update", std::move(update))}}};
}

// One synchronous POST /run-job; the job's wall time in milliseconds, or why it did not complete.
Result<double> RunOneJob(const JobsOptions& o, http_client::Client& client, const std::string& name,
                         int64_t submitter) {
  json::Value doc = JobDocument(o, name, submitter);
  auto start = Clock::now();
  auto reply = client.PostJson(o.job_url + "/run-job", doc, o.timeout);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!reply) return reply.error();
  if (reply->status != 200) {
    return Internal(name + ": HTTP " + std::to_string(reply->status) + " " + reply->body.substr(0, 300));
  }
  return ms;
}

// Runs a submitter's calls side by side on threads it keeps (the caller runs the last call),
// as job-control runs a parallel step's calls on its pool: no thread is started per step.
class Fanout {
 public:
  explicit Fanout(size_t helpers) {
    for (size_t i = 0; i < helpers; ++i) threads_.emplace_back([this, i] { Loop(i); });
  }
  ~Fanout() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Fanout(const Fanout&) = delete;
  Fanout& operator=(const Fanout&) = delete;

  // calls.size() must be at most helpers + 1.
  void Run(const std::vector<std::function<void()>>& calls) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_ = &calls;
      remaining_ = calls.size() - 1;
      ++generation_;
    }
    cv_.notify_all();
    calls.back()();
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return remaining_ == 0; });
    calls_ = nullptr;
  }

 private:
  void Loop(size_t index) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      const auto* calls = calls_;
      if (index + 1 >= calls->size()) continue;
      lock.unlock();
      (*calls)[index]();
      lock.lock();
      if (--remaining_ == 0) done_cv_.notify_one();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  const std::vector<std::function<void()>>* calls_ = nullptr;
  size_t remaining_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// The same job without job-control: the exchanges job-control makes for it, made here, and
// nothing else (no job records, no events, no /run-job exchange). A PATCH merge seeds the
// document; each step takes it from the previous write's reply, makes its K engine calls side by
// side (each with a fresh requestId, so the engine logs it as it does job-control's), and writes
// the K results in one JSON Patch. Its latency and throughput are what the platform could reach if orchestration
// cost nothing.
Result<double> RunDirectJob(const JobsOptions& o, http_client::Client& client, Fanout& fanout, const std::string& name,
                            int64_t submitter) {
  const std::string doc_url = o.state_url + "/state/" + name;
  auto start = Clock::now();
  auto check = [&](const Result<http_client::Response>& r, const char* what) -> Status {
    if (!r) return r.error();
    if (!r->ok())
      return Internal(name + ": " + what + ": HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 300));
    return Ok();
  };
  // The job's own shared-state exchanges go through job-control's client. Like job-control, each
  // step starts from the document the previous write's reply carries, and reads it with a GET
  // only when the reply has none.
  clients::StateClient state(client, o.timeout);
  auto carried = [](json::Value document) -> std::optional<json::Value> {
    if (!document.IsObject()) return std::nullopt;
    return document;
  };
  json::Value seeded;
  if (Status s = state.Merge(
          doc_url, json::Object{{"read", json::Object{}}, {"status", json::Object{}}, {"update", json::Object{}}},
          &seeded);
      !s) {
    return s.error();
  }
  std::optional<json::Value> snapshot = carried(std::move(seeded));

  const char* steps[kSteps] = {"read", "status", "update"};
  const char* sources[kSteps] = {nullptr, "read", "status"};
  for (int step = 0; step < kSteps; ++step) {
    if (!snapshot) {
      auto doc = state.Get(doc_url);
      if (!doc) return doc.error();
      snapshot = std::move(doc->content);
    }
    std::vector<json::Value> results(static_cast<size_t>(o.width));
    std::vector<Status> outcomes(static_cast<size_t>(o.width), Ok());
    std::vector<std::function<void()>> calls;
    for (int64_t k = 0; k < o.width; ++k) {
      std::string id = PersonId(o, submitter, k);
      if (sources[step] != nullptr) {
        const json::Value* from = snapshot->Find(sources[step]);
        const json::Value* entry = from != nullptr ? from->Find(std::to_string(k)) : nullptr;
        const json::Value* stored = entry != nullptr ? entry->Find("id") : nullptr;
        if (stored == nullptr || !stored->IsString()) {
          return Internal(name + ": step " + std::to_string(step + 1) + " finds no id in the document");
        }
        id = stored->AsString();
      }
      json::Object message{
          {"command", steps[step]}, {"resource", "person"}, {"id", id}, {"requestId", NewTimeOrderedUuid()}};
      if (step == 1) message.Set("payload", json::Object{{"status", "active"}});
      if (step == 2) message.Set("payload", json::Object{{"givenName", name}});
      calls.push_back([&, k, body = json::Value(std::move(message))] {
        auto reply = client.PostJson(o.engine_url + "/execute", body, o.timeout);
        Status s = check(reply, "engine call");
        if (s) {
          auto parsed = json::Parse(reply->body);
          const json::Value* result = parsed ? parsed->Find("result") : nullptr;
          if (result == nullptr) {
            s = Internal(name + ": the engine's reply has no result");
          } else {
            results[static_cast<size_t>(k)] = *result;
          }
        }
        outcomes[static_cast<size_t>(k)] = s;
      });
    }
    fanout.Run(calls);
    json::Array ops;
    for (int64_t k = 0; k < o.width; ++k) {
      if (!outcomes[static_cast<size_t>(k)]) return outcomes[static_cast<size_t>(k)].error();
      ops.push_back(json::Object{{"op", "add"},
                                 {"path", std::string("/") + steps[step] + "/" + std::to_string(k)},
                                 {"value", std::move(results[static_cast<size_t>(k)])}});
    }
    json::Value written;
    if (auto w = state.ApplyPatch(doc_url, json::Value(std::move(ops)), "", &written); !w) return w.error();
    snapshot = carried(std::move(written));
  }
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One job, through job-control or (--via direct) without it.
Result<double> RunAnyJob(const JobsOptions& o, http_client::Client& client, Fanout& fanout, const std::string& name,
                         int64_t submitter) {
  return o.direct ? RunDirectJob(o, client, fanout, name, submitter) : RunOneJob(o, client, name, submitter);
}

// What the engine says it spent serving (all routes but /metrics) and each process's CPU time.
struct Snapshot {
  double engine_seconds = 0;
  std::map<std::string, double> cpu_seconds;
};

Result<Snapshot> TakeSnapshot(const JobsOptions& o, http_client::Client& client) {
  Snapshot snap;
  auto metrics = client.Get(o.engine_url + "/metrics", std::chrono::seconds(10));
  if (!metrics) return metrics.error();
  if (!metrics->ok()) return Internal("engine /metrics: HTTP " + std::to_string(metrics->status));
  snap.engine_seconds = SumOfSeries(metrics->body, "http_request_duration_seconds", "route=\"/metrics\"");
  for (const auto& p : o.pids) {
    auto cpu = CpuSeconds(p.pid);
    if (!cpu) return cpu.error();
    snap.cpu_seconds[p.name] += *cpu;
  }
  return snap;
}

struct RunOutcome {
  std::vector<double> latencies_ms;
  double seconds = 0;
  Tally tally;
};

// C submitter threads, each running jobs one after another until N have been started.
void RunMeasured(const JobsOptions& o, http_client::Client& client, RunOutcome& out) {
  std::atomic<int64_t> next{0};
  std::mutex mu;
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int64_t s = 0; s < o.concurrency; ++s) {
    threads.emplace_back([&, s] {
      Fanout fanout(o.direct ? static_cast<size_t>(o.width - 1) : 0);
      for (int64_t n = next++; n < o.jobs; n = next++) {
        auto ms = RunAnyJob(o, client, fanout, "bench-" + o.run_id + "-" + std::to_string(n), s);
        if (!ms) {
          out.tally.Fail(ms.error().message);
          continue;
        }
        out.tally.Ok();
        std::lock_guard<std::mutex> lock(mu);
        out.latencies_ms.push_back(*ms);
      }
    });
  }
  for (auto& t : threads) t.join();
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
}

double Round3(double v) { return static_cast<double>(static_cast<int64_t>(v * 1000.0 + 0.5)) / 1000.0; }

json::Value Report(const JobsOptions& o, const RunOutcome& run, const Snapshot& before, const Snapshot& after) {
  const double completed = static_cast<double>(run.tally.ok());
  const double per = completed > 0 ? completed : 1;
  const double tasks_per_job = static_cast<double>(kSteps * o.width);
  json::Value latency = LatencySummary(run.latencies_ms);
  double engine_ms_per_job = (after.engine_seconds - before.engine_seconds) * 1000.0 / per;
  double mean_ms = latency.Find("mean")->AsDouble();

  json::Value cpu = json::Object{};
  for (const auto& [name, seconds] : after.cpu_seconds) {
    cpu.Set(name, Round3((seconds - before.cpu_seconds.at(name)) * 1000.0 / per));
  }
  json::Value out = json::Object{
      {"jobs", o.jobs},
      {"concurrency", o.concurrency},
      {"direct", o.direct},
      {"completed", run.tally.ok()},
      {"failed", run.tally.failed()},
      {"seconds", Round3(run.seconds)},
      {"jobs_per_s", Round3(run.seconds > 0 ? completed / run.seconds : 0)},
      {"latency_ms", std::move(latency)},
      {"tasks_per_job", tasks_per_job},
      {"engine_ms_per_job", Round3(engine_ms_per_job)},
      // Engine calls of one step overlap, so subtracting their summed time makes this a lower bound.
      {"overhead_ms_per_task", Round3((mean_ms - engine_ms_per_job) / tasks_per_job)},
      {"cpu_ms_per_job", std::move(cpu)},
  };
  if (const json::Value* jc = out.Find("cpu_ms_per_job")->Find("job-control")) {
    out.Set("job_control_cpu_ms_per_task", Round3(jc->AsDouble() / tasks_per_job));
  }
  std::string first_error = run.tally.first_error();
  out.Set("first_error", first_error.empty() ? json::Value() : json::Value(first_error));
  return out;
}

// Still one JSON object on stdout, so the report can say what went wrong.
int Fail(const std::string& what, const Error& e) {
  std::string message = what + ": " + e.message;
  std::fprintf(stderr, "job_load jobs: %s\n", message.c_str());
  std::printf("%s\n", json::Dump(json::Object{{"error", message}}).c_str());
  return 1;
}

}  // namespace

int RunJobs(const std::vector<std::string>& args, http_client::Client& client) {
  auto options = ParseJobsOptions(args);
  if (!options) {
    std::fprintf(stderr, "job_load jobs: %s\n", options.error().message.c_str());
    return 2;
  }
  const JobsOptions& o = *options;
  if (auto s = CreatePersons(o, client); !s) return Fail("setup", s.error());
  // Warm-up: connections, job-control's discovery and forms caches, SQLite page cache.
  Fanout warmup_fanout(o.direct ? static_cast<size_t>(o.width - 1) : 0);
  for (int64_t w = 0; w < o.warmup; ++w) {
    auto ms = RunAnyJob(o, client, warmup_fanout, "bench-" + o.run_id + "-warmup-" + std::to_string(w), 0);
    if (!ms) return Fail("warm-up job", ms.error());
  }
  auto before = TakeSnapshot(o, client);
  if (!before) return Fail("snapshot", before.error());
  RunOutcome run;
  RunMeasured(o, client, run);
  auto after = TakeSnapshot(o, client);
  if (!after) return Fail("snapshot", after.error());
  std::printf("%s\n", json::Dump(Report(o, run, *before, *after)).c_str());
  return run.tally.failed() == 0 ? 0 : 1;
}

}  // namespace csp::bench
