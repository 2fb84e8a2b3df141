#pragma once
// Following a job live: long-polls GET /jobs/:id/events, feeds each event to a JobView and to a
// Progress display, until the job ends. Used by `run` and `watch`.

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>

#include "api.h"
#include "job_view.h"
#include "render.h"

namespace csp::job_runner {

// A way of showing the job as it runs.
class Progress {
 public:
  virtual ~Progress() = default;
  virtual void OnEvent(const Event& e, const JobView& view) = 0;
  // After each batch of events, and when nothing new arrived (a tree redraws, clocks included).
  virtual void OnIdle(const JobView& view) = 0;
  // The job ended (or following stopped); the last output, ending with the summary.
  virtual void OnEnd(const JobView& view) = 0;
};

enum class ProgressMode {
  kQuiet,  // nothing
  kLines,  // one plain line per event, then the summary (not a terminal)
  kTree,   // the tree redrawn in place with ANSI cursor movement, then the summary (a terminal)
};

std::unique_ptr<Progress> MakeProgress(ProgressMode mode, std::ostream& out, const Style& style, int height);

struct FollowOptions {
  std::chrono::milliseconds wait{10'000};  // long-poll wait per request
  std::chrono::milliseconds timeout{0};    // cancel the job after this long; 0: never
  // Polled between requests; true once the user asked to stop (Ctrl-C). The first request
  // cancels the job, a second stops following.
  std::function<int()> interrupts = [] { return 0; };
  // How long job-control may stay unreachable before following gives up.
  std::chrono::milliseconds give_up_after{30'000};
};

// Follows `view.id` until it ends. Returns the final view (status from the job record), or:
// kNotFound (no such job), kUnavailable (job-control unreachable for longer than give_up_after),
// kCancelled-like kFailedPrecondition "stopped following" after a second interrupt.
Result<JobView> Follow(Api& api, JobView view, Progress& progress, const FollowOptions& options, std::ostream& err);

int64_t NowMs();

}  // namespace csp::job_runner
