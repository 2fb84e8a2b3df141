#pragma once
// job-runner's exit codes (README "Exit codes"); scripts depend on them.

#include <string_view>

#include "csp/core/error.h"

namespace csp::job_runner {

inline constexpr int kExitOk = 0;            // the job completed; the command did what was asked
inline constexpr int kExitFailed = 1;        // the job failed and was reverted, or was cancelled;
                                             // validate/doctor found problems; no such job
inline constexpr int kExitUsage = 2;         // bad flag, unreadable or invalid input file
inline constexpr int kExitRevertFailed = 3;  // the job failed and some revert did not succeed
inline constexpr int kExitUnreachable = 4;   // the platform could not be reached

// completed -> 0; failed, cancelled -> 1; revert-failed -> 3; anything else (a job that has not
// ended) -> 1.
int ExitCodeForJobStatus(std::string_view status);

// Transport and server-side failures (unavailable, timeout, bad gateway, overloaded, internal)
// -> 4; not found -> 1; everything else (the user's input) -> 2.
int ExitCodeForError(const Error& error);

}  // namespace csp::job_runner
