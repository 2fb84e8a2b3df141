// Field lookups try several spellings because the CLI must keep working while job-control's
// event and record shapes evolve; a field that is missing just leaves that detail blank.

#include "job_view.h"

#include <algorithm>
#include <cctype>

#include "csp/core/time.h"
#include "csp/json/json.h"

namespace csp::job_runner {
namespace {

// The member `key` of the event itself, else of its "data" / "details" object.
const json::Value* Field(const json::Value& v, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    const json::Value* found = v.Find(key);
    if (found != nullptr && !found->IsNull()) return found;
  }
  for (const char* container : {"data", "details"}) {
    const json::Value* inner = v.Find(container);
    if (inner == nullptr || !inner->IsObject()) continue;
    for (const char* key : keys) {
      const json::Value* found = inner->Find(key);
      if (found != nullptr && !found->IsNull()) return found;
    }
  }
  return nullptr;
}

std::string StringField(const json::Value& v, std::initializer_list<const char*> keys) {
  const json::Value* f = Field(v, keys);
  return f != nullptr && f->IsString() ? f->AsString() : "";
}

std::optional<int64_t> IntField(const json::Value& v, std::initializer_list<const char*> keys) {
  const json::Value* f = Field(v, keys);
  if (f == nullptr || !f->IsNumber()) return std::nullopt;
  return static_cast<int64_t>(f->AsDouble());
}

// A time as Unix ms from a number (ms) or an ISO 8601 string.
std::optional<int64_t> TimeField(const json::Value& v, std::initializer_list<const char*> keys) {
  const json::Value* f = Field(v, keys);
  if (f == nullptr) return std::nullopt;
  if (f->IsNumber()) return static_cast<int64_t>(f->AsDouble());
  if (!f->IsString()) return std::nullopt;
  auto t = ParseIso8601(f->AsString());
  if (!t) return std::nullopt;
  return ToUnixMillis(*t);
}

// An error as text: a string, or an object's "error"/"message".
std::string ErrorText(const json::Value* e) {
  if (e == nullptr) return "";
  if (e->IsString()) return e->AsString();
  if (!e->IsObject()) return json::Dump(*e);
  for (const char* key : {"error", "message"}) {
    const json::Value* inner = e->Find(key);
    if (inner != nullptr && inner->IsString()) return inner->AsString();
    if (inner != nullptr && inner->IsObject()) return ErrorText(inner);
  }
  return json::Dump(*e);
}

std::string Normalize(const std::string& type) {
  std::string out;
  for (size_t i = 0; i < type.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(type[i]);
    if (std::isupper(c) && i > 0 && std::islower(static_cast<unsigned char>(type[i - 1]))) out += ' ';
    if (c == '_' || c == '.' || c == '-' || c == ':' || c == '/') {
      out += ' ';
      continue;
    }
    out += static_cast<char>(std::tolower(c));
  }
  std::string collapsed;
  for (char c : out) {
    if (c == ' ' && (collapsed.empty() || collapsed.back() == ' ')) continue;
    collapsed += c;
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  return collapsed;
}

bool OneOf(const std::string& s, std::initializer_list<const char*> options) {
  return std::any_of(options.begin(), options.end(), [&](const char* o) { return s == o; });
}

std::string StatusFromEndType(const std::string& t) {
  if (t.find("revert failed") != std::string::npos) return "revert-failed";
  if (t.find("cancel") != std::string::npos) return "cancelled";
  if (t.find("fail") != std::string::npos) return "failed";
  if (t.find("complete") != std::string::npos || t.find("succeed") != std::string::npos) return "completed";
  return "";
}

std::string CommandOf(const json::Value& task) {
  const json::Value* input = task.Find("input");
  if (input == nullptr) return "";
  const json::Value* command = input->Find("command");
  return command != nullptr && command->IsString() ? command->AsString() : "";
}

std::string LabelOf(const json::Value& task) {
  for (const char* key : {"tag", "serviceName", "url", "label"}) {
    const json::Value* v = task.Find(key);
    if (v != nullptr && v->IsString() && !v->AsString().empty()) return v->AsString();
  }
  return "?";
}

bool Settled(const TaskView& t) { return t.status == "succeeded" || t.status == "failed" || t.status == "skipped"; }

// A running step whose tasks have all settled is over.
void SettleStep(StepView& step, std::optional<int64_t> at) {
  if (step.status != "running" || step.tasks.empty()) return;
  if (!std::all_of(step.tasks.begin(), step.tasks.end(), Settled)) return;
  const bool failed = std::any_of(step.tasks.begin(), step.tasks.end(), [](const TaskView& t) { return t.status == "failed"; });
  step.status = failed ? "failed" : "succeeded";
  if (at) step.ended_ms = at;
}

// Record task/step statuses use job-control's words; map the few synonyms onto ours.
std::string TaskStatusWord(const std::string& s) {
  if (s == "ok" || s == "completed" || s == "done") return "succeeded";
  if (s == "error") return "failed";
  if (s == "running" || s == "sent") return "dispatched";
  return s;
}

}  // namespace

std::string EventWords(const std::string& type) { return Normalize(type); }

EventKind KindOf(const std::string& type) {
  const std::string t = Normalize(type);
  if (OneOf(t, {"job accepted", "accepted", "job queued", "job created", "job submitted"})) return EventKind::kJobAccepted;
  if (OneOf(t, {"job started", "job running", "job resumed"})) return EventKind::kJobStarted;
  if (OneOf(t, {"step started", "step start", "step running"})) return EventKind::kStepStarted;
  if (OneOf(t, {"step skipped"})) return EventKind::kStepSkipped;
  if (OneOf(t, {"step ended", "step completed", "step succeeded", "step finished", "step failed"})) return EventKind::kStepEnded;
  if (OneOf(t, {"task dispatched", "task started", "task sent", "task attempt", "task redispatched", "task resent"})) {
    return EventKind::kTaskDispatched;
  }
  if (OneOf(t, {"task retrying", "task retry", "task retry scheduled", "task attempt failed"})) return EventKind::kTaskRetrying;
  if (OneOf(t, {"task succeeded", "task completed", "task ok", "task done"})) return EventKind::kTaskSucceeded;
  if (OneOf(t, {"task failed", "task error"})) return EventKind::kTaskFailed;
  if (OneOf(t, {"task skipped"})) return EventKind::kTaskSkipped;
  if (OneOf(t, {"state written", "state write"})) return EventKind::kStateWritten;
  if (OneOf(t, {"job reverting", "reverting", "revert started job", "job revert started"})) return EventKind::kReverting;
  if (OneOf(t, {"revert sent", "revert started", "revert dispatched", "task revert sent"})) return EventKind::kRevertSent;
  if (OneOf(t, {"revert succeeded", "revert completed", "revert ok", "task reverted"})) return EventKind::kRevertSucceeded;
  if (OneOf(t, {"revert failed", "task revert failed"})) return EventKind::kRevertFailed;
  if (OneOf(t, {"cancel requested", "job cancel requested", "job cancelling", "cancelling"})) return EventKind::kCancelRequested;
  if (OneOf(t, {"job ended", "job completed", "job failed", "job finished", "job cancelled", "job canceled",
                "job revert failed", "job succeeded", "ended"})) {
    return EventKind::kJobEnded;
  }
  return EventKind::kOther;
}

Event ParseEvent(const json::Value& v) {
  Event e;
  e.raw = v;
  e.seq = IntField(v, {"seq", "sequence", "id"}).value_or(0);
  e.at_ms = TimeField(v, {"at", "time", "timestamp"});
  e.type = StringField(v, {"type", "event", "kind"});
  e.kind = KindOf(e.type);

  if (const json::Value* step = Field(v, {"step", "stepIndex", "step_index"})) {
    if (step->IsNumber()) e.step = static_cast<int>(step->AsDouble());
    if (step->IsObject()) {
      if (auto index = IntField(*step, {"index"})) e.step = static_cast<int>(*index);
      e.step_name = StringField(*step, {"name"});
    }
  }
  if (e.step_name.empty()) e.step_name = StringField(v, {"stepName", "step_name"});
  const bool step_event = e.kind == EventKind::kStepStarted || e.kind == EventKind::kStepSkipped ||
                          e.kind == EventKind::kStepEnded;
  if (e.step_name.empty() && step_event) e.step_name = StringField(v, {"name"});
  if (const json::Value* task = Field(v, {"task", "taskIndex", "task_index"})) {
    if (task->IsNumber()) e.task = static_cast<int>(task->AsDouble());
    if (task->IsString()) e.label = task->AsString();
  }
  if (e.label.empty()) e.label = StringField(v, {"tag", "label", "taskLabel", "serviceName"});
  e.service = StringField(v, {"service", "serviceURL", "serviceUrl", "service_url", "serviceName"});
  e.url = StringField(v, {"url", "endpoint", "href", "target", "stateURL"});
  e.request_id = StringField(v, {"requestId", "request_id"});
  e.error = ErrorText(Field(v, {"error", "message", "reason"}));
  e.attempt = static_cast<int>(IntField(v, {"attempt", "attempts"}).value_or(0));
  if (auto s = IntField(v, {"httpStatus", "http_status", "statusCode", "status_code", "status"})) {
    e.http_status = static_cast<int>(*s);
  }
  e.duration_ms = IntField(v, {"durationMs", "duration_ms", "elapsedMs", "tookMs", "duration"});
  e.delay_ms = IntField(v, {"delayMs", "delay_ms", "retryInMs", "backoffMs", "retryAfterMs"});

  if (const json::Value* path = Field(v, {"path", "targetPath", "paths", "targets"})) {
    if (path->IsString()) e.path = path->AsString();
    if (path->IsArray()) {
      for (const auto& p : path->AsArray()) {
        if (!p.IsString()) continue;
        e.path += (e.path.empty() ? "" : ", ") + p.AsString();
      }
    }
  }
  e.job_status = StringField(v, {"jobStatus", "job_status", "status"});
  if (e.kind == EventKind::kJobEnded && e.job_status.empty()) e.job_status = StatusFromEndType(Normalize(e.type));
  return e;
}

bool IsTerminalStatus(const std::string& status) {
  return status == "completed" || status == "failed" || status == "revert-failed" || status == "cancelled";
}

JobView JobView::FromDocument(const json::Value& job) {
  JobView view;
  if (const json::Value* name = job.Find("name"); name != nullptr && name->IsString()) view.name = name->AsString();
  const json::Value* steps = job.Find("steps");
  if (steps == nullptr || !steps->IsArray()) return view;
  for (const auto& s : steps->AsArray()) {
    StepView step;
    if (const json::Value* n = s.Find("name"); n != nullptr && n->IsString()) step.name = n->AsString();
    if (const json::Value* m = s.Find("mode"); m != nullptr && m->IsString() && m->AsString() != "execute" &&
                                               m->AsString() != "parallel") {
      step.mode = m->AsString();
    }
    const json::Value* enabled = s.Find("enabled");
    const bool step_off = enabled != nullptr && enabled->IsBool() && !enabled->AsBool();
    if (const json::Value* tasks = s.Find("tasks"); tasks != nullptr && tasks->IsArray()) {
      for (const auto& t : tasks->AsArray()) {
        TaskView task;
        task.label = LabelOf(t);
        task.command = CommandOf(t);
        const json::Value* task_enabled = t.Find("enabled");
        if (step_off || (task_enabled != nullptr && task_enabled->IsBool() && !task_enabled->AsBool())) {
          task.status = "skipped";
        }
        step.tasks.push_back(std::move(task));
      }
    }
    if (step_off || std::all_of(step.tasks.begin(), step.tasks.end(),
                                [](const TaskView& t) { return t.status == "skipped"; })) {
      step.status = "skipped";
    }
    view.steps.push_back(std::move(step));
  }
  return view;
}

StepView& JobView::Step(int index) {
  if (index < 0) index = 0;
  if (static_cast<size_t>(index) >= steps.size()) steps.resize(static_cast<size_t>(index) + 1);
  return steps[static_cast<size_t>(index)];
}

TaskView& JobView::Task(int step, int task) {
  StepView& s = Step(step);
  if (task < 0) task = 0;
  if (static_cast<size_t>(task) >= s.tasks.size()) s.tasks.resize(static_cast<size_t>(task) + 1);
  return s.tasks[static_cast<size_t>(task)];
}

bool JobView::Ended() const { return IsTerminalStatus(status); }

int JobView::TaskCount() const {
  int n = 0;
  for (const auto& s : steps) n += static_cast<int>(s.tasks.size());
  return n;
}

void JobView::Apply(const Event& e) {
  if (e.seq != 0 && e.seq <= last_seq) return;
  if (e.seq != 0) last_seq = e.seq;
  TaskView* task = nullptr;
  if (e.step && e.task) {
    task = &Task(*e.step, *e.task);
    if ((task->label.empty() || task->label == "?") && !e.label.empty()) task->label = e.label;
  }
  if (e.step && !e.step_name.empty() && Step(*e.step).name.empty()) Step(*e.step).name = e.step_name;

  switch (e.kind) {
    case EventKind::kJobAccepted:
      accepted_ms = e.at_ms;
      if (name.empty()) name = StringField(e.raw, {"name"});
      break;
    case EventKind::kJobStarted:
      status = "running";
      if (!started_ms) started_ms = e.at_ms;
      break;
    case EventKind::kStepStarted:
      status = status == "queued" ? "running" : status;
      if (!started_ms) started_ms = e.at_ms;
      if (e.step) {
        Step(*e.step).status = "running";
        Step(*e.step).started_ms = e.at_ms;
      }
      break;
    case EventKind::kStepSkipped:
      if (e.step) {
        Step(*e.step).status = "skipped";
        for (auto& t : Step(*e.step).tasks) t.status = "skipped";
      }
      break;
    case EventKind::kStepEnded:
      if (e.step) {
        StepView& s = Step(*e.step);
        const std::string word = Normalize(e.type);
        s.status = word.find("fail") != std::string::npos || e.job_status == "failed" ? "failed" : "succeeded";
        s.ended_ms = e.at_ms;
      }
      break;
    case EventKind::kTaskDispatched:
      if (task == nullptr) break;
      task->status = "dispatched";
      task->attempts = std::max(task->attempts + (e.attempt == 0 ? 1 : 0), e.attempt);
      if (!e.service.empty()) task->service = e.service;
      if (!task->started_ms) task->started_ms = e.at_ms;
      if (e.step && Step(*e.step).status == "pending") Step(*e.step).status = "running";
      break;
    case EventKind::kTaskRetrying:
      if (task == nullptr) break;
      task->status = "retrying";
      task->error = e.error;
      task->http_status = e.http_status;
      break;
    case EventKind::kTaskSucceeded:
    case EventKind::kTaskFailed:
      if (task == nullptr) break;
      task->status = e.kind == EventKind::kTaskSucceeded ? "succeeded" : "failed";
      task->attempts = std::max({task->attempts, e.attempt, 1});
      if (e.http_status) task->http_status = e.http_status;
      if (!e.service.empty()) task->service = e.service;
      task->duration_ms = e.duration_ms;
      if (!task->duration_ms && task->started_ms && e.at_ms) task->duration_ms = *e.at_ms - *task->started_ms;
      task->error = e.error;
      if (e.kind == EventKind::kTaskFailed && failed_task.empty()) failed_task = task->label;
      SettleStep(Step(*e.step), e.at_ms);
      break;
    case EventKind::kTaskSkipped:
      if (task == nullptr) break;
      task->status = "skipped";
      SettleStep(Step(*e.step), e.at_ms);
      break;
    case EventKind::kReverting:
      status = "reverting";
      if (error.empty()) error = e.error;
      break;
    case EventKind::kRevertSent:
      if (task != nullptr) task->revert = "sent";
      if (status == "running") status = "reverting";
      break;
    case EventKind::kRevertSucceeded:
      if (task != nullptr) task->revert = "succeeded";
      break;
    case EventKind::kRevertFailed:
      if (task != nullptr) {
        task->revert = "failed";
        task->revert_error = e.error;
      }
      break;
    case EventKind::kJobEnded:
      if (!e.job_status.empty()) status = e.job_status;
      ended_ms = e.at_ms;
      if (error.empty()) error = e.error;
      for (auto& s : steps) SettleStep(s, e.at_ms);
      break;
    case EventKind::kStateWritten:
    case EventKind::kCancelRequested:
    case EventKind::kOther:
      break;
  }
}

void JobView::ApplyRecord(const json::Value& record) {
  if (auto v = StringField(record, {"id", "jobId"}); !v.empty()) id = v;
  if (auto v = StringField(record, {"name"}); !v.empty()) name = v;
  if (auto v = StringField(record, {"status"}); !v.empty()) status = v;
  if (auto v = StringField(record, {"sharedStateURL", "stateURL", "stateUrl", "state_url"}); !v.empty()) state_url = v;
  if (const json::Value* e = record.Find("error"); e != nullptr && !e->IsNull()) {
    error = ErrorText(e);
    if (e->IsObject()) {
      if (auto t = StringField(*e, {"task", "tag"}); !t.empty()) failed_task = t;
    }
  }
  if (auto t = StringField(record, {"failedTask"}); !t.empty()) failed_task = t;
  if (auto t = TimeField(record, {"createdAt", "acceptedAt"})) accepted_ms = t;
  if (auto t = TimeField(record, {"startedAt"})) started_ms = t;
  if (auto t = TimeField(record, {"completedAt", "endedAt", "finishedAt"})) ended_ms = t;

  // Step details: "stepDetails" (ours; "steps" stays the original's count) or a "steps" array.
  const json::Value* ss = record.Find("stepDetails");
  if (ss == nullptr || !ss->IsArray()) ss = record.Find("steps");
  if (ss != nullptr && ss->IsArray()) {
    for (size_t i = 0; i < ss->AsArray().size(); ++i) {
      const json::Value& s = ss->AsArray()[i];
      StepView& step = Step(static_cast<int>(i));
      if (auto n = StringField(s, {"name"}); !n.empty()) step.name = n;
      if (StringField(s, {"concurrency"}) == "sequential") step.mode = "sequential";
      if (auto m = StringField(s, {"mode"}); !m.empty() && m != "execute" && m != "parallel") step.mode = m;
      if (auto st = StringField(s, {"status"}); !st.empty()) step.status = TaskStatusWord(st);
      if (auto t = TimeField(s, {"startedAt"})) step.started_ms = t;
      if (auto t = TimeField(s, {"completedAt", "endedAt", "finishedAt"})) step.ended_ms = t;
      const json::Value* ts = s.Find("tasks");
      if (ts == nullptr || !ts->IsArray()) continue;
      for (size_t j = 0; j < ts->AsArray().size(); ++j) {
        const json::Value& t = ts->AsArray()[j];
        TaskView& task = Task(static_cast<int>(i), static_cast<int>(j));
        if (auto l = StringField(t, {"label", "tag", "serviceName", "url"}); !l.empty()) task.label = l;
        if (auto st = StringField(t, {"status"}); !st.empty()) task.status = TaskStatusWord(st);
        if (auto sv = StringField(t, {"service", "serviceURL", "serviceUrl"}); !sv.empty()) task.service = sv;
        if (auto a = IntField(t, {"attempts", "attempt"})) task.attempts = static_cast<int>(*a);
        if (auto h = IntField(t, {"httpStatus", "http_status", "statusCode"})) task.http_status = static_cast<int>(*h);
        if (auto d = IntField(t, {"durationMs", "duration_ms"})) task.duration_ms = d;
        auto started = TimeField(t, {"startedAt"});
        auto finished = TimeField(t, {"finishedAt", "completedAt", "endedAt"});
        if (started) task.started_ms = started;
        if (!task.duration_ms && started && finished) task.duration_ms = *finished - *started;
        if (const json::Value* err = t.Find("error"); err != nullptr && !err->IsNull()) {
          task.error = ErrorText(err);
        }
        if (const json::Value* rv = t.Find("revert"); rv != nullptr && rv->IsObject()) {
          task.revert = TaskStatusWord(StringField(*rv, {"status"}));
          task.revert_error = ErrorText(rv->Find("error"));
        }
      }
    }
  }
  if (const json::Value* rs = record.Find("reverts"); rs != nullptr && rs->IsArray()) {
    for (const auto& r : rs->AsArray()) {
      auto s = IntField(r, {"step"});
      auto t = IntField(r, {"task"});
      if (!s || !t) continue;
      TaskView& task = Task(static_cast<int>(*s), static_cast<int>(*t));
      std::string st = TaskStatusWord(StringField(r, {"status"}));
      task.revert = st == "pending" ? "sent" : st;
      task.revert_error = ErrorText(r.Find("error"));
    }
  }
  if (Ended()) {
    for (auto& s : steps) SettleStep(s, ended_ms);
  }
}

}  // namespace csp::job_runner
