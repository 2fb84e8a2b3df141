// The loop rides out short job-control outages (it is durable: a restarted job-control carries on
// with the job), so a restart during a run does not fail the run; only a long outage does.

#include "follow.h"

#include <algorithm>
#include <thread>

#include "csp/core/time.h"

namespace csp::job_runner {
namespace {

using std::chrono::milliseconds;

class QuietProgress final : public Progress {
 public:
  void OnEvent(const Event&, const JobView&) override {}
  void OnIdle(const JobView&) override {}
  void OnEnd(const JobView&) override {}
};

class LineProgress final : public Progress {
 public:
  explicit LineProgress(std::ostream& out) : out_(out) {}
  void OnEvent(const Event& e, const JobView& view) override {
    const std::string line = FormatEventLine(e, view);
    if (!line.empty()) out_ << line << "\n" << std::flush;
  }
  void OnIdle(const JobView&) override {}
  void OnEnd(const JobView& view) override {
    Style plain;
    plain.marks = false;
    out_ << Summary(view, NowMs(), plain) << "\n" << std::flush;
  }

 private:
  std::ostream& out_;
};

// Redraws the whole tree in place: cursor up over the previous drawing, clear each line as it is
// rewritten, clear whatever is left below. Lines are cut to the terminal width so that none wraps
// (a wrapped line would break the cursor arithmetic), and the tree is kept shorter than the
// terminal for the same reason.
class TreeProgress final : public Progress {
 public:
  TreeProgress(std::ostream& out, Style style, int height) : out_(out), style_(style), height_(height) {}
  void OnEvent(const Event&, const JobView&) override {}  // drawn once per batch, in OnIdle
  void OnIdle(const JobView& view) override { Draw(view); }
  void OnEnd(const JobView& view) override {
    Draw(view);
    out_ << Summary(view, NowMs(), style_) << "\n" << std::flush;
  }

 private:
  std::vector<std::string> Fit(const JobView& view) const {
    auto lines = RenderTree(view, NowMs(), style_);
    const size_t max = height_ > 3 ? static_cast<size_t>(height_ - 2) : 0;
    if (max == 0 || lines.size() <= max) return lines;
    Style compact = style_;
    compact.compact = true;
    lines = RenderTree(view, NowMs(), compact);
    if (lines.size() <= max) return lines;
    std::vector<std::string> fitted{lines.front()};
    fitted.insert(fitted.end(), lines.end() - static_cast<long>(max - 1), lines.end());
    return fitted;
  }

  void Draw(const JobView& view) {
    const auto lines = Fit(view);
    std::string buf;
    if (drawn_ > 0) buf += "\x1b[" + std::to_string(drawn_) + "A\r";
    for (const auto& l : lines) buf += "\x1b[2K" + l + "\n";
    buf += "\x1b[J";
    out_ << buf << std::flush;
    drawn_ = lines.size();
  }

  std::ostream& out_;
  Style style_;
  int height_;
  size_t drawn_ = 0;
};

}  // namespace

int64_t NowMs() { return ToUnixMillis(std::chrono::system_clock::now()); }

std::unique_ptr<Progress> MakeProgress(ProgressMode mode, std::ostream& out, const Style& style, int height) {
  switch (mode) {
    case ProgressMode::kQuiet:
      return std::make_unique<QuietProgress>();
    case ProgressMode::kLines:
      return std::make_unique<LineProgress>(out);
    case ProgressMode::kTree:
      return std::make_unique<TreeProgress>(out, style, height);
  }
  return std::make_unique<QuietProgress>();
}

Result<JobView> Follow(Api& api, JobView view, Progress& progress, const FollowOptions& options, std::ostream& err) {
  const auto start = std::chrono::steady_clock::now();
  bool unreachable = false;
  std::chrono::steady_clock::time_point unreachable_since{};
  bool cancel_sent = false;
  int64_t after = view.last_seq;
  bool have_events_route = true;

  auto cancel = [&](const std::string& why) {
    if (cancel_sent) return;
    cancel_sent = true;
    err << "job-runner: " << why << ": cancelling job " << view.id << "\n" << std::flush;
    if (auto c = api.CancelJob(view.id); !c) err << "job-runner: cancel failed: " << c.error().message << "\n";
  };

  while (!view.Ended()) {
    const int interrupts = options.interrupts();
    if (interrupts >= 2) return FailedPrecondition("stopped following job " + view.id + " (it goes on; see job-runner status " + view.id + ")");
    if (interrupts == 1) cancel("interrupted");
    if (options.timeout.count() > 0 && std::chrono::steady_clock::now() - start > options.timeout) {
      cancel("timed out after " + FormatDuration(options.timeout));
    }

    const auto asked = std::chrono::steady_clock::now();
    Result<std::optional<json::Array>> batch = std::optional<json::Array>();
    milliseconds wait = options.wait;
    if (options.timeout.count() > 0 && !cancel_sent) {
      // Wake up at the deadline rather than at the end of a long poll.
      const auto left = std::chrono::duration_cast<milliseconds>(options.timeout - (std::chrono::steady_clock::now() - start));
      wait = std::clamp(left, milliseconds(100), options.wait);
    }
    if (have_events_route) batch = api.Events(view.id, after, wait);
    if (!batch) {
      if (batch.error().code == ErrorCode::kNotFound) return batch.error();
      if (!unreachable) unreachable_since = std::chrono::steady_clock::now();
      unreachable = true;
      if (std::chrono::steady_clock::now() - unreachable_since > options.give_up_after) {
        return Unavailable("lost contact with job-control while following job " + view.id + ": " + batch.error().message);
      }
      std::this_thread::sleep_for(milliseconds(500));
      continue;
    }
    unreachable = false;
    if (!*batch) {
      // No events route (an older job-control): poll the record instead.
      have_events_route = false;
      auto record = api.GetJob(view.id);
      if (!record) return record.error();
      view.ApplyRecord(*record);
      progress.OnIdle(view);
      if (!view.Ended()) std::this_thread::sleep_for(milliseconds(500));
      continue;
    }
    if ((*batch)->empty()) {
      // Nothing new within the wait: make sure the end was not missed, and refresh the clocks.
      auto record = api.GetJob(view.id);
      if (record && IsTerminalStatus(record->Find("status") != nullptr && record->Find("status")->IsString()
                                         ? record->Find("status")->AsString()
                                         : "")) {
        view.ApplyRecord(*record);
      }
      progress.OnIdle(view);
      // A job-control that answers at once instead of holding the request: do not spin.
      if (std::chrono::steady_clock::now() - asked < milliseconds(200)) std::this_thread::sleep_for(milliseconds(300));
      continue;
    }
    for (const auto& raw : **batch) {
      Event e = ParseEvent(raw);
      if (e.seq == 0) e.seq = after + 1;  // a job-control without sequence numbers
      if (e.seq <= after) continue;
      after = e.seq;
      view.Apply(e);
      progress.OnEvent(e, view);
    }
    progress.OnIdle(view);  // one redraw per batch, not per event
  }
  // The record has the final word (status, error, revert details the events may not carry).
  if (auto record = api.GetJob(view.id)) view.ApplyRecord(*record);
  return view;
}

}  // namespace csp::job_runner
