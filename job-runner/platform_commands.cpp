// services, state, doctor: the platform itself rather than one job.

#include <ostream>

#include "api.h"
#include "commands.h"
#include "csp/json/json.h"
#include "exit_codes.h"
#include "render.h"

namespace csp::job_runner {
namespace {

using std::chrono::milliseconds;

std::string Text(const json::Value& v, const char* key) {
  const json::Value* f = v.Find(key);
  if (f == nullptr || f->IsNull()) return "";
  return f->IsString() ? f->AsString() : json::Dump(*f);
}

std::string Join(const json::Value* list) {
  if (list == nullptr || !list->IsArray()) return "";
  std::string out;
  for (const auto& item : list->AsArray()) {
    if (item.IsString()) out += (out.empty() ? "" : ",") + item.AsString();
  }
  return out;
}

bool IsPlatformService(const std::string& name) {
  return name == "discovery" || name == "shared-state" || name == "job-control";
}

// --- doctor -----------------------------------------------------------------------------------

struct Check {
  bool ok = true;
  std::string component;
  std::string url;
  std::string detail;
  std::string fix;  // how to fix it, when !ok
};

// GET <url>/health: "ok (v0.1.0, up 12s)" or the reason it is not.
Check Health(Api& api, const std::string& component, const std::string& url) {
  Check c;
  c.component = component;
  c.url = url;
  http_client::Request request;
  request.url = url + "/health";
  request.timeout = milliseconds(3000);
  auto response = api.Send(request);
  if (!response) {
    c.ok = false;
    c.detail = "unreachable: " + response.error().message;
    return c;
  }
  auto body = response->Json();
  if (!response->ok()) {
    c.ok = false;
    c.detail = "/health answered " + std::to_string(response->status);
    if (body) {
      const std::string failing = Text(*body, "failing").empty() ? Text(*body, "error") : Text(*body, "failing");
      if (!failing.empty()) c.detail += ": " + failing;
    }
    return c;
  }
  c.detail = "ok";
  if (body) {
    std::string extra;
    if (auto v = Text(*body, "version"); !v.empty()) extra = "v" + v;
    if (auto up = Text(*body, "uptimeSeconds"); !up.empty()) extra += (extra.empty() ? "up " : ", up ") + up + "s";
    if (!extra.empty()) c.detail += " (" + extra + ")";
  }
  return c;
}

Check PlatformService(Api& api, const std::string& name, const std::string& configured, const std::string& flag,
                      bool discovery_up) {
  if (!configured.empty()) {
    Check c = Health(api, name, configured);
    if (!c.ok) c.fix = "check " + flag + " (" + configured + "), or start it with scripts/start-all.sh";
    return c;
  }
  Check c;
  c.component = name;
  if (!discovery_up) {
    c.ok = false;
    c.detail = "cannot be looked up: discovery is down";
    c.fix = "start discovery first (scripts/start-all.sh starts everything in order)";
    return c;
  }
  auto entries = api.FindByName(name);
  if (!entries || entries->AsArray().empty()) {
    c.ok = false;
    c.detail = "not registered in discovery";
    c.fix = "start it with scripts/start-all.sh (see run/" + name + ".log if it exits), or pass " + flag;
    return c;
  }
  const json::Value& entry = entries->AsArray().front();
  c = Health(api, name, Text(entry, "serviceURL"));
  const std::string status = Text(entry, "status");
  if (!c.ok) {
    c.fix = "it is registered but does not answer: check scripts/status.sh and run/" + name +
            ".log, then restart it with scripts/start-all.sh";
  } else if (status == "critical") {
    c.detail += "; discovery marks it critical (its last health check failed)";
  }
  return c;
}

void PrintCheck(Env& env, const Check& c) {
  Style style;
  style.color = env.terminal.out_tty && env.terminal.color;
  env.out << Mark(c.ok ? "succeeded" : "failed", style) << " " << c.component;
  if (!c.url.empty()) env.out << "  " << c.url;
  env.out << "  " << c.detail << "\n";
  if (!c.ok && !c.fix.empty()) env.out << "    fix: " << c.fix << "\n";
}

}  // namespace

int ServicesCommand(Env& env) {
  Api api(env.options, env.http, env.options.verbose ? &env.err : nullptr);
  auto entries = api.AllEntries();
  if (!entries) return Fail(env, entries.error());
  if (env.options.json) {
    env.out << json::DumpPretty(*entries) << "\n";
    return kExitOk;
  }
  if (entries->AsArray().empty()) {
    env.out << "discovery at " << api.discovery_url() << " knows no services (start them: scripts/start-all.sh)\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "URL", "HEALTH", "TAGS", "PROFILE"}};
  for (const auto& e : entries->AsArray()) {
    std::string health = Text(e, "status");
    if (health.empty()) health = "unknown";
    if (auto failures = Text(e, "failures"); !failures.empty() && failures != "0") {
      health += " (" + failures + " failed checks)";
    }
    rows.push_back({Text(e, "serviceName"), Text(e, "serviceURL"), health, Join(e.Find("tags")), Text(e, "semanticProfile")});
  }
  env.out << FormatTable(rows);
  return kExitOk;
}

int StateCommand(Env& env) {
  const auto& args = env.options.args;
  const std::string verb = args.empty() ? "" : args[0];
  if (verb != "get" && verb != "put" && verb != "delete") {
    return UsageError(env, "state: expected get, put or delete (job-runner state get|put|delete <id> [FILE])");
  }
  const size_t max_args = verb == "put" ? 3 : 2;
  if (args.size() < 2 || args.size() > max_args) {
    return UsageError(env, "state " + verb + ": expected <id>" + (verb == "put" ? " [FILE|-]" : ""));
  }
  const std::string& id = args[1];
  Api api(env.options, env.http, env.options.verbose ? &env.err : nullptr);
  // A full document URL works too (what `run --keep` prints).
  std::string base;
  std::string doc_id = id;
  if (id.rfind("http://", 0) == 0 || id.rfind("https://", 0) == 0) {
    doc_id = StateIdFromUrl(id);
    base = id.substr(0, id.rfind("/state/"));
  } else {
    auto url = api.SharedStateUrl();
    if (!url) return Fail(env, url.error());
    base = *url;
  }
  const std::string doc_url = base + "/state/" + doc_id;

  if (verb == "get") {
    auto doc = api.GetDocument(doc_url);
    if (!doc) return Fail(env, doc.error());
    if (!*doc) return Fail(env, NotFound("state " + doc_id + " not found at " + base));
    env.out << json::DumpPretty(**doc) << "\n";
    return kExitOk;
  }
  if (verb == "delete") {
    if (auto s = api.DeleteDocument(doc_url); !s) return Fail(env, s.error());
    if (!env.options.quiet) env.out << "state " << doc_id << " deleted\n";
    return kExitOk;
  }
  auto content = ReadJsonObjectFile(args.size() == 3 ? args[2] : "-", "state file", &env.in);
  if (!content) return UsageError(env, content.error().message);
  content->AsObject().Erase("id");
  if (auto s = api.ReplaceDocument(base, doc_id, *content); !s) return Fail(env, s.error());
  if (!env.options.quiet) env.out << "state " << doc_id << " written at " << doc_url << "\n";
  return kExitOk;
}

int DoctorCommand(Env& env) {
  const Options& o = env.options;
  Api api(o, env.http, o.verbose ? &env.err : nullptr);
  std::vector<Check> checks;

  Check discovery = Health(api, "discovery", o.discovery_url);
  if (!discovery.ok) {
    discovery.fix = "start the platform with scripts/start-all.sh, or point --discovery-url (or a context in the "
                    "config) at a running discovery";
  }
  checks.push_back(discovery);
  checks.push_back(PlatformService(api, "shared-state", o.state_url, "--state-url", discovery.ok));
  checks.push_back(PlatformService(api, "job-control", o.job_url, "--job-url", discovery.ok));

  if (discovery.ok) {
    auto entries = api.AllEntries();
    int engines = 0;
    if (entries) {
      for (const auto& e : entries->AsArray()) {
        const std::string name = Text(e, "serviceName");
        if (IsPlatformService(name)) continue;
        ++engines;
        Check c = Health(api, name, Text(e, "serviceURL"));
        if (!c.ok) {
          c.fix = "the engine is registered but unhealthy: restart it (scripts/start-all.sh) or let discovery evict it";
        }
        checks.push_back(c);
      }
    }
    if (engines == 0) {
      Check none;
      none.ok = false;
      none.component = "engines";
      none.detail = "none registered: jobs have no service to call";
      none.fix = "start engines with scripts/start-all.sh (person, todo, order) or engine --design FILE";
      checks.push_back(none);
    }
  }
  int problems = 0;
  for (const auto& c : checks) {
    PrintCheck(env, c);
    problems += c.ok ? 0 : 1;
  }
  if (problems == 0) {
    env.out << "everything looks fine\n";
    return kExitOk;
  }
  env.out << problems << (problems == 1 ? " problem" : " problems") << " found\n";
  return kExitFailed;
}

}  // namespace csp::job_runner
