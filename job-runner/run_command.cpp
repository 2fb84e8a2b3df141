// `run`: the original job-runner's flow (original-protocol.md §5) with its defects fixed:
// --overwrite replaces instead of merging, the state's id is not stored inside its content, the
// runner emits and cleans up when the job fails too, and nothing but the emitted document goes
// to stdout when emitting there.
//
// The whole initial state (the --state file, then initialState, then --input, then each --set) is
// assembled here and written in one request, so a dry run can show exactly what would be written
// and a failed run never leaves a half-seeded document.

#include <ostream>

#include "commands.h"
#include "csp/core/time.h"
#include "csp/json/json.h"
#include "api.h"
#include "exit_codes.h"
#include "follow.h"
#include "initial_state.h"
#include "render.h"

namespace csp::job_runner {
namespace {

using std::chrono::milliseconds;

// What the run will do, decided before anything changes.
struct Plan {
  json::Value job;            // as it will be submitted
  bool uses_state = false;    // the runner creates (or replaces) a state document
  std::string state_id;
  json::Value state_content;  // the document's content
  std::string state_origin;   // "--state F", "initialState", ... for messages
};

Result<Plan> MakePlan(Env& env, json::Value job) {
  auto state = AssembleInitialState(env.options, job, env.in);
  if (!state) return state.error();
  Plan plan;
  plan.uses_state = state->present;
  plan.state_id = std::move(state->id);
  plan.state_content = std::move(state->content);
  plan.state_origin = std::move(state->origin);
  job.AsObject().Erase("initialState");  // handled here; job-control has no use for it
  plan.job = std::move(job);
  return plan;
}

int CountTasks(const json::Value& job) {
  int n = 0;
  const json::Value* steps = job.Find("steps");
  if (steps == nullptr || !steps->IsArray()) return 0;
  for (const auto& s : steps->AsArray()) {
    const json::Value* tasks = s.Find("tasks");
    if (tasks != nullptr && tasks->IsArray()) n += static_cast<int>(tasks->AsArray().size());
  }
  return n;
}

std::string Describe(const json::Value& job) {
  const json::Value* name = job.Find("name");
  const json::Value* steps = job.Find("steps");
  const size_t step_count = steps != nullptr && steps->IsArray() ? steps->AsArray().size() : 0;
  std::string out = name != nullptr && name->IsString() ? "'" + name->AsString() + "', " : "";
  return out + std::to_string(step_count) + (step_count == 1 ? " step, " : " steps, ") + std::to_string(CountTasks(job)) +
         " tasks";
}

std::string EmitDescription(const Options& o) {
  if (!o.emit) return "";
  return o.emit->to_stdout ? "emit the final state to stdout" : "write the final state to " + o.emit->file;
}

// --dry-run: read-only lookups are fine (they change nothing); writes are only described.
int DryRun(Env& env, Api& api, const Plan& plan) {
  const Options& o = env.options;
  std::ostream& out = env.out;
  out << "[dry-run] job file " << o.args[0] << " (" << Describe(plan.job) << ")\n";
  std::string job_url = "<job-control>";
  if (auto url = api.JobControlUrl()) {
    job_url = *url;
    out << "[dry-run] job-control: " << job_url << " (" << api.JobControlSource() << ")\n";
  } else {
    out << "[dry-run] job-control: not found (" << url.error().message << ")\n";
  }
  std::string doc_url;
  if (plan.uses_state) {
    std::string base = "<shared-state>";
    bool exists = false;
    if (auto url = api.SharedStateUrl()) {
      base = *url;
      out << "[dry-run] shared-state: " << base << " (" << api.SharedStateSource() << ")\n";
      if (auto doc = api.GetDocument(base + "/state/" + plan.state_id); doc && *doc) exists = true;
    } else {
      out << "[dry-run] shared-state: not found (" << url.error().message << ")\n";
    }
    doc_url = base + "/state/" + plan.state_id;
    if (exists && !o.overwrite) {
      out << "[dry-run] Would stop: shared state with id '" << plan.state_id
          << "' already exists. Use --overwrite to replace it.\n";
      return kExitUsage;
    }
    out << "[dry-run] Would " << (exists ? "replace" : "create") << " shared state '" << plan.state_id << "' at "
        << doc_url << " from " << plan.state_origin << ":\n"
        << json::DumpPretty(plan.state_content) << "\n";
  }
  const json::Value* own = plan.job.Find("sharedStateURL");
  out << "[dry-run] Would submit the job to " << job_url << "/jobs";
  if (!doc_url.empty()) out << " with sharedStateURL " << doc_url;
  if (doc_url.empty() && own != nullptr && own->IsString()) out << " (its sharedStateURL: " << own->AsString() << ")";
  out << "\n[dry-run] Would follow the job until it ends";
  if (o.emit) out << ", then " << EmitDescription(o);
  if (plan.uses_state) out << (o.keep ? ", and keep" : ", then delete") << " shared state '" << plan.state_id << "'";
  out << "\n";
  return kExitOk;
}

// Where the progress goes: stdout, unless stdout carries the emitted document or --json.
struct Display {
  std::ostream* stream;
  bool tty;
  ProgressMode mode;
  Style style;
};

Display ChooseDisplay(Env& env) {
  const Options& o = env.options;
  const bool stdout_taken = o.json || (o.emit && o.emit->to_stdout);
  Display d{stdout_taken ? &env.err : &env.out, stdout_taken ? env.terminal.err_tty : env.terminal.out_tty,
            ProgressMode::kLines, Style{}};
  d.style.color = d.tty && env.terminal.color;
  d.style.width = d.tty ? env.terminal.width : 0;
  if (d.tty) d.mode = ProgressMode::kTree;
  if (o.quiet) d.mode = ProgressMode::kQuiet;
  return d;
}

// The state document behind the job: the one the runner made, else the job's own, else the one
// job-control created for it.
std::string StateUrlOf(const std::string& owned_url, const json::Value& job, const JobView& view) {
  if (!owned_url.empty()) return owned_url;
  if (const json::Value* own = job.Find("sharedStateURL"); own != nullptr && own->IsString()) return own->AsString();
  return view.state_url;
}

Status Emit(Env& env, Api& api, const std::string& doc_url) {
  const Options& o = env.options;
  auto doc = api.GetDocument(doc_url);
  if (!doc) return Error(doc.error().code, "cannot emit the state: " + doc.error().message);
  if (!*doc) return NotFound("cannot emit the state: " + doc_url + " does not exist");
  const std::string text = json::DumpPretty(**doc);
  if (o.emit->to_stdout) {
    env.out << text << "\n" << std::flush;
    return Ok();
  }
  return WriteTextFile(o.emit->file, text);
}

class Runner {
 public:
  Runner(Env& env, Api& api, Plan plan) : env_(env), api_(api), plan_(std::move(plan)), display_(ChooseDisplay(env)) {}

