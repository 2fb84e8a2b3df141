#pragma once
// How a job looks to a person: one plain line per event (logs, pipes, CI), a compact tree of
// steps and tasks (terminals), a one-line summary, and tables. Pure functions of a JobView, so
// they are unit-tested without a terminal.

#include <cstdint>
#include <string>
#include <vector>

#include "csp/json/value.h"
#include "job_view.h"

namespace csp::job_runner {

struct Style {
  bool color = false;  // ANSI colours (a terminal, and NO_COLOR unset)
  bool marks = true;   // ✓ ✗ ↺ … marks; false: words only
  int width = 0;       // truncate lines to this many columns; 0: no limit
  bool compact = false;  // tree: hide the tasks of steps that succeeded or were skipped
};

// "uppercase#0": the task's label and its index within its step.
std::string TaskName(const JobView& view, int step, int task);

// One plain line for an event, e.g. "step 1 'first' started", "task uppercase#0 succeeded 200 in
// 12ms", "revert person#0 failed: 503 unavailable". Empty for events not worth a line.
std::string FormatEventLine(const Event& e, const JobView& view);

// The tree: a header line for the job, a line per step and one per task (status mark, label,
// command, service, HTTP status, attempts, duration, revert). `now_ms` ages running items.
std::vector<std::string> RenderTree(const JobView& view, int64_t now_ms, const Style& style);

// "✓ completed in 1.3s: 3 steps, 5 tasks" / "✗ failed in 0.8s at step 3 'confirm', task
// order#0: <error>; 4 tasks reverted" / "✗ revert-failed ..." / "⊘ cancelled ...".
std::string Summary(const JobView& view, int64_t now_ms, const Style& style);

// Columns of text padded to line up; the header row first.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// Columns a string takes on a terminal: UTF-8 code points, ANSI escape sequences excluded.
int DisplayWidth(const std::string& s);
// Cuts a line to `width` columns (keeping escape sequences intact, ending with "…" and a colour
// reset when cut). width <= 0: unchanged.
std::string Truncate(const std::string& s, int width);

// The mark of a task or step status (✓ ✗ ↺ … · –), plain words when !style.marks.
std::string Mark(const std::string& status, const Style& style);

// Short job id for headers: the last 8 characters. Job ids are UUID v7, whose first characters
// are the time of submission (jobs submitted in the same minute would share them); the last ones
// are random.
std::string ShortId(const std::string& id);

}  // namespace csp::job_runner
