#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "csp/config/command_line.h"

namespace po = boost::program_options;

namespace {

using csp::config::CommandLine;

// Runs Parse over {program, args...}, capturing what it prints.
struct Run {
  std::optional<int> exit_code;
  std::string out;
  std::string err;
};

Run ParseArgs(CommandLine& cl, std::initializer_list<const char*> args) {
  std::string joined;
  for (const char* arg : args) joined += std::string(" ") + arg;
  INFO("args:", joined);
  std::vector<const char*> argv = {"svc"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::ostringstream out;
  std::ostringstream err;
  Run run;
  run.exit_code = cl.Parse(static_cast<int>(argv.size()), argv.data(), out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

// Sets an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { REQUIRE(setenv(name, value, 1) == 0); }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

class TempDir {
 public:
  TempDir() {
    std::string templ = "/tmp/csp-config-test-XXXXXX";
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string Write(const std::string& name, const std::string& content, mode_t mode) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file) << content;
    REQUIRE(chmod(file.c_str(), mode) == 0);
    return file;
  }

 private:
  std::filesystem::path path_;
};

// A bad value: exit 2 and exactly one line on stderr naming the program.
void CheckRejected(const Run& run) {
  INFO("stdout: ", run.out, " stderr: ", run.err);
  REQUIRE(run.exit_code.has_value());
  CHECK(*run.exit_code == 2);
  CHECK(run.err.rfind("svc: ", 0) == 0);
  CHECK(run.err.find('\n') == run.err.size() - 1);
  CHECK(run.out.empty());
}

}  // namespace

TEST_SUITE("config") {
  TEST_CASE("defaults when nothing is given") {
    CommandLine cl("svc", "A test service.", 4500);
    Run run = ParseArgs(cl, {});
    CHECK_FALSE(run.exit_code.has_value());
    const auto& c = cl.common();
    CHECK(c.host == "127.0.0.1");
    CHECK(c.port == 4500);
    CHECK(c.data_dir == "./data");
    CHECK(c.discovery_url == "http://127.0.0.1:4000");
    CHECK(c.advertise_url == "http://127.0.0.1:4500");
    CHECK(c.log_level == "info");
    CHECK(c.threads == 2);
    CHECK(c.max_body == 1024 * 1024);
    CHECK(c.auth_token.empty());
    CHECK_FALSE(c.auth_reads);
  }

  TEST_CASE("--help and --version print to stdout and exit 0") {
    CommandLine cl("svc", "A test service.", 4500);
    cl.AddDuration("check-interval", "10s", "how often to check");
    Run help = ParseArgs(cl, {"--help"});
    REQUIRE(help.exit_code.has_value());
    CHECK(*help.exit_code == 0);
    CHECK(help.out.find("--check-interval") != std::string::npos);
    CHECK(help.out.find("--discovery-url") != std::string::npos);
    CHECK(help.err.empty());

    Run version = ParseArgs(cl, {"--version"});
    REQUIRE(version.exit_code.has_value());
    CHECK(*version.exit_code == 0);
    CHECK(version.out.rfind("svc ", 0) == 0);
    CHECK(version.out.size() > 5);
  }

  TEST_CASE("flags win over the environment, which wins over defaults") {
    CommandLine cl("svc", "A test service.", 4600);
    cl.Add()("workers", po::value<int64_t>()->default_value(4), "workers")
             ("history", po::value<std::string>()->default_value("keep"), "history");
    ScopedEnv threads("CSP_THREADS", "8");
    ScopedEnv port("CSP_PORT", "5000");
    ScopedEnv workers("CSP_WORKERS", "16");
    ScopedEnv discovery("CSP_DISCOVERY_URL", "http://disco:4000/");
    Run run = ParseArgs(cl, {"--port", "6000", "--workers=32"});
    REQUIRE_FALSE(run.exit_code.has_value());
    CHECK(cl.common().port == 6000);                            // flag over env
    CHECK(cl.common().threads == 8);                            // env over default
    CHECK(cl.common().discovery_url == "http://disco:4000");    // env, trailing '/' dropped
    CHECK(cl.common().advertise_url == "http://127.0.0.1:6000");
    CHECK(cl.GetInt("workers") == 32);
    CHECK(cl.GetString("history") == "keep");                   // default
    CHECK(cl.WasSet("workers"));
    CHECK_FALSE(cl.WasSet("history"));
    CHECK(cl.Has("history"));
    CHECK_FALSE(cl.Has("advertise-url"));
  }

  TEST_CASE("bool switches from flags and the environment") {
    CommandLine cl("svc", "A test service.", 4700);
    cl.Add()("allow-unregistered-urls", po::bool_switch(), "allow");
    Run off = ParseArgs(cl, {});
    REQUIRE_FALSE(off.exit_code.has_value());
    CHECK_FALSE(cl.GetBool("allow-unregistered-urls"));
    Run on = ParseArgs(cl, {"--allow-unregistered-urls"});
    REQUIRE_FALSE(on.exit_code.has_value());
    CHECK(cl.GetBool("allow-unregistered-urls"));
    ScopedEnv env("CSP_ALLOW_UNREGISTERED_URLS", "true");
    Run from_env = ParseArgs(cl, {});
    REQUIRE_FALSE(from_env.exit_code.has_value());
    CHECK(cl.GetBool("allow-unregistered-urls"));
  }

  TEST_CASE("bad flags and values exit 2 with one line") {
    CommandLine cl("svc", "A test service.", 4000);
    cl.AddDuration("check-interval", "10s", "how often to check");
    cl.AddSize("max-document", "1MiB", "largest document");
    CheckRejected(ParseArgs(cl, {"--frobnicate"}));
    CheckRejected(ParseArgs(cl, {"--por", "1"}));  // no prefix guessing
    CheckRejected(ParseArgs(cl, {"--port"}));
    CheckRejected(ParseArgs(cl, {"--port", "abc"}));
    CheckRejected(ParseArgs(cl, {"--port", "70000"}));
    CheckRejected(ParseArgs(cl, {"--port=-1"}));
    CheckRejected(ParseArgs(cl, {"--threads", "0"}));
    CheckRejected(ParseArgs(cl, {"--threads", "65"}));
    CheckRejected(ParseArgs(cl, {"--max-body", "512"}));
    CheckRejected(ParseArgs(cl, {"--max-body", "65MiB"}));
    CheckRejected(ParseArgs(cl, {"--max-body", "lots"}));
    CheckRejected(ParseArgs(cl, {"--log-level", "verbose"}));
    CheckRejected(ParseArgs(cl, {"--discovery-url", "ftp://x"}));
    CheckRejected(ParseArgs(cl, {"--advertise-url", "localhost:4000"}));
    CheckRejected(ParseArgs(cl, {"--check-interval", "soon"}));
    CheckRejected(ParseArgs(cl, {"--max-document", "-1"}));
    CheckRejected(ParseArgs(cl, {"stray-positional"}));
    CheckRejected(ParseArgs(cl, {"--auth-reads"}));  // nothing to check reads against
    {
      ScopedEnv env("CSP_THREADS", "many");
      CheckRejected(ParseArgs(cl, {}));
    }
    CHECK_FALSE(ParseArgs(cl, {"--port", "0", "--threads", "64", "--max-body", "64MiB"}).exit_code.has_value());
    CHECK(cl.common().port == 0);
    CHECK(cl.common().advertise_url.empty());  // to be built once the port is bound
    CHECK(cl.common().max_body == 64u * 1024 * 1024);
  }

  TEST_CASE("durations") {
    CommandLine cl("svc", "A test service.", 4000);
    cl.AddDuration("check-interval", "10s", "how often to check");
    cl.AddDuration("evict-after", "5m", "when to evict");
    cl.Add()("retain", po::value<std::string>()->default_value("forever"), "unchecked");
    cl.Add()("timeout-seconds", po::value<int>()->default_value(3), "integral");
    Run run = ParseArgs(cl, {"--check-interval", "500ms"});
    REQUIRE_FALSE(run.exit_code.has_value());
    CHECK(cl.GetDuration("check-interval").value() == std::chrono::milliseconds(500));
    CHECK(cl.GetDuration("evict-after").value() == std::chrono::minutes(5));
    CHECK(cl.GetDuration("timeout-seconds").value() == std::chrono::seconds(3));
    auto bad = cl.GetDuration("retain");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == csp::ErrorCode::kInvalidArgument);
    CHECK(bad.error().message.rfind("--retain", 0) == 0);

    REQUIRE_FALSE(ParseArgs(cl, {"--check-interval", "30"}).exit_code.has_value());
    CHECK(cl.GetDuration("check-interval").value() == std::chrono::seconds(30));
    REQUIRE_FALSE(ParseArgs(cl, {"--check-interval", "2s"}).exit_code.has_value());
    CHECK(cl.GetDuration("check-interval").value() == std::chrono::seconds(2));
  }

  TEST_CASE("sizes") {
    using csp::config::ParseSize;
    CHECK(ParseSize("1048576").value() == 1048576u);
    CHECK(ParseSize("512KiB").value() == 512u * 1024);
    CHECK(ParseSize("1MiB").value() == 1024u * 1024);
    CHECK(ParseSize("1mib").value() == 1024u * 1024);
    CHECK(ParseSize("2GiB").value() == 2ull * 1024 * 1024 * 1024);
    CHECK(ParseSize("3KB").value() == 3000u);
    CHECK(ParseSize("4M").value() == 4u * 1024 * 1024);
    CHECK(ParseSize("7B").value() == 7u);
    CHECK(ParseSize("1 MiB").value() == 1024u * 1024);
    for (const char* bad : {"", "MiB", "-1", "1.5MiB", "1XiB", " 1", "99999999999999999999", "18446744073709551615GiB"}) {
      CHECK_MESSAGE(!ParseSize(bad).ok(), bad);
    }

    CommandLine cl("svc", "A test service.", 4000);
    cl.AddSize("max-document", "256KiB", "largest document");
    REQUIRE_FALSE(ParseArgs(cl, {"--max-body", "2MiB"}).exit_code.has_value());
    CHECK(cl.common().max_body == 2u * 1024 * 1024);
    CHECK(cl.GetSize("max-document").value() == 256u * 1024);
  }

  TEST_CASE("advertise URL defaults") {
    using csp::config::DefaultAdvertiseUrl;
    CHECK(DefaultAdvertiseUrl("127.0.0.1", 4000) == "http://127.0.0.1:4000");
    CHECK(DefaultAdvertiseUrl("0.0.0.0", 4500) == "http://127.0.0.1:4500");
    CHECK(DefaultAdvertiseUrl("::", 1) == "http://127.0.0.1:1");
    CHECK(DefaultAdvertiseUrl("::1", 2) == "http://[::1]:2");
    CHECK(DefaultAdvertiseUrl("node7", 3) == "http://node7:3");

    CommandLine cl("svc", "A test service.", 4000);
    REQUIRE_FALSE(ParseArgs(cl, {"--host", "0.0.0.0", "--advertise-url", "http://public:80/"}).exit_code.has_value());
    CHECK(cl.common().advertise_url == "http://public:80");
    REQUIRE_FALSE(ParseArgs(cl, {"--host", "0.0.0.0"}).exit_code.has_value());
    CHECK(cl.common().advertise_url == "http://127.0.0.1:4000");
  }

  TEST_CASE("the auth token comes from a private file, trimmed") {
    TempDir dir;
    const std::string good = dir.Write("token", "  s3cret-token\n", 0600);
    const std::string shared = dir.Write("shared", "s3cret-token\n", 0644);
    const std::string empty = dir.Write("empty", " \n", 0600);
    const std::string spaced = dir.Write("spaced", "two words\n", 0600);

    CommandLine cl("svc", "A test service.", 4000);
    Run run = ParseArgs(cl, {"--auth-token-file", good.c_str(), "--auth-reads"});
    REQUIRE_FALSE(run.exit_code.has_value());
    CHECK(cl.common().auth_token == "s3cret-token");
    CHECK(cl.common().auth_token_file == good);
    CHECK(cl.common().auth_reads);

    CheckRejected(ParseArgs(cl, {"--auth-token-file", shared.c_str()}));
    CheckRejected(ParseArgs(cl, {"--auth-token-file", empty.c_str()}));
    CheckRejected(ParseArgs(cl, {"--auth-token-file", spaced.c_str()}));
    CheckRejected(ParseArgs(cl, {"--auth-token-file", "/nonexistent/csp-token"}));
    Run rejected = ParseArgs(cl, {"--auth-token-file", shared.c_str()});
    CHECK(rejected.err.find("s3cret") == std::string::npos);  // never print the secret
  }

  TEST_CASE("the auth token from the environment, unless a file is given") {
    TempDir dir;
    const std::string file = dir.Write("token", "from-file", 0600);
    ScopedEnv env("CSP_AUTH_TOKEN", " from-env \n");
    CommandLine cl("svc", "A test service.", 4000);
    REQUIRE_FALSE(ParseArgs(cl, {}).exit_code.has_value());
    CHECK(cl.common().auth_token == "from-env");
    REQUIRE_FALSE(ParseArgs(cl, {"--auth-token-file", file.c_str()}).exit_code.has_value());
    CHECK(cl.common().auth_token == "from-file");
    ScopedEnv file_env("CSP_AUTH_TOKEN_FILE", file.c_str());
    REQUIRE_FALSE(ParseArgs(cl, {}).exit_code.has_value());
    CHECK(cl.common().auth_token == "from-file");
  }
}