  int Run() {
    const Options& o = env_.options;
    auto job_url = api_.JobControlUrl();
    if (!job_url) return Fail(env_, job_url.error());
    Verbose("job-control: " + *job_url + " (" + api_.JobControlSource() + ")");
    if (plan_.uses_state) {
      if (int code = CreateState(); code != kExitOk) return code;
    }
    if (env_.interrupts() > 0) {  // Ctrl-C before anything was submitted: just undo our part
      Cleanup();
      return 130;
    }
    auto submitted = api_.SubmitJob(plan_.job, o.timeout);
    if (!submitted) {
      const int code = Fail(env_, submitted.error());
      Cleanup();
      return code;
    }
    JobView view = JobView::FromDocument(plan_.job);
    view.id = submitted->id;
    Info("job " + view.id + " submitted (" + Describe(plan_.job) + ")");
    int code = kExitOk;
    if (submitted->synchronous) {
      view.status = submitted->status;
      if (const json::Value* e = submitted->reply.Find("error")) view.ApplyRecord(json::Value(json::Object{{"error", *e}}));
      MakeProgress(display_.mode, *display_.stream, display_.style, env_.terminal.height)->OnEnd(view);
    } else {
      auto followed = FollowJob(std::move(view));
      if (!followed) {
        // Still running somewhere: keep the state document so the job can finish.
        env_.err << "job-runner: " << followed.error().message << "\n";
        if (!owned_url_.empty()) env_.err << "job-runner: the state document stays at " << owned_url_ << "\n";
        return followed.error().code == ErrorCode::kFailedPrecondition ? 130 : ExitCodeForError(followed.error());
      }
      view = std::move(*followed);
    }
    code = ExitCodeForJobStatus(view.status);
    const std::string state_url = StateUrlOf(owned_url_, plan_.job, view);
    if (o.emit && state_url.empty()) {
      // As the original: a job without a state document has nothing to emit; not an error.
      env_.err << "job-runner: nothing to emit: the job has no shared-state document\n";
    } else if (o.emit) {
      if (auto s = Emit(env_, api_, state_url); !s) {
        env_.err << "job-runner: " << s.error().message << "\n";
        if (code == kExitOk) code = ExitCodeForError(s.error());
      }
    }
    if (o.json) PrintRecord(view.id);
    Cleanup();
    return code;
  }

