#include "render.h"

#include <algorithm>

#include "csp/core/time.h"

namespace csp::job_runner {
namespace {

constexpr const char* kReset = "\x1b[0m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kCyan = "\x1b[36m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kBold = "\x1b[1m";

std::string Paint(const std::string& text, const char* color, const Style& style) {
  if (!style.color || text.empty()) return text;
  return std::string(color) + text + kReset;
}

std::string Ms(int64_t ms) { return FormatDuration(std::chrono::milliseconds(std::max<int64_t>(ms, 0))); }

std::string Pad(const std::string& s, int width) {
  const int w = DisplayWidth(s);
  return w >= width ? s : s + std::string(static_cast<size_t>(width - w), ' ');
}

std::string StripScheme(const std::string& url) {
  for (const char* scheme : {"http://", "https://"}) {
    if (url.rfind(scheme, 0) == 0) return url.substr(std::char_traits<char>::length(scheme));
  }
  return url;
}

std::string StepTitle(const JobView& view, const std::optional<int>& step, const std::string& event_name) {
  if (!step) return "step";
  std::string name = event_name;
  if (name.empty() && static_cast<size_t>(*step) < view.steps.size()) name = view.steps[static_cast<size_t>(*step)].name;
  std::string out = "step " + std::to_string(*step + 1);
  if (!name.empty()) out += " '" + name + "'";
  return out;
}

std::string EventTaskName(const Event& e, const JobView& view) {
  if (e.step && e.task) return TaskName(view, *e.step, *e.task);
  return e.label.empty() ? "task" : e.label;
}

// The status a task shows: its revert outcome wins once a revert was sent.
std::string EffectiveTaskStatus(const TaskView& t) {
  if (t.status == "failed" && t.revert != "failed") return "failed";  // the cause stays visible
  if (t.revert == "succeeded") return "reverted";
  if (t.revert == "failed") return "revert-failed";
  if (t.revert == "sent") return "reverting";
  return t.status;
}

// A step whose tasks were reverted shows the reverts' outcome.
std::string EffectiveStepStatus(const StepView& s) {
  bool sent = false, succeeded = false, failed = false;
  for (const auto& t : s.tasks) {
    sent = sent || t.revert == "sent";
    succeeded = succeeded || t.revert == "succeeded";
    failed = failed || t.revert == "failed";
  }
  if (failed) return "revert-failed";
  if (s.status == "failed") return "failed";  // the step that broke the job stays visible
  if (sent) return "reverting";
  if (succeeded) return "reverted";
  return s.status;
}

std::optional<int64_t> JobStart(const JobView& v) { return v.started_ms ? v.started_ms : v.accepted_ms; }

std::string JobDuration(const JobView& v, int64_t now_ms) {
  auto start = JobStart(v);
  if (!start) return "";
  return Ms((v.ended_ms ? *v.ended_ms : now_ms) - *start);
}

struct RevertCounts {
  int sent = 0, succeeded = 0, failed = 0;
};

RevertCounts CountReverts(const JobView& v) {
  RevertCounts c;
  for (const auto& s : v.steps) {
    for (const auto& t : s.tasks) {
      if (t.revert.empty()) continue;
      ++c.sent;
      if (t.revert == "succeeded") ++c.succeeded;
      if (t.revert == "failed") ++c.failed;
    }
  }
  return c;
}

std::string RevertPhrase(const RevertCounts& c) {
  if (c.sent == 0) return "nothing to revert";
  std::string out = std::to_string(c.succeeded) + (c.succeeded == 1 ? " task" : " tasks") + " reverted";
  if (c.failed > 0) out += ", " + std::to_string(c.failed) + (c.failed == 1 ? " revert" : " reverts") + " failed";
  const int open = c.sent - c.succeeded - c.failed;
  if (open > 0) out += ", " + std::to_string(open) + " pending";
  return out;
}

const char* ColorOf(const std::string& status) {
  if (status == "succeeded" || status == "completed") return kGreen;
  if (status == "failed" || status == "revert-failed") return kRed;
  if (status == "reverted" || status == "cancelled") return kYellow;
  if (status == "pending" || status == "queued" || status == "skipped") return kDim;
  return kCyan;
}

std::string TaskLine(const JobView& view, int si, int ti, int name_width, int service_width, int64_t now_ms,
                     const Style& style) {
  const TaskView& t = view.steps[static_cast<size_t>(si)].tasks[static_cast<size_t>(ti)];
  const std::string status = EffectiveTaskStatus(t);
  std::string name = TaskName(view, si, ti);
  if (!t.command.empty()) name += " " + t.command;
  std::string line = "      " + Mark(status, style) + " " + Pad(name, name_width);
  line += "  " + Pad(Paint(StripScheme(t.service), kDim, style), service_width);
  std::vector<std::string> details;
  if (t.http_status) details.push_back(std::to_string(*t.http_status));
  if (t.attempts > 0) details.push_back(std::to_string(t.attempts) + (t.attempts == 1 ? " attempt" : " attempts"));
  if (t.duration_ms) {
    details.push_back(Ms(*t.duration_ms));
  } else if (t.started_ms && (t.status == "dispatched" || t.status == "retrying")) {
    details.push_back(Ms(now_ms - *t.started_ms));
  }
  if (t.status == "retrying") details.push_back(Paint("retrying", kYellow, style));
  for (const auto& d : details) line += "  " + d;
  if (t.revert == "succeeded") line += "  " + Paint("reverted", kYellow, style);
  if (t.revert == "sent") line += "  " + Paint("reverting", kCyan, style);
  if (t.revert == "failed") {
    line += "  " + Paint("revert failed" + (t.revert_error.empty() ? "" : ": " + t.revert_error), kRed, style);
  }
  if (t.status == "failed" && !t.error.empty()) line += "  " + Paint(t.error, kRed, style);
  while (!line.empty() && line.back() == ' ') line.pop_back();  // padding of empty columns
  return line;
}

}  // namespace

int DisplayWidth(const std::string& s) {
  int width = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b) {
      // CSI: ESC [ parameters final-byte(0x40..0x7e)
      if (i + 1 < s.size() && s[i + 1] == '[') {
        i += 2;
        while (i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7e)) ++i;
      }
      continue;
    }
    if ((c & 0xC0) != 0x80) ++width;  // count lead bytes only
  }
  return width;
}

