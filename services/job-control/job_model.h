#pragma once
// The job document (spec/40-job-control.md, original-protocol.md §3.1): parsing and validation.
//
// ParseJob checks the whole document and lists EVERY problem by its path
// ("steps[1].tasks[0].tag: expected a string"), so a user fixes a job in one round trip.
// Nothing here talks to the network.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "csp/json/value.h"

namespace csp::job_control {

// Retries of one task call (spec "Task calls"). Transport errors and 502/503/504 are retried.
struct RetryPolicy {
  int max_attempts = 3;
  std::chrono::milliseconds initial_delay{200};
  std::chrono::milliseconds max_delay{5000};
  double multiplier = 2.0;
};

// One storeResultAt instruction, normalised from any of the three forms (string, object, array).
struct StoreSpec {
  std::string target_path;   // RFC 6901, starts with '/'
  // RFC 6901 into the reply; empty = the whole reply. The original's forms "result", "/result"
  // and "/" are accepted: a missing leading '/' is added, and "/" means the whole reply.
  std::string source_path;
  bool has_source = false;   // sourcePath given (a missing one then fails the task)
  std::vector<int> only_on_status;  // empty: any (2xx) status
};

enum class Concurrency { kParallel, kSequential };

struct TaskSpec {
  bool enabled = true;
  // How the service is found: url (a base URL), else serviceName, else tag (discovery lookups).
  std::string tag;
  std::string service_name;
  std::string url;
  std::optional<std::string> mode;  // form rel overriding the step's rel for this task
  json::Value input;                // an object, or null for none
  std::vector<StoreSpec> store;     // storeResultAt
  std::optional<std::chrono::milliseconds> timeout;  // per attempt
  std::optional<RetryPolicy> retry;

  // What the task is called in records and errors: the tag, else the service name, else the URL.
  const std::string& Label() const;
};

struct StepSpec {
  std::string name;
  bool enabled = true;
  std::string rel = "execute";      // the form rel called (the original's step.mode)
  Concurrency concurrency = Concurrency::kParallel;  // step.mode "sequential" / "parallel"
  std::vector<TaskSpec> tasks;

  // Disabled, or no enabled task (the original skips such a step).
  bool Skipped() const;
  // Some enabled task's input holds a $fromState reference.
  bool ReadsState() const;
};

struct JobSpec {
  std::string name;                 // "" when absent (the record shows null)
  std::string shared_state_url;     // "" when absent
  std::optional<json::Value> shared_state;  // an object merged into the state before step 1
  std::vector<StepSpec> steps;
  std::optional<std::chrono::milliseconds> timeout;  // the job's deadline, from when it starts

  // Some enabled task reads ($fromState) or writes (storeResultAt) the state document.
  bool UsesState() const;
};

struct Limits {
  size_t max_steps = 100;
  size_t max_tasks_per_step = 100;
  size_t max_document_bytes = size_t{1} << 20;  // of the compact JSON text
  std::chrono::milliseconds max_timeout{std::chrono::hours(24)};
  int max_attempts = 20;
};

struct ParsedJob {
  std::optional<JobSpec> job;        // set when problems is empty
  std::vector<std::string> problems;  // "path: what is wrong", in document order
  bool ok() const { return problems.empty(); }
};

// Parses and validates a job document. Never fails on any input; problems are listed instead.
ParsedJob ParseJob(const json::Value& document, const Limits& limits = {});

// True for an object whose "$fromState" member is a string (a state reference).
bool IsStateRef(const json::Value& v);
// True when v holds a state reference anywhere (arrays, objects, defaults).
bool ContainsStateRef(const json::Value& v);

}  // namespace csp::job_control
