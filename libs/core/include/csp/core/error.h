#pragma once
// Errors as values: a short canonical code list plus a human message.
// One function (csp::http::StatusFor) maps a code to an HTTP status; nothing else does.

#include <string>
#include <string_view>

namespace csp {

enum class ErrorCode {
  kInvalidArgument,     // well-formed input of the wrong shape or value        -> 400 invalid_argument
  kInvalidJson,         // input that is not JSON at all                         -> 400 invalid_json
  kNotFound,            // the thing named does not exist                        -> 404 not_found
  kAlreadyExists,       // create of something that exists                       -> 409 already_exists
  kConflict,            // state conflict other than existence                   -> 409 conflict
  kFailedPrecondition,  // If-Match and friends did not hold                     -> 412 precondition_failed
  kTooLarge,            // body/document over its limit                          -> 413 body_too_large
  kUnauthenticated,     // missing or wrong credentials                          -> 401 unauthorized
  kPermissionDenied,    // credentials fine, action not allowed                  -> 403 forbidden
  kMethodNotAllowed,    // known path, wrong method                              -> 405 method_not_allowed
  kUnavailable,         // a dependency (store, peer) is down                    -> 503 unavailable
  kBadGateway,          // a peer answered badly                                 -> 502 unavailable
  kDeadlineExceeded,    // a peer did not answer in time                         -> 504 timeout
  kOverloaded,          // queue full; retry later                               -> 503 overloaded
  kUnimplemented,       // a declared but unsupported operation                  -> 501 not_implemented
  kInternal,            // a bug or an unexpected failure                        -> 500 internal
};

// The machine code written in JSON errors ("invalid_json", "not_found", ...).
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  Error() = default;
  Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}

  // "path: message" — used to name the field of a nested value that was wrong.
  Error WithPrefix(std::string_view prefix) const;
};

inline Error InvalidArgument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Error NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Error AlreadyExists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
inline Error FailedPrecondition(std::string m) { return {ErrorCode::kFailedPrecondition, std::move(m)}; }
inline Error Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
inline Error Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

}  // namespace csp