std::string Truncate(const std::string& s, int width) {
  if (width <= 0 || DisplayWidth(s) <= width) return s;
  std::string out;
  int used = 0;
  bool has_escape = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b && i + 1 < s.size() && s[i + 1] == '[') {
      size_t j = i + 2;
      while (j < s.size() && !(s[j] >= 0x40 && s[j] <= 0x7e)) ++j;
      out.append(s, i, j - i + 1);
      i = j;
      has_escape = true;
      continue;
    }
    if ((c & 0xC0) != 0x80) {
      if (used == width - 1) break;
      ++used;
    }
    out += static_cast<char>(c);
  }
  out += "…";
  if (has_escape) out += kReset;
  return out;
}

std::string Mark(const std::string& status, const Style& style) {
  if (!style.marks) return "[" + status + "]";
  std::string mark = "…";
  if (status == "succeeded" || status == "completed") mark = "✓";
  if (status == "failed" || status == "revert-failed") mark = "✗";
  if (status == "reverted") mark = "↺";
  if (status == "pending" || status == "queued") mark = "·";
  if (status == "skipped") mark = "–";
  if (status == "cancelled") mark = "⊘";
  return Paint(mark, ColorOf(status), style);
}

std::string ShortId(const std::string& id) { return id.size() > 8 ? id.substr(id.size() - 8) : id; }

