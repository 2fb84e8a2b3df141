#pragma once
// What the runner knows about one job while it runs: its steps and tasks (from the job document),
// updated by job-control's events (GET /jobs/:id/events) and by the job record (GET /jobs/:id).
// Pure data; rendering is in render.h. Parsing is tolerant: job-control's event field names may
// vary (camelCase or snake_case, fields flat or under "data"), and unknown events are kept.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "csp/json/value.h"

namespace csp::job_runner {

enum class EventKind {
  kJobAccepted,
  kJobStarted,
  kStepStarted,
  kStepSkipped,
  kStepEnded,
  kTaskDispatched,
  kTaskRetrying,
  kTaskSucceeded,
  kTaskFailed,
  kTaskSkipped,
  kStateWritten,
  kReverting,
  kRevertSent,
  kRevertSucceeded,
  kRevertFailed,
  kCancelRequested,
  kJobEnded,
  kOther,
};

struct Event {
  int64_t seq = 0;
  std::optional<int64_t> at_ms;  // Unix ms
  std::string type;              // as job-control sent it
  EventKind kind = EventKind::kOther;
  std::optional<int> step;       // 0-based
  std::optional<int> task;       // 0-based, within the step
  std::string step_name;
  std::string label;             // the task's tag (or service name / url)
  std::string service;           // service URL or name
  std::string url;               // the URL called
  std::string request_id;
  std::string error;
  std::string path;              // state written: the target path(s)
  std::string job_status;        // job ended: the final status
  int attempt = 0;
  std::optional<int> http_status;
  std::optional<int64_t> duration_ms;
  std::optional<int64_t> delay_ms;  // retrying: the wait before the next attempt
  json::Value raw;
};

// "task_succeeded", "task.succeeded", "TaskSucceeded" and "task succeeded" are the same kind.
EventKind KindOf(const std::string& type);
// The type as words: "task_resumed" -> "task resumed".
std::string EventWords(const std::string& type);
Event ParseEvent(const json::Value& v);

struct TaskView {
  std::string label;    // tag, serviceName or url
  std::string command;  // input.command, when the input is a command message
  std::string status = "pending";  // pending, dispatched, retrying, succeeded, failed, skipped
  std::string service;
  int attempts = 0;
  std::optional<int> http_status;
  std::optional<int64_t> started_ms;
  std::optional<int64_t> duration_ms;
  std::string error;
  std::string revert;  // "", "sent", "succeeded", "failed"
  std::string revert_error;
};

struct StepView {
  std::string name;
  std::string mode;  // "" (parallel execute), "sequential", a rel such as "revert"
  std::string status = "pending";  // pending, running, succeeded, failed, skipped
  std::optional<int64_t> started_ms;
  std::optional<int64_t> ended_ms;
  std::vector<TaskView> tasks;
};

struct JobView {
  std::string id;
  std::string name;
  std::string status = "queued";
  std::string error;           // the failure, as job-control reported it
  std::string failed_task;     // label of the task that failed
  std::optional<int64_t> accepted_ms;
  std::optional<int64_t> started_ms;
  std::optional<int64_t> ended_ms;
  std::vector<StepView> steps;
  int reverts_sent = 0;
  int reverts_succeeded = 0;
  int reverts_failed = 0;
  int64_t last_seq = 0;
  std::string state_url;

  // Steps and tasks as the document declares them, all pending (disabled ones skipped).
  static JobView FromDocument(const json::Value& job);
  // Updates from one event. Events at or below last_seq are ignored (a long poll may repeat).
  void Apply(const Event& e);
  // Updates from GET /jobs/:id (status, error, steps/tasks/reverts when present).
  void ApplyRecord(const json::Value& record);

  bool Ended() const;  // a terminal status
  int TaskCount() const;
  // Grows the step/task lists as needed.
  StepView& Step(int index);
  TaskView& Task(int step, int task);
};

bool IsTerminalStatus(const std::string& status);

}  // namespace csp::job_runner
