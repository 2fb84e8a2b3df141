// `validate`: what would make this job fail before it even starts. Document checks mirror what
// job-control refuses with 400 (so a user fixes everything in one round); live checks catch what
// job-control only finds mid-run (a tag with no healthy service, a missing form, a $fromState
// that resolves to nothing).

#include <map>
#include <ostream>
#include <set>

#include "api.h"
#include "commands.h"
#include "csp/json/getters.h"
#include "csp/json/json.h"
#include "csp/json/pointer.h"
#include "exit_codes.h"
#include "initial_state.h"

namespace csp::job_runner {
namespace {

using json::JoinPath;
using json::Value;

struct Problems {
  std::vector<std::string> list;
  void Add(std::string p) { list.push_back(std::move(p)); }
  template <typename T>
  bool Keep(const Result<T>& r) {
    if (r) return true;
    Add(r.error().message);
    return false;
  }
};

bool IsHttpUrl(const std::string& url) { return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0; }

bool IsStateRef(const Value& v) {
  const Value* ref = v.IsObject() ? v.Find("$fromState") : nullptr;
  return ref != nullptr && ref->IsString();
}

// A $fromState reference found in a task's input.
struct StateRef {
  std::string path;     // where in the job document
  std::string pointer;  // what it reads
  bool has_default = false;
};

void CollectRefs(const Value& v, const std::string& path, std::vector<StateRef>& out) {
  if (v.IsArray()) {
    for (size_t i = 0; i < v.AsArray().size(); ++i) CollectRefs(v.AsArray()[i], JoinPath(path, i), out);
    return;
  }
  if (!v.IsObject()) return;
  if (IsStateRef(v)) {
    out.push_back({JoinPath(path, "$fromState"), v.Find("$fromState")->AsString(), v.Find("default") != nullptr});
    return;
  }
  for (const auto& [key, member] : v.AsObject()) CollectRefs(member, JoinPath(path, key), out);
}

// storeResultAt targets of one task, in any of its three forms.
std::vector<std::string> StoreTargets(const Value& task) {
  std::vector<std::string> out;
  const Value* store = task.Find("storeResultAt");
  if (store == nullptr) return out;
  if (store->IsString()) out.push_back(store->AsString());
  auto add = [&](const Value& entry) {
    const Value* t = entry.Find("targetPath");
    if (t != nullptr && t->IsString()) out.push_back(t->AsString());
  };
  if (store->IsObject()) add(*store);
  if (store->IsArray()) {
    for (const auto& e : store->AsArray()) add(e);
  }
  return out;
}

void CheckStore(Problems& p, const Value& task, const std::string& path) {
  const Value* store = task.Find("storeResultAt");
  if (store == nullptr || store->IsNull()) return;
  const std::string spath = JoinPath(path, "storeResultAt");
  auto check_target = [&](const std::string& target, const std::string& where) {
    if (target.empty() || target.front() != '/' || !json::Pointer::Parse(target)) {
      p.Add(where + ": '" + target + "' is not a JSON pointer starting with '/'");
    }
  };
  auto check_entry = [&](const Value& entry, const std::string& where) {
    if (!entry.IsObject()) {
      p.Add(where + ": expected an object {targetPath, sourcePath, onlyOnStatus}");
      return;
    }
    auto target = json::GetString(entry, "targetPath", where);
    if (p.Keep(target)) check_target(*target, JoinPath(where, "targetPath"));
    p.Keep(json::GetOptionalString(entry, "sourcePath", where));
    auto statuses = json::GetOptionalArray(entry, "onlyOnStatus", where);
    if (!p.Keep(statuses) || *statuses == nullptr) return;
    for (size_t i = 0; i < (*statuses)->AsArray().size(); ++i) {
      const Value& s = (*statuses)->AsArray()[i];
      if (!s.IsInt() || s.AsInt() < 100 || s.AsInt() > 599) {
        p.Add(JoinPath(JoinPath(where, "onlyOnStatus"), i) + ": expected an HTTP status code (100-599)");
      }
    }
  };
  if (store->IsString()) {
    check_target(store->AsString(), spath);
  } else if (store->IsObject()) {
    check_entry(*store, spath);
  } else if (store->IsArray()) {
    for (size_t i = 0; i < store->AsArray().size(); ++i) check_entry(store->AsArray()[i], JoinPath(spath, i));
  } else {
    p.Add(spath + ": expected a string, an object or an array of objects");
  }
}

void CheckRetry(Problems& p, const Value& task, const std::string& path) {
  auto retry = json::GetOptionalObject(task, "retry", path);
  if (!p.Keep(retry) || *retry == nullptr) return;
  const std::string rpath = JoinPath(path, "retry");
  auto attempts = json::GetOptionalInt(**retry, "maxAttempts", rpath);
  if (p.Keep(attempts) && *attempts && (**attempts < 1 || **attempts > 20)) {
    p.Add(JoinPath(rpath, "maxAttempts") + ": expected an integer from 1 to 20");
  }
  for (const char* key : {"initialDelayMs", "maxDelayMs"}) {
    auto v = json::GetOptionalInt(**retry, key, rpath);
    if (p.Keep(v) && *v && **v < 0) p.Add(JoinPath(rpath, key) + ": expected a non-negative integer");
  }
  auto multiplier = json::GetOptionalNumber(**retry, "multiplier", rpath);
  if (p.Keep(multiplier) && *multiplier && **multiplier < 1.0) p.Add(JoinPath(rpath, "multiplier") + ": expected a number >= 1");
}

void CheckTask(Problems& p, const Value& task, const std::string& path) {
  if (!task.IsObject()) {
    p.Add(path + ": expected an object");
    return;
  }
  auto enabled = json::GetOptionalBool(task, "enabled", path);
  p.Keep(enabled);
  bool named = false;
  for (const char* key : {"tag", "serviceName", "url"}) {
    auto v = json::GetOptionalString(task, key, path);
    if (p.Keep(v) && *v && !(*v)->empty()) named = true;
  }
  if (!named && !(enabled && *enabled && !**enabled)) p.Add(JoinPath(path, "tag") + ": is required (or serviceName, or url)");
  if (auto url = json::GetOptionalString(task, "url", path); url && *url && !IsHttpUrl(**url)) {
    p.Add(JoinPath(path, "url") + ": expected an http or https URL");
  }
  p.Keep(json::GetOptionalString(task, "mode", path));
  if (const Value* input = task.Find("input"); input != nullptr && !input->IsNull()) {
    if (!input->IsObject()) p.Add(JoinPath(path, "input") + ": expected an object");
    std::vector<StateRef> refs;
    CollectRefs(*input, JoinPath(path, "input"), refs);
    for (const auto& r : refs) {
      if (!json::Pointer::Parse(r.pointer)) p.Add(r.path + ": '" + r.pointer + "' is not a JSON pointer (empty or starting with '/')");
    }
  }
  CheckStore(p, task, path);
  CheckRetry(p, task, path);
  auto timeout = json::GetOptionalInt(task, "timeoutMs", path);
  if (p.Keep(timeout) && *timeout && **timeout < 1) p.Add(JoinPath(path, "timeoutMs") + ": expected a positive integer");
}

void CheckDocument(Problems& p, const Value& job) {
  p.Keep(json::GetOptionalString(job, "name", ""));
  auto url = json::GetOptionalString(job, "sharedStateURL", "");
  if (p.Keep(url) && *url && !IsHttpUrl(**url)) p.Add("sharedStateURL: expected an http or https URL");
  p.Keep(json::GetOptionalObject(job, "sharedState", ""));
  p.Keep(json::GetOptionalObject(job, "initialState", ""));
  auto steps = json::GetArray(job, "steps", "");
  if (!p.Keep(steps)) return;
  for (size_t i = 0; i < (*steps)->AsArray().size(); ++i) {
    const Value& step = (*steps)->AsArray()[i];
    const std::string path = JoinPath("steps", i);
    if (!step.IsObject()) {
      p.Add(path + ": expected an object");
      continue;
    }
    p.Keep(json::GetOptionalString(step, "name", path));
    p.Keep(json::GetOptionalBool(step, "enabled", path));
    auto mode = json::GetOptionalString(step, "mode", path);
    if (p.Keep(mode) && *mode && (*mode)->empty()) p.Add(JoinPath(path, "mode") + ": expected a non-empty string");
    auto tasks = json::GetOptionalArray(step, "tasks", path);
    if (!p.Keep(tasks) || *tasks == nullptr) continue;
    for (size_t j = 0; j < (*tasks)->AsArray().size(); ++j) {
      CheckTask(p, (*tasks)->AsArray()[j], JoinPath(JoinPath(path, "tasks"), j));
    }
  }
}

bool Disabled(const Value& v) {
  const Value* e = v.Find("enabled");
  return e != nullptr && e->IsBool() && !e->AsBool();
}

std::string Str(const Value& v, const char* key) {
  const Value* f = v.Find(key);
  return f != nullptr && f->IsString() ? f->AsString() : "";
}

// The live checks, with lookups cached per tag and per service URL.
class LiveChecker {
 public:
  LiveChecker(Api& api, Problems& problems) : api_(api), p_(problems) {}