std::string TaskName(const JobView& view, int step, int task) {
  std::string label;
  if (step >= 0 && static_cast<size_t>(step) < view.steps.size()) {
    const auto& tasks = view.steps[static_cast<size_t>(step)].tasks;
    if (task >= 0 && static_cast<size_t>(task) < tasks.size()) label = tasks[static_cast<size_t>(task)].label;
  }
  if (label.empty()) label = "task";
  return label + "#" + std::to_string(task);
}

std::string FormatEventLine(const Event& e, const JobView& view) {
  const std::string task = EventTaskName(e, view);
  const std::string http = e.http_status ? " " + std::to_string(*e.http_status) : "";
  const std::string error = e.error.empty() ? "" : ": " + e.error;
  switch (e.kind) {
    case EventKind::kJobAccepted:
      return "job " + ShortId(view.id) + " accepted" + (view.name.empty() ? "" : " ('" + view.name + "')");
    case EventKind::kJobStarted:
      return "job started";
    case EventKind::kStepStarted: {
      std::string line = StepTitle(view, e.step, e.step_name) + " started";
      if (e.step && static_cast<size_t>(*e.step) < view.steps.size() && !view.steps[static_cast<size_t>(*e.step)].mode.empty()) {
        line += " (" + view.steps[static_cast<size_t>(*e.step)].mode + ")";
      }
      return line;
    }
    case EventKind::kStepSkipped:
      return StepTitle(view, e.step, e.step_name) + " skipped";
    case EventKind::kStepEnded: {
      std::string status = "ended";
      if (e.step && static_cast<size_t>(*e.step) < view.steps.size()) status = view.steps[static_cast<size_t>(*e.step)].status;
      return StepTitle(view, e.step, e.step_name) + " " + status + (e.duration_ms ? " in " + Ms(*e.duration_ms) : "");
    }
    case EventKind::kTaskDispatched: {
      const std::string target = !e.url.empty() ? e.url : e.service;
      std::string line = "task " + task + " dispatched" + (target.empty() ? "" : " to " + target);
      if (e.attempt > 1) line += " (attempt " + std::to_string(e.attempt) + ")";
      return line;
    }
    case EventKind::kTaskRetrying: {
      std::string line = "task " + task + " attempt " + std::to_string(std::max(e.attempt, 1)) + " failed" + http + error;
      line += "; retrying";
      if (e.delay_ms) line += " in " + Ms(*e.delay_ms);
      return line;
    }
    case EventKind::kTaskSucceeded: {
      std::string line = "task " + task + " succeeded" + http;
      if (e.duration_ms) line += " in " + Ms(*e.duration_ms);
      if (e.attempt > 1) line += " (attempt " + std::to_string(e.attempt) + ")";
      return line;
    }
    case EventKind::kTaskFailed:
      return "task " + task + " failed" + http + (e.duration_ms ? " in " + Ms(*e.duration_ms) : "") + error;
    case EventKind::kTaskSkipped:
      return "task " + task + " skipped" + (e.error.empty() ? "" : " (" + e.error + ")");
    case EventKind::kStateWritten:
      return "state written" + (e.path.empty() ? "" : " at " + e.path) + (e.task ? " by " + task : "");
    case EventKind::kReverting:
      return "job reverting" + error;
    case EventKind::kRevertSent:
      return "revert " + task + " sent" + (e.url.empty() ? "" : " to " + e.url);
    case EventKind::kRevertSucceeded:
      return "revert " + task + " succeeded" + http;
    case EventKind::kRevertFailed:
      return "revert " + task + " failed" + http + error;
    case EventKind::kCancelRequested:
      return "cancel requested";
    case EventKind::kJobEnded:
      return "job ended: " + (e.job_status.empty() ? view.status : e.job_status) + error;
    case EventKind::kOther: {
      // Say what there is to say about an event this version does not know.
      if (e.type.empty()) return "";
      std::string line = EventWords(e.type);
      if (e.step && e.task) line += " " + task;
      if (!e.url.empty()) line += " at " + e.url;
      return line + error;
    }
  }
  return "";
}