 private:
  int CreateState() {
    const Options& o = env_.options;
    auto base = api_.SharedStateUrl();
    if (!base) return Fail(env_, base.error());
    Verbose("shared-state: " + *base + " (" + api_.SharedStateSource() + ")");
    const std::string doc_url = *base + "/state/" + plan_.state_id;
    auto existing = api_.GetDocument(doc_url);
    if (!existing) return Fail(env_, existing.error());
    if (*existing && !o.overwrite) {
      return UsageError(env_, "Shared state with id '" + plan_.state_id + "' already exists. Use --overwrite to replace it.");
    }
    Status written = *existing ? api_.ReplaceDocument(*base, plan_.state_id, plan_.state_content)
                               : api_.CreateDocument(*base, plan_.state_id, plan_.state_content);
    if (!written) {
      if (written.error().code == ErrorCode::kAlreadyExists) return UsageError(env_, written.error().message);
      return Fail(env_, written.error());
    }
    owned_url_ = doc_url;
    plan_.job.Set("sharedStateURL", doc_url);
    Info("state " + plan_.state_id + (*existing ? " replaced" : " created") + " at " + doc_url);
    return kExitOk;
  }

  Result<JobView> FollowJob(JobView view) {
    auto progress = MakeProgress(display_.mode, *display_.stream, display_.style, env_.terminal.height);
    FollowOptions fo;
    fo.wait = display_.mode == ProgressMode::kTree ? milliseconds(1000) : milliseconds(5000);
    fo.timeout = env_.options.timeout;
    fo.interrupts = env_.interrupts;
    auto followed = Follow(api_, std::move(view), *progress, fo, env_.err);
    if (followed) progress->OnEnd(*followed);
    return followed;
  }

  void PrintRecord(const std::string& id) {
    auto record = api_.GetJob(id);
    if (!record) {
      env_.err << "job-runner: " << record.error().message << "\n";
      return;
    }
    env_.out << json::DumpPretty(*record) << "\n" << std::flush;
  }

  // Deletes the state document the runner created, unless --keep. Runs on failure too.
  void Cleanup() {
    if (owned_url_.empty()) return;
    if (env_.options.keep) {
      Info("state kept at " + owned_url_);
      return;
    }
    if (auto s = api_.DeleteDocument(owned_url_); !s) {
      env_.err << "job-runner: could not delete the state document " << owned_url_ << ": " << s.error().message << "\n";
      return;
    }
    Info("state " + plan_.state_id + " deleted");
  }

  void Info(const std::string& line) {
    if (display_.mode == ProgressMode::kQuiet) return;
    *display_.stream << line << "\n" << std::flush;
  }
  void Verbose(const std::string& line) {
    if (env_.options.verbose) env_.err << "[verbose] " << line << "\n";
  }

  Env& env_;
  Api& api_;
  Plan plan_;
  Display display_;
  std::string owned_url_;
};

}  // namespace

int RunCommand(Env& env) {
  const Options& o = env.options;
  if (o.args.empty()) return UsageError(env, "run: missing the job file (job-runner run <jobFile>)");
  if (o.args.size() > 1) {
    return UsageError(env, "run: expected one job file, got " + std::to_string(o.args.size()) + " arguments ('" +
                               o.args[1] + "' is extra; --emit FILE takes the file after it)");
  }
  auto job = ReadJsonObjectFile(o.args[0], "job file", &env.in);
  if (!job) return UsageError(env, job.error().message);
  const json::Value* steps = job->Find("steps");
  if (steps == nullptr || !steps->IsArray()) return UsageError(env, "job file " + o.args[0] + ": expected a \"steps\" array");
  auto plan = MakePlan(env, std::move(*job));
  if (!plan) return UsageError(env, plan.error().message);

  Api api(o, env.http, o.verbose ? &env.err : nullptr);
  if (o.dry_run) return DryRun(env, api, *plan);
  return Runner(env, api, std::move(*plan)).Run();
}

}  // namespace csp::job_runner
