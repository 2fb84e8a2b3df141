#include "exit_codes.h"

namespace csp::job_runner {

int ExitCodeForJobStatus(std::string_view status) {
  if (status == "completed") return kExitOk;
  if (status == "revert-failed") return kExitRevertFailed;
  return kExitFailed;
}

int ExitCodeForError(const Error& error) {
  switch (error.code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kBadGateway:
    case ErrorCode::kOverloaded:
    case ErrorCode::kInternal:
      return kExitUnreachable;
    case ErrorCode::kNotFound:
      return kExitFailed;
    default:
      return kExitUsage;
  }
}

}  // namespace csp::job_runner