std::vector<std::string> RenderTree(const JobView& view, int64_t now_ms, const Style& style) {
  std::vector<std::string> lines;
  std::string header = Paint("job", kBold, style) + " " + (view.name.empty() ? "(unnamed)" : view.name);
  if (!view.id.empty()) header += "  " + Paint(ShortId(view.id), kDim, style);
  header += "  " + Paint(view.status, ColorOf(view.status), style);
  if (auto d = JobDuration(view, now_ms); !d.empty()) header += "  " + d;
  lines.push_back(header);

  int name_width = 0;
  int service_width = 0;
  for (size_t si = 0; si < view.steps.size(); ++si) {
    for (size_t ti = 0; ti < view.steps[si].tasks.size(); ++ti) {
      const TaskView& t = view.steps[si].tasks[ti];
      std::string name = TaskName(view, static_cast<int>(si), static_cast<int>(ti));
      if (!t.command.empty()) name += " " + t.command;
      name_width = std::max(name_width, DisplayWidth(name));
      service_width = std::max(service_width, DisplayWidth(StripScheme(t.service)));
    }
  }
  for (size_t si = 0; si < view.steps.size(); ++si) {
    const StepView& s = view.steps[si];
    std::string line = "  " + Mark(EffectiveStepStatus(s), style) + " step " + std::to_string(si + 1);
    if (!s.name.empty()) line += " " + s.name;
    if (!s.mode.empty()) line += Paint(" (" + s.mode + ")", kDim, style);
    if (s.started_ms) line += "  " + Ms((s.ended_ms ? *s.ended_ms : now_ms) - *s.started_ms);
    lines.push_back(line);
    if (style.compact && (s.status == "succeeded" || s.status == "skipped")) continue;
    for (size_t ti = 0; ti < s.tasks.size(); ++ti) {
      lines.push_back(TaskLine(view, static_cast<int>(si), static_cast<int>(ti), name_width, service_width, now_ms, style));
    }
  }
  if (style.width > 0) {
    for (auto& l : lines) l = Truncate(l, style.width);
  }
  return lines;
}

std::string Summary(const JobView& view, int64_t now_ms, const Style& style) {
  const std::string took = JobDuration(view, now_ms);
  const RevertCounts reverts = CountReverts(view);
  int steps_run = 0;
  int tasks_ok = 0;
  for (const auto& s : view.steps) {
    if (s.status != "pending" && s.status != "skipped") ++steps_run;
    for (const auto& t : s.tasks) tasks_ok += t.status == "succeeded" ? 1 : 0;
  }
  const std::string mark = style.marks ? Mark(view.status, style) + " " : "";
  if (view.status == "completed") {
    return mark + "job completed" + (took.empty() ? "" : " in " + took) + ": " + std::to_string(steps_run) +
           (steps_run == 1 ? " step, " : " steps, ") + std::to_string(tasks_ok) + (tasks_ok == 1 ? " task" : " tasks");
  }
  if (view.status == "failed" || view.status == "revert-failed") {
    std::string line = mark + "job " + view.status + (took.empty() ? "" : " in " + took);
    for (size_t si = 0; si < view.steps.size(); ++si) {
      const StepView& s = view.steps[si];
      if (s.status != "failed") continue;
      line += " at step " + std::to_string(si + 1) + (s.name.empty() ? "" : " '" + s.name + "'");
      for (size_t ti = 0; ti < s.tasks.size(); ++ti) {
        if (s.tasks[ti].status != "failed") continue;
        line += ", task " + TaskName(view, static_cast<int>(si), static_cast<int>(ti));
        break;
      }
      break;
    }
    if (!view.error.empty()) line += ": " + view.error;
    return line + "; " + RevertPhrase(reverts);
  }
  if (view.status == "cancelled") {
    return mark + "job cancelled" + (took.empty() ? "" : " after " + took) + "; " + RevertPhrase(reverts);
  }
  return mark + "job " + view.status + (took.empty() ? "" : " for " + took);
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<int> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 == row.size() ? row[i] : Pad(row[i], widths[i]) + "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace csp::job_runner
