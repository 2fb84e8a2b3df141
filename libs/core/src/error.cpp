#include "csp/core/error.h"

namespace csp {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kInvalidJson: return "invalid_json";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kFailedPrecondition: return "precondition_failed";
    case ErrorCode::kTooLarge: return "body_too_large";
    case ErrorCode::kUnauthenticated: return "unauthorized";
    case ErrorCode::kPermissionDenied: return "forbidden";
    case ErrorCode::kMethodNotAllowed: return "method_not_allowed";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kBadGateway: return "unavailable";
    case ErrorCode::kDeadlineExceeded: return "timeout";
    case ErrorCode::kOverloaded: return "overloaded";
    case ErrorCode::kUnimplemented: return "not_implemented";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

Error Error::WithPrefix(std::string_view prefix) const {
  if (prefix.empty()) return *this;
  return Error(code, std::string(prefix) + ": " + message);
}

}  // namespace csp
