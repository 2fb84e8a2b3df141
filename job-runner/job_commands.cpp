// status, list, watch, events, cancel: looking at jobs that already exist.

#include <ostream>

#include "api.h"
#include "commands.h"
#include "csp/core/time.h"
#include "csp/json/json.h"
#include "exit_codes.h"
#include "follow.h"
#include "render.h"

namespace csp::job_runner {
namespace {

Result<std::string> OneJobId(Env& env, const char* command) {
  if (env.options.args.size() != 1) {
    return InvalidArgument(std::string(command) + ": expected one job id (job-runner " + command + " <jobId>)");
  }
  return env.options.args.front();
}

Style TerminalStyle(const Env& env) {
  Style style;
  style.color = env.terminal.out_tty && env.terminal.color;
  style.width = env.terminal.out_tty ? env.terminal.width : 0;
  return style;
}

std::string Text(const json::Value& v, const char* key) {
  const json::Value* f = v.Find(key);
  if (f == nullptr || f->IsNull()) return "";
  return f->IsString() ? f->AsString() : json::Dump(*f);
}

// "2026-11-22T10:00:00.000Z" -> "2026-11-22 10:00:00"
std::string ShortTime(const std::string& iso) {
  if (iso.size() < 19) return iso;
  std::string out = iso.substr(0, 19);
  out[10] = ' ';
  return out;
}

std::string Took(const json::Value& job) {
  auto start = ParseIso8601(Text(job, "startedAt").empty() ? Text(job, "createdAt") : Text(job, "startedAt"));
  auto end = ParseIso8601(Text(job, "completedAt"));
  if (!start || !end) return "";
  return FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(*end - *start));
}

// A view of a job from its record; the submitted document, when the record carries it, names the
// steps and tasks that have not run.
JobView ViewOfRecord(const std::string& id, const json::Value& record) {
  JobView view;
  for (const char* key : {"document", "job", "definition"}) {
    const json::Value* doc = record.Find(key);
    if (doc != nullptr && doc->IsObject() && doc->Find("steps") != nullptr) view = JobView::FromDocument(*doc);
  }
  view.id = id;
  return view;
}

}  // namespace

int StatusCommand(Env& env) {
  auto id = OneJobId(env, "status");
  if (!id) return UsageError(env, id.error().message);
  Api api(env.options, env.http, env.options.verbose ? &env.err : nullptr);
  auto record = api.GetJob(*id);
  if (!record) return Fail(env, record.error());
  if (env.options.json) {
    env.out << json::DumpPretty(*record) << "\n";
    return kExitOk;
  }
  JobView view = ViewOfRecord(*id, *record);
  view.ApplyRecord(*record);
  const Style style = TerminalStyle(env);
  for (const auto& line : RenderTree(view, NowMs(), style)) env.out << line << "\n";
  env.out << Summary(view, NowMs(), style) << "\n";
  if (!view.state_url.empty()) env.out << "state: " << view.state_url << "\n";
  return kExitOk;
}

int ListCommand(Env& env) {
  if (!env.options.args.empty()) return UsageError(env, "list: takes no arguments (filter with --status S)");
  Api api(env.options, env.http, env.options.verbose ? &env.err : nullptr);
  auto jobs = api.ListJobs(env.options.status_filter);
  if (!jobs) return Fail(env, jobs.error());
  if (env.options.json) {
    env.out << json::DumpPretty(*jobs) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{{"ID", "STATUS", "NAME", "CREATED", "TOOK", "ERROR"}};
  for (const auto& job : jobs->AsArray()) {
    std::string error = Text(job, "error");
    if (const json::Value* e = job.Find("error"); e != nullptr && e->IsObject()) error = Text(*e, "error");
    rows.push_back({Text(job, "id").empty() ? Text(job, "jobId") : Text(job, "id"), Text(job, "status"),
                    Text(job, "name"), ShortTime(Text(job, "createdAt")), Took(job), Truncate(error, 60)});
  }
  if (rows.size() == 1) {
    env.out << (env.options.status_filter.empty() ? "no jobs\n" : "no " + env.options.status_filter + " jobs\n");
    return kExitOk;
  }
  env.out << FormatTable(rows);
  return kExitOk;
}

int WatchCommand(Env& env) {
  auto id = OneJobId(env, "watch");
  if (!id) return UsageError(env, id.error().message);
  Api api(env.options, env.http, env.options.verbose ? &env.err : nullptr);
  auto record = api.GetJob(*id);
  if (!record) return Fail(env, record.error());
  JobView view = ViewOfRecord(*id, *record);
  ProgressMode mode = env.terminal.out_tty ? ProgressMode::kTree : ProgressMode::kLines;
  if (env.options.quiet) mode = ProgressMode::kQuiet;
  auto progress = MakeProgress(mode, env.out, TerminalStyle(env), env.terminal.height);
  FollowOptions fo;
  fo.wait = mode == ProgressMode::kTree ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(5000);
  fo.timeout = env.options.timeout;
  fo.interrupts = env.interrupts;
  auto followed = Follow(api, std::move(view), *progress, fo, env.err);
  if (!followed) {
    return followed.error().code == ErrorCode::kFailedPrecondition ? 130 : Fail(env, followed.error());
  }
  progress->OnEnd(*followed);
  if (env.options.json) {
    if (auto final_record = api.GetJob(*id)) env.out << json::DumpPretty(*final_record) << "\n";
  }
  return ExitCodeForJobStatus(followed->status);
}

int EventsCommand(Env& env) {
  auto id = OneJobId(env, "events");
  if (!id) return UsageError(env, id.error().message);
  Api api(env.options, env.http, env.options.verbose ? &env.err : nullptr);
  auto events = api.Events(*id, env.options.after, std::chrono::milliseconds(0));
  if (!events) return Fail(env, events.error());
  if (!*events) return Fail(env, Error(ErrorCode::kUnimplemented, "this job-control has no event log (GET /jobs/:id/events)"));
  if (env.options.json) {
    env.out << json::DumpPretty(json::Value(**events)) << "\n";
    return kExitOk;
  }
  JobView view;
  view.id = *id;
  if (auto record = api.GetJob(*id)) view = ViewOfRecord(*id, *record);
  for (const auto& raw : **events) {
    Event e = ParseEvent(raw);
    view.Apply(e);
    const std::string line = FormatEventLine(e, view);
    std::string at;
    if (e.at_ms) at = FormatIso8601(FromUnixMillis(*e.at_ms));
    env.out << e.seq << "  " << at << "  " << (line.empty() ? e.type : line) << "\n";
  }
  return kExitOk;
}

int CancelCommand(Env& env) {
  auto id = OneJobId(env, "cancel");
  if (!id) return UsageError(env, id.error().message);
  Api api(env.options, env.http, env.options.verbose ? &env.err : nullptr);
  auto reply = api.CancelJob(*id);
  if (!reply) return Fail(env, reply.error());
  if (env.options.json) {
    env.out << json::DumpPretty(*reply) << "\n";
    return kExitOk;
  }
  std::string status = Text(*reply, "status");
  env.out << "job " << *id << ": cancel requested" << (status.empty() ? "" : " (status " + status + ")")
          << "; follow it with: job-runner watch " << *id << "\n";
  return kExitOk;
}

}  // namespace csp::job_runner