  // The service URL a task would call, or "" after adding a problem.
  std::string ServiceFor(const Value& task, const std::string& path) {
    if (auto url = Str(task, "url"); !url.empty()) return url;
    const bool by_name = Str(task, "tag").empty();
    const std::string key = by_name ? Str(task, "serviceName") : Str(task, "tag");
    const std::string what = by_name ? "serviceName" : "tag";
    auto cached = services_.find(what + ":" + key);
    if (cached == services_.end()) {
      auto entries = by_name ? api_.FindByName(key) : api_.FindByTag(key);
      std::string url;
      std::string problem;
      if (!entries) {
        problem = entries.error().message;
      } else if (entries->AsArray().empty()) {
        problem = "no service is registered in discovery for " + what + " '" + key + "'";
      } else {
        for (const auto& e : entries->AsArray()) {
          const std::string status = Str(e, "status");
          if (status.empty() || status == "passing") {
            url = Str(e, "serviceURL");
            break;
          }
        }
        if (url.empty()) {
          problem = "no healthy service for " + what + " '" + key + "' (" + std::to_string(entries->AsArray().size()) +
                    " registered, none passing its health check)";
        }
      }
      cached = services_.emplace(what + ":" + key, std::make_pair(url, problem)).first;
    }
    if (!cached->second.second.empty()) p_.Add(JoinPath(path, what) + ": " + cached->second.second);
    return cached->second.first;
  }

