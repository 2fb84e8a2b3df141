// Tests of the integration-test helpers themselves: temp dirs, RunCommand, Process, WaitFor.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "csp/test_support/process.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Writes an executable shell script into `dir` and returns its path.
std::string WriteScript(const csp::test::TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.path() + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

}  // namespace

TEST_SUITE("test_support") {
  TEST_CASE("TempDir is created and removed with its contents") {
    std::string path;
    {
      csp::test::TempDir dir;
      path = dir.path();
      REQUIRE(fs::is_directory(path));
      fs::create_directories(path + "/a/b");
      std::ofstream(path + "/a/b/file.txt") << "x";
      csp::test::TempDir other;
      CHECK(other.path() != path);
    }
    CHECK_FALSE(fs::exists(path));
  }

  TEST_CASE("RunCommand captures stdout and the exit code") {
    auto r = csp::test::RunCommand({"echo", "hello", "world"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "hello world\n");
    CHECK(r.err.empty());

    auto failed = csp::test::RunCommand({"sh", "-c", "exit 3"});
    CHECK(failed.exit_code == 3);
  }

  TEST_CASE("RunCommand keeps stderr apart from stdout") {
    auto r = csp::test::RunCommand({"sh", "-c", "echo out; echo oops >&2; exit 1"});
    CHECK(r.exit_code == 1);
    CHECK(r.out == "out\n");
    CHECK(r.err == "oops\n");
  }

  TEST_CASE("RunCommand feeds stdin") {
    std::string big(200000, 'z');  // larger than a pipe buffer
    auto r = csp::test::RunCommand({"cat"}, "", {}, 10s, big);
    CHECK(r.exit_code == 0);
    CHECK(r.out == big);

    auto empty = csp::test::RunCommand({"cat"}, "", {}, 10s);
    CHECK(empty.exit_code == 0);
    CHECK(empty.out.empty());
  }

  TEST_CASE("RunCommand adds environment entries and runs in cwd") {
    csp::test::TempDir dir;
    auto r = csp::test::RunCommand({"sh", "-c", "echo \"$CSP_TEST_A-$HOME_SET\"; pwd"}, dir.path(),
                                   {"CSP_TEST_A=alpha", "HOME_SET=yes"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "alpha-yes\n" + fs::canonical(dir.path()).string() + "\n");
  }

  TEST_CASE("RunCommand kills a command that outlives its timeout") {
    auto start = std::chrono::steady_clock::now();
    auto r = csp::test::RunCommand({"sleep", "5"}, "", {}, 200ms);
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(r.exit_code == -1);
    CHECK(elapsed >= 200ms);
    CHECK(elapsed < 2s);
  }

  TEST_CASE("RunCommand reports a command that cannot be executed") {
    auto r = csp::test::RunCommand({"/nonexistent/csp-no-such-binary"});
    CHECK(r.exit_code == 127);
    CHECK(r.err.find("csp-no-such-binary") != std::string::npos);
  }

  TEST_CASE("WaitFor returns once the condition holds, or false at the deadline") {
    std::atomic<int> calls{0};
    CHECK(csp::test::WaitFor([&] { return ++calls >= 3; }, 5s));
    CHECK(calls.load() == 3);

    auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(csp::test::WaitFor([] { return false; }, 50ms));
    CHECK(std::chrono::steady_clock::now() - start >= 50ms);
  }

  TEST_CASE("BinaryPath reads CSP_<NAME>_BIN") {
    REQUIRE(::setenv("CSP_MY_TOOL_BIN", "/opt/bin/my-tool", 1) == 0);
    CHECK(csp::test::BinaryPath("my-tool") == "/opt/bin/my-tool");
    ::unsetenv("CSP_MY_TOOL_BIN");
  }

  TEST_CASE("FreePort gives a usable port number") {
    int port = csp::test::FreePort();
    CHECK(port > 0);
    CHECK(port < 65536);
  }

  TEST_CASE("Process::Start waits for the listening line") {
    csp::test::TempDir dir;
    std::string script = WriteScript(dir, "svc.sh",
                                     "echo starting >&2\n"
                                     "echo 'some other line'\n"
                                     "echo \"listening on http://127.0.0.1:4321\"\n"
                                     "exec sleep 30");
    auto started = csp::test::Process::Start(script, {});
    REQUIRE(started.ok());
    auto& process = **started;
    CHECK(process.url() == "http://127.0.0.1:4321");
    CHECK(process.port() == 4321);
    CHECK(process.running());
    CHECK(process.pid() > 0);
    CHECK(csp::test::WaitFor([&] { return process.log().find("starting") != std::string::npos; }, 5s));
    CHECK(process.Terminate(5s) == 128 + SIGTERM);
    CHECK_FALSE(process.running());
  }

  TEST_CASE("Process::Start passes the arguments") {
    csp::test::TempDir dir;
    std::string script = WriteScript(dir, "args.sh", "echo \"listening on http://127.0.0.1:$1\"\nexec sleep 30");
    auto started = csp::test::Process::Start(script, {"5555"});
    REQUIRE(started.ok());
    CHECK((*started)->port() == 5555);
    (*started)->Kill();
    CHECK_FALSE((*started)->running());
  }

  TEST_CASE("Process::Start fails with the log tail when the binary exits first") {
    csp::test::TempDir dir;
    std::string script = WriteScript(dir, "crash.sh", "echo 'bad flag --nope' >&2\nexit 2");
    auto started = csp::test::Process::Start(script, {});
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().code == csp::ErrorCode::kUnavailable);
    CHECK(started.error().message.find("bad flag --nope") != std::string::npos);
  }

  TEST_CASE("Process::Start fails when no listening line comes in time") {
    csp::test::TempDir dir;
    std::string script = WriteScript(dir, "silent.sh", "exec sleep 30");
    auto start = std::chrono::steady_clock::now();
    auto started = csp::test::Process::Start(script, {}, 200ms);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().code == csp::ErrorCode::kUnavailable);
  }

  TEST_CASE("Process::Wait returns the exit status of a process that ends by itself") {
    csp::test::TempDir dir;
    std::string script = WriteScript(dir, "short.sh", "echo 'listening on http://127.0.0.1:1'\nsleep 0.1\nexit 7");
    auto started = csp::test::Process::Start(script, {});
    REQUIRE(started.ok());
    CHECK((*started)->Wait(5s) == 7);
  }
}
