#include <doctest/doctest.h>

#include <map>

#include "csp/json/json.h"
#include "options.h"

namespace csp::job_runner {
namespace {

json::Value J(const std::string& text) {
  auto v = json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

struct Fixture {
  std::map<std::string, std::string> env;
  ConfigFiles config;

  EnvLookup Env() const {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
  }

  Result<Options> Resolve(const std::vector<std::string>& args) const {
    auto cl = ParseCommandLine(args);
    REQUIRE_MESSAGE(cl.ok(), (cl.ok() ? "" : cl.error().message));
    std::vector<std::string> rest;
    if (cl->positionals.size() > 1) rest.assign(cl->positionals.begin() + 1, cl->positionals.end());
    return ResolveOptions(*cl, "run", rest, Env(), config);
  }
};

}  // namespace

TEST_SUITE("job-runner options") {
  TEST_CASE("defaults when nothing is given") {
    Fixture f;
    auto o = f.Resolve({"job.json"});
    REQUIRE(o.ok());
    CHECK(o->discovery_url == "http://127.0.0.1:4000");
    CHECK(o->job_url.empty());
    CHECK(o->state_url.empty());
    CHECK_FALSE(o->keep);
    CHECK_FALSE(o->overwrite);
    CHECK_FALSE(o->dry_run);
    CHECK_FALSE(o->emit.has_value());
    CHECK(o->timeout.count() == 0);
  }

  TEST_CASE("flag beats environment beats config beats default") {
    Fixture f;
    f.config.local = J(R"({"jobURL": "http://config:1", "stateURL": "http://config:2", "discoveryURL": "http://config:3"})");
    f.env["JOB_RUNNER_JOB_URL"] = "http://env:1";
    f.env["JOB_RUNNER_STATE_URL"] = "http://env:2/";
    auto o = f.Resolve({"job.json", "--job-url", "http://flag:1"});
    REQUIRE(o.ok());
    CHECK(o->job_url == "http://flag:1");
    CHECK(o->state_url == "http://env:2");  // trailing slash dropped
    CHECK(o->discovery_url == "http://config:3");
  }

  TEST_CASE("the local config wins over the user config key by key") {
    Fixture f;
    f.config.local = J(R"({"jobURL": "http://local"})");
    f.config.user = J(R"({"jobURL": "http://user", "stateURL": "http://user-state"})");
    auto o = f.Resolve({"job.json"});
    REQUIRE(o.ok());
    CHECK(o->job_url == "http://local");
    CHECK(o->state_url == "http://user-state");
  }

  TEST_CASE("config booleans apply and flags switch them off") {
    Fixture f;
    f.config.local = J(R"({"keep": true, "overwrite": true, "dryRun": true, "verbose": true})");
    auto on = f.Resolve({"job.json"});
    REQUIRE(on.ok());
    CHECK(on->keep);
    CHECK(on->overwrite);
    CHECK(on->dry_run);
    CHECK(on->verbose);
    auto off = f.Resolve({"job.json", "--cleanup", "--no-overwrite", "--no-dry-run", "--no-verbose"});
    REQUIRE(off.ok());
    CHECK_FALSE(off->keep);
    CHECK_FALSE(off->overwrite);
    CHECK_FALSE(off->dry_run);
    CHECK_FALSE(off->verbose);
  }

  TEST_CASE("the last of --keep and --cleanup wins") {
    Fixture f;
    CHECK(f.Resolve({"j.json", "--cleanup", "--keep"})->keep);
    CHECK_FALSE(f.Resolve({"j.json", "--keep", "--cleanup"})->keep);
  }

  TEST_CASE("environment booleans beat the config and must be booleans") {
    Fixture f;
    f.config.local = J(R"({"keep": true})");
    f.env["JOB_RUNNER_KEEP"] = "false";
    CHECK_FALSE(f.Resolve({"j.json"})->keep);
    f.env["JOB_RUNNER_KEEP"] = "maybe";
    auto bad = f.Resolve({"j.json"});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("JOB_RUNNER_KEEP") != std::string::npos);
  }

  TEST_CASE("--emit with and without a file and the config emit forms") {
    Fixture f;
    auto to_stdout = f.Resolve({"j.json", "--emit"});
    REQUIRE(to_stdout->emit.has_value());
    CHECK(to_stdout->emit->to_stdout);
    auto to_file = f.Resolve({"j.json", "--emit", "out.json"});
    REQUIRE(to_file->emit.has_value());
    CHECK_FALSE(to_file->emit->to_stdout);
    CHECK(to_file->emit->file == "out.json");
    CHECK(f.Resolve({"j.json", "--emit=o.json"})->emit->file == "o.json");

    f.config.local = J(R"({"emit": "final.json"})");
    f.config.local_dir = "/work/dir";
    auto from_config = f.Resolve({"j.json"});
    REQUIRE(from_config->emit.has_value());
    CHECK(from_config->emit->file == "/work/dir/final.json");  // relative to the config's directory
    CHECK_FALSE(f.Resolve({"j.json", "--no-emit"})->emit.has_value());
    f.config.local = J(R"({"emit": true})");
    CHECK(f.Resolve({"j.json"})->emit->to_stdout);
  }

  TEST_CASE("a duplicate key in the config: the last one wins (the original's .job-runner.json)") {
    Fixture f;
    f.config.local = J(R"({"emit": "file.json", "keep": true, "emit": true})");
    auto o = f.Resolve({"j.json"});
    REQUIRE(o->emit.has_value());
    CHECK(o->emit->to_stdout);
  }

  TEST_CASE("the state file from the config resolves against the config's directory") {
    Fixture f;
    f.config.user = J(R"({"state": "states/s.json"})");
    f.config.user_dir = "/home/u/.config/job-runner";
    CHECK(f.Resolve({"j.json"})->state_file == "/home/u/.config/job-runner/states/s.json");
    CHECK(f.Resolve({"j.json", "--state", "mine.json"})->state_file == "mine.json");
  }

  TEST_CASE("contexts from current and --context and JOB_RUNNER_CONTEXT and an unknown one") {
    Fixture f;
    f.config.user = J(R"({"current": "dev", "discoveryURL": "http://top",
      "contexts": {"dev": {"discoveryURL": "http://dev:4000"}, "prod": {"discoveryURL": "http://prod:4000", "jobURL": "http://prod-jobs"}}})");
    auto dev = f.Resolve({"j.json"});
    REQUIRE(dev.ok());
    CHECK(dev->context == "dev");
    CHECK(dev->discovery_url == "http://dev:4000");

    auto prod = f.Resolve({"j.json", "--context", "prod"});
    REQUIRE(prod.ok());
    CHECK(prod->discovery_url == "http://prod:4000");
    CHECK(prod->job_url == "http://prod-jobs");

    f.env["JOB_RUNNER_CONTEXT"] = "prod";
    CHECK(f.Resolve({"j.json"})->discovery_url == "http://prod:4000");
    CHECK(f.Resolve({"j.json", "--context", "dev"})->discovery_url == "http://dev:4000");

    f.env["JOB_RUNNER_DISCOVERY_URL"] = "http://env:4000";
    CHECK(f.Resolve({"j.json"})->discovery_url == "http://env:4000");  // env beats the context

    auto unknown = f.Resolve({"j.json", "--context", "staging"});
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message.find("staging") != std::string::npos);
    CHECK(unknown.error().message.find("dev, prod") != std::string::npos);
  }

  TEST_CASE("a bad timeout or --quiet with --verbose or --json with --emit to stdout are usage errors") {
    Fixture f;
    CHECK_FALSE(f.Resolve({"j.json", "--timeout", "soon"}).ok());
    CHECK(f.Resolve({"j.json", "--timeout", "90s"})->timeout == std::chrono::seconds(90));
    CHECK_FALSE(f.Resolve({"j.json", "--quiet", "--verbose"}).ok());
    CHECK_FALSE(f.Resolve({"j.json", "--json", "--emit"}).ok());
    CHECK(f.Resolve({"j.json", "--json", "--emit", "f.json"}).ok());
  }

  TEST_CASE("--quiet on the command line beats verbose from the config") {
    Fixture f;
    f.config.local = J(R"({"verbose": true})");
    auto o = f.Resolve({"j.json", "-q"});
    REQUIRE(o.ok());
    CHECK(o->quiet);
    CHECK_FALSE(o->verbose);
  }

  TEST_CASE("unknown and abbreviated flags are errors") {
    CHECK_FALSE(ParseCommandLine({"j.json", "--frobnicate"}).ok());
    CHECK_FALSE(ParseCommandLine({"j.json", "--ove"}).ok());  // no prefix guessing
    CHECK_FALSE(ParseCommandLine({"j.json", "--state"}).ok());  // missing value
  }

  TEST_CASE("--set is repeatable and keeps its order") {
    auto cl = ParseCommandLine({"j.json", "--set", "a=1", "--set", "b.c=x"});
    REQUIRE(cl.ok());
    CHECK(cl->Values("set") == std::vector<std::string>{"a=1", "b.c=x"});
    CHECK(cl->positionals == std::vector<std::string>{"j.json"});
  }
}

TEST_SUITE("job-runner --set") {
  TEST_CASE("values are JSON when they parse and strings otherwise") {
    CHECK(ParseSetValue("3") == json::Value(3));
    CHECK(ParseSetValue("true") == json::Value(true));
    CHECK(ParseSetValue("null").IsNull());
    CHECK(ParseSetValue(R"({"a":[1]})") == J(R"({"a":[1]})"));
    CHECK(ParseSetValue("Ann") == json::Value("Ann"));
    CHECK(ParseSetValue(R"("3")") == json::Value("3"));
    CHECK(ParseSetValue("") == json::Value(""));
    CHECK(ParseSetValue("1.5.2") == json::Value("1.5.2"));
  }

  TEST_CASE("dotted paths create objects") {
    json::Value doc = J(R"({"keep": 1})");
    REQUIRE(ApplySet(doc, "order.item=Loom").ok());
    REQUIRE(ApplySet(doc, "order.qty=3").ok());
    REQUIRE(ApplySet(doc, "flag=false").ok());
    CHECK(doc == J(R"({"keep": 1, "order": {"item": "Loom", "qty": 3}, "flag": false})"));
  }

  TEST_CASE("the value may contain '='") {
    json::Value doc = json::Value::MakeObject();
    REQUIRE(ApplySet(doc, "q=a=b").ok());
    CHECK(doc == J(R"({"q": "a=b"})"));
  }

  TEST_CASE("JSON Pointer keys and array indexes") {
    json::Value doc = J(R"({"items": [{"n": 1}, {"n": 2}]})");
    REQUIRE(ApplySet(doc, "items.1.n=20").ok());
    REQUIRE(ApplySet(doc, "/a~1b/c=x").ok());
    CHECK(doc == J(R"({"items": [{"n": 1}, {"n": 20}], "a/b": {"c": "x"}})"));
  }

  TEST_CASE("errors name the problem") {
    json::Value doc = J(R"({"name": "Ann", "list": [1]})");
    auto no_eq = ApplySet(doc, "name");
    REQUIRE_FALSE(no_eq.ok());
    CHECK(no_eq.error().message.find("KEY.PATH=VALUE") != std::string::npos);
    CHECK_FALSE(ApplySet(doc, "=1").ok());
    CHECK_FALSE(ApplySet(doc, "a..b=1").ok());
    auto through_scalar = ApplySet(doc, "name.first=A");
    REQUIRE_FALSE(through_scalar.ok());
    CHECK(through_scalar.error().message.find("'name' is string") != std::string::npos);
    CHECK_FALSE(ApplySet(doc, "list.5=1").ok());
    CHECK(doc == J(R"({"name": "Ann", "list": [1]})"));
  }
}

TEST_SUITE("job-runner booleans") {
  TEST_CASE("ParseBool") {
    for (const char* t : {"1", "true", "YES", "on"}) CHECK(*ParseBool(t));
    for (const char* f : {"0", "false", "No", "off"}) CHECK_FALSE(*ParseBool(f));
    CHECK_FALSE(ParseBool("2").ok());
  }
}

}  // namespace csp::job_runner