  void CheckForm(const std::string& service_url, const std::string& rel, const std::string& path) {
    auto cached = forms_.find(service_url);
    if (cached == forms_.end()) {
      std::set<std::string> rels;
      std::string problem;
      http_client::Request request;
      request.url = service_url + "/forms";
      request.timeout = std::chrono::milliseconds(5000);
      auto response = api_.Send(request);
      auto body = response && response->ok() ? response->Json() : Result<Value>(InvalidArgument("x"));
      if (!response) {
        problem = "cannot read the forms of " + service_url + ": " + response.error().message;
      } else if (!body || !body->IsArray()) {
        problem = "cannot read the forms of " + service_url + ": GET /forms answered " + std::to_string(response->status);
      } else {
        for (const auto& form : body->AsArray()) rels.insert(Str(form, "rel"));
      }
      cached = forms_.emplace(service_url, std::make_pair(rels, problem)).first;
    }
    if (!cached->second.second.empty()) {
      p_.Add(path + ": " + cached->second.second);
      return;
    }
    if (cached->second.first.count(rel) == 0) {
      p_.Add(path + ": the service at " + service_url + " has no '" + rel + "' form");
    }
  }

 private:
  Api& api_;
  Problems& p_;
  std::map<std::string, std::pair<std::string, std::string>> services_;  // key -> (url, problem)
  std::map<std::string, std::pair<std::set<std::string>, std::string>> forms_;
};

// True when `pointer` reads something an earlier step writes: a target at, above or below it.
bool WrittenEarlier(const std::string& pointer, const std::vector<std::string>& targets) {
  for (const auto& t : targets) {
    if (pointer == t) return true;
    if (pointer.rfind(t + "/", 0) == 0) return true;
    if (t.rfind(pointer + "/", 0) == 0) return true;
  }
  return false;
}

void CheckLive(Api& api, Problems& p, const Value& job, const Value* state) {
  LiveChecker live(api, p);
  const Value* steps = job.Find("steps");
  std::vector<std::string> written;
  for (size_t i = 0; i < steps->AsArray().size(); ++i) {
    const Value& step = steps->AsArray()[i];
    const Value* tasks = step.Find("tasks");
    if (Disabled(step) || tasks == nullptr || !tasks->IsArray()) continue;
    std::string step_rel = Str(step, "mode");
    if (step_rel.empty() || step_rel == "parallel" || step_rel == "sequential") step_rel = "execute";
    std::vector<std::string> written_here;
    for (size_t j = 0; j < tasks->AsArray().size(); ++j) {
      const Value& task = tasks->AsArray()[j];
      if (!task.IsObject() || Disabled(task)) continue;
      const std::string path = JoinPath(JoinPath(JoinPath("steps", i), "tasks"), j);
      const std::string url = live.ServiceFor(task, path);
      const std::string rel = Str(task, "mode").empty() ? step_rel : Str(task, "mode");
      if (!url.empty()) live.CheckForm(url, rel, path);
      std::vector<StateRef> refs;
      if (const Value* input = task.Find("input")) CollectRefs(*input, JoinPath(path, "input"), refs);
      for (const auto& r : refs) {
        if (r.has_default) continue;
        auto pointer = json::Pointer::Parse(r.pointer);
        if (!pointer) continue;
        if (state != nullptr && json::Find(*state, *pointer) != nullptr) continue;
        if (WrittenEarlier(r.pointer, written)) continue;
        p.Add(r.path + ": '" + r.pointer + "' is not in the state and no earlier step stores it " +
              "(put it in the --state file or initialState, or give a \"default\")");
      }
      for (auto& t : StoreTargets(task)) written_here.push_back(std::move(t));
    }
    written.insert(written.end(), written_here.begin(), written_here.end());
  }
}

}  // namespace

int ValidateCommand(Env& env) {
  const Options& o = env.options;
  if (o.args.size() != 1) return UsageError(env, "validate: expected one job file (job-runner validate <jobFile>)");
  const std::string& file = o.args[0];
  auto job = ReadJsonObjectFile(file, "job file", &env.in);
  if (!job) return UsageError(env, job.error().message);

  Problems problems;
  CheckDocument(problems, *job);
  auto initial = AssembleInitialState(o, *job, env.in);
  if (!initial) problems.Add(initial.error().message);

  int code = kExitOk;
  const Value* steps = job->Find("steps");
  const bool document_ok = problems.list.empty() && steps != nullptr && steps->IsArray();
  if (!o.offline && document_ok) {
    Api api(o, env.http, o.verbose ? &env.err : nullptr);
    // The state the job starts with: the runner's document, else the job's own, plus sharedState.
    Value state = initial->present ? initial->content : Value::MakeObject();
    const std::string own = Str(*job, "sharedStateURL");
    if (!initial->present && !own.empty()) {
      auto doc = api.GetDocument(own);
      if (!doc) problems.Add("sharedStateURL: " + doc.error().message);
      if (doc && *doc) state = std::move(**doc);
      if (doc && !*doc) problems.Add("sharedStateURL: " + own + " does not exist");
    }
    if (const Value* seed = job->Find("sharedState"); seed != nullptr) ShallowMerge(state, *seed);
    auto reachable = api.AllEntries();
    if (!reachable) {
      env.err << "job-runner: " << reachable.error().message << " (use --offline to check the document only)\n";
      code = kExitUnreachable;
    } else {
      CheckLive(api, problems, *job, &state);
    }
  }
  for (const auto& p : problems.list) env.out << file << ": " << p << "\n";
  if (!problems.list.empty()) {
    env.out << file << ": " << problems.list.size() << (problems.list.size() == 1 ? " problem" : " problems") << "\n";
    return code == kExitOk ? kExitFailed : code;
  }
  if (code != kExitOk) return code;
  env.out << file << ": ok (" << (o.offline ? "document checked" : "document, services, forms and state checked")
          << ")\n";
  return kExitOk;
}

}  // namespace csp::job_runner
