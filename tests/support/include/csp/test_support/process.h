#pragma once
// Helpers for integration tests: temporary directories, starting the real binaries on port 0,
// and waiting for a condition with a deadline (never a fixed sleep).

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "csp/core/result.h"

namespace csp::test {

// A fresh directory under $TMPDIR (or /tmp), removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The path of a binary built by CMake, from the CSP_<NAME>_BIN environment variable that
// csp_add_integration_test sets (e.g. BinaryPath("discovery") reads CSP_DISCOVERY_BIN; dashes
// become underscores). Aborts the test run with a clear message when unset.
std::string BinaryPath(const std::string& name);

// `relative` under the source tree, from the CSP_SOURCE_DIR environment variable that
// csp_add_integration_test sets (e.g. SourcePath("examples/designs/person.json")). Aborts the test
// run with a clear message when unset.
std::string SourcePath(const std::string& relative);

// A running service process. Started with its stdout on a pipe: Start() waits until the
// service prints "listening on http://HOST:PORT" and records the URL. stderr (the JSON log) goes
// to a file, available through log() for failure messages.
class Process {
 public:
  // Errors: kUnavailable when the binary exits or prints no listening line within `timeout`
  // (the message includes the tail of its log).
  static Result<std::unique_ptr<Process>> Start(const std::string& binary, const std::vector<std::string>& args,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(15));
  ~Process();  // SIGKILL if still running

  const std::string& url() const { return url_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running();

  // Sends a signal without waiting.
  void Signal(int sig);
  // SIGKILL and reap.
  void Kill();
  // SIGTERM, wait up to `timeout`; returns the exit status (128+signal when killed), or -1 when it
  // had to be SIGKILLed after the timeout.
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for the process to exit by itself; returns its exit status or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  // The captured stderr so far.
  std::string log() const;

 private:
  Process() = default;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::string url_;
  int port_ = 0;
  std::string log_path_;
  std::unique_ptr<TempDir> log_dir_;
};

// Runs a command to completion, capturing stdout and stderr separately. For CLI tests.
struct CommandResult {
  int exit_code = -1;  // 128+signal when killed
  std::string out;
  std::string err;
};
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& cwd = "",
                         const std::vector<std::string>& extra_env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60),
                         const std::string& stdin_text = "");

// Polls `condition` every few milliseconds until it is true or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A free TCP port on 127.0.0.1 at the time of the call (for tests that must know a port before
// starting, e.g. to restart a service on the same port).
int FreePort();

}  // namespace csp::test
