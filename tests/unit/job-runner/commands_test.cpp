#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "commands.h"
#include "exit_codes.h"

namespace csp::job_runner {
namespace {

bool NoFiles(const std::string&) { return false; }

// Commands that must not touch the network get a client that fails every call.
class NoNetwork final : public http_client::Client {
 public:
  Result<http_client::Response> Send(const http_client::Request& r) override {
    return Unavailable("no network in unit tests: " + r.url);
  }
};

struct Ran {
  int code;
  std::string out;
  std::string err;
};

Ran Run(const std::string& command, std::vector<std::string> args) {
  NoNetwork http;
  std::ostringstream out, err;
  std::istringstream in;
  Env env{Options{}, out, err, in, http, Terminal{}};
  env.options.command = command;
  env.options.args = std::move(args);
  const int code = FindCommand(command)->handler(env);
  return {code, out.str(), err.str()};
}

}  // namespace

TEST_SUITE("job-runner command table") {
  TEST_CASE("every row has a name and a summary and a handler and names are unique") {
    std::set<std::string> names;
    for (const auto& c : Commands()) {
      CHECK(std::string(c.name).size() > 0);
      CHECK(std::string(c.summary).size() > 0);
      CHECK((c.handler != nullptr));
      CHECK(names.insert(c.name).second);
    }
    for (const char* required : {"run", "validate", "status", "list", "watch", "events", "cancel", "services", "state",
                                 "doctor", "completion", "version", "help"}) {
      CHECK_MESSAGE(FindCommand(required) != nullptr, required);
    }
  }

  TEST_CASE("help lists every command") {
    const std::string help = UsageText();
    for (const auto& c : Commands()) CHECK_MESSAGE(help.find(std::string("  ") + c.name) != std::string::npos, c.name);
  }

  TEST_CASE("edit distance") {
    CHECK(EditDistance("", "") == 0);
    CHECK(EditDistance("status", "status") == 0);
    CHECK(EditDistance("stauts", "status") == 2);
    CHECK(EditDistance("lst", "list") == 1);
    CHECK(EditDistance("kitten", "sitting") == 3);
    CHECK(EditDistance("", "abc") == 3);
  }

  TEST_CASE("did you mean") {
    auto s = Suggestions("stauts");
    REQUIRE_FALSE(s.empty());
    CHECK(s.front() == "status");
    CHECK(Suggestions("vaildate").front() == "validate");
    CHECK(Suggestions("doc").front() == "doctor");  // a prefix
    CHECK(Suggestions("xyzzy-plugh").empty());

    auto choice = ChooseCommand({"lsit"}, NoFiles);
    REQUIRE_FALSE(choice.ok());
    CHECK(choice.error().message == "unknown command 'lsit' (did you mean 'list'?)");
    auto none = ChooseCommand({"xyzzy"}, NoFiles);
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().message.find("job-runner help") != std::string::npos);
  }

  TEST_CASE("a job file is the default command") {
    auto by_suffix = ChooseCommand({"jobs/x.json", "extra"}, NoFiles);
    REQUIRE(by_suffix.ok());
    CHECK(by_suffix->command == "run");
    CHECK(by_suffix->args == std::vector<std::string>{"jobs/x.json", "extra"});

    auto existing = ChooseCommand({"myjob"}, [](const std::string& p) { return p == "myjob"; });
    REQUIRE(existing.ok());
    CHECK(existing->command == "run");

    auto explicit_run = ChooseCommand({"run", "x.json"}, NoFiles);
    REQUIRE(explicit_run.ok());
    CHECK(explicit_run->command == "run");
    CHECK(explicit_run->args == std::vector<std::string>{"x.json"});

    // A command name wins over a file of the same name.
    auto command = ChooseCommand({"status", "id1"}, [](const std::string&) { return true; });
    REQUIRE(command.ok());
    CHECK(command->command == "status");
    CHECK(command->args == std::vector<std::string>{"id1"});

    CHECK(ChooseCommand({}, NoFiles)->command == "help");
  }
}

TEST_SUITE("job-runner offline commands") {
  TEST_CASE("completion scripts name every command and flag") {
    for (const char* shell : {"bash", "zsh", "fish"}) {
      Ran r = Run("completion", {shell});
      CAPTURE(shell);
      CHECK(r.code == 0);
      for (const auto& c : Commands()) CHECK(r.out.find(c.name) != std::string::npos);
      for (const auto& [flag, help] : FlagList()) CHECK(r.out.find(flag) != std::string::npos);
    }
    CHECK(Run("completion", {"tcsh"}).code == kExitUsage);
  }

  TEST_CASE("help and version") {
    CHECK(Run("help", {}).out == UsageText());
    CHECK(Run("help", {"state"}).out.find("Usage: job-runner state get|put|delete") == 0);
    Ran unknown = Run("help", {"stats"});
    CHECK(unknown.code == kExitUsage);
    CHECK(unknown.err.find("did you mean 'status'") != std::string::npos);
    CHECK(Run("version", {}).out.find("job-runner ") == 0);
  }

  TEST_CASE("an unreachable platform is exit 4 with one line") {
    Ran r = Run("services", {});
    CHECK(r.code == kExitUnreachable);
    CHECK(r.err.find("job-runner: cannot reach discovery at http://127.0.0.1:4000") == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }

  TEST_CASE("argument errors are exit 2") {
    CHECK(Run("status", {}).code == kExitUsage);
    CHECK(Run("state", {"frob", "x"}).code == kExitUsage);
    CHECK(Run("run", {}).code == kExitUsage);
    CHECK(Run("run", {"a.json", "b.json"}).code == kExitUsage);
  }
}

TEST_SUITE("job-runner exit codes") {
  TEST_CASE("job status -> exit code") {
    CHECK(ExitCodeForJobStatus("completed") == 0);
    CHECK(ExitCodeForJobStatus("failed") == 1);
    CHECK(ExitCodeForJobStatus("cancelled") == 1);
    CHECK(ExitCodeForJobStatus("revert-failed") == 3);
    CHECK(ExitCodeForJobStatus("running") == 1);
  }

  TEST_CASE("error -> exit code") {
    CHECK(ExitCodeForError(Unavailable("down")) == kExitUnreachable);
    CHECK(ExitCodeForError(Error(ErrorCode::kDeadlineExceeded, "slow")) == kExitUnreachable);
    CHECK(ExitCodeForError(Error(ErrorCode::kBadGateway, "bad")) == kExitUnreachable);
    CHECK(ExitCodeForError(InvalidArgument("bad flag")) == kExitUsage);
    CHECK(ExitCodeForError(AlreadyExists("exists")) == kExitUsage);
    CHECK(ExitCodeForError(NotFound("no job")) == kExitFailed);
    CHECK(kExitOk == 0);
    CHECK(kExitFailed == 1);
    CHECK(kExitUsage == 2);
    CHECK(kExitRevertFailed == 3);
    CHECK(kExitUnreachable == 4);
  }
}

}  // namespace csp::job_runner
