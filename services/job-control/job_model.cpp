#include "job_model.h"

#include <cmath>

#include "csp/json/getters.h"
#include "csp/json/json.h"
#include "csp/json/pointer.h"

namespace csp::job_control {

namespace {

using json::JoinPath;
using json::Value;

// Collects problems; every check adds to it and parsing goes on, so all problems are listed.
class Checker {
 public:
  explicit Checker(const Limits& limits) : limits_(limits) {}

  void Add(std::string problem) { problems_.push_back(std::move(problem)); }
  // Adds r's error and returns false when r failed.
  template <typename T>
  bool Keep(const Result<T>& r) {
    if (r) return true;
    Add(r.error().message);
    return false;
  }

  std::vector<std::string> Take() { return std::move(problems_); }
  const Limits& limits() const { return limits_; }

 private:
  const Limits& limits_;
  std::vector<std::string> problems_;
};

bool IsHttpUrl(const std::string& url) {
  auto starts = [&](std::string_view p) { return url.size() > p.size() && url.compare(0, p.size(), p) == 0; };
  return starts("http://") || starts("https://");
}

std::optional<std::string> OptionalString(Checker& c, const Value& obj, std::string_view key,
                                          const std::string& path) {
  auto r = json::GetOptionalString(obj, key, path);
  if (!c.Keep(r)) return std::nullopt;
  return *r;
}

std::optional<bool> OptionalBool(Checker& c, const Value& obj, std::string_view key, const std::string& path) {
  auto r = json::GetOptionalBool(obj, key, path);
  if (!c.Keep(r)) return std::nullopt;
  return *r;
}

// A positive millisecond count no larger than the limit.
std::optional<std::chrono::milliseconds> OptionalMillis(Checker& c, const Value& obj, std::string_view key,
                                                        const std::string& path, int64_t min_value) {
  auto r = json::GetOptionalInt(obj, key, path);
  if (!c.Keep(r) || !r->has_value()) return std::nullopt;
  int64_t v = **r;
  if (v < min_value || v > c.limits().max_timeout.count()) {
    c.Add(JoinPath(path, key) + ": expected an integer from " + std::to_string(min_value) + " to " +
          std::to_string(c.limits().max_timeout.count()) + ", got " + std::to_string(v));
    return std::nullopt;
  }
  return std::chrono::milliseconds(v);
}

// Every "$fromState" in the value must be a valid RFC 6901 pointer.
void CheckStateRefs(Checker& c, const Value& v, const std::string& path) {
  if (v.IsArray()) {
    for (size_t i = 0; i < v.AsArray().size(); ++i) CheckStateRefs(c, v.AsArray()[i], JoinPath(path, i));
    return;
  }
  if (!v.IsObject()) return;
  if (IsStateRef(v)) {
    const std::string& ptr = v.Find("$fromState")->AsString();
    auto parsed = json::Pointer::Parse(ptr);
    if (!parsed) {
      c.Add(JoinPath(path, "$fromState") + ": '" + ptr + "' is not a JSON pointer (RFC 6901: empty or starting with '/')");
    }
    if (const Value* d = v.Find("default")) CheckStateRefs(c, *d, JoinPath(path, "default"));
    return;
  }
  for (const auto& [key, member] : v.AsObject()) CheckStateRefs(c, member, JoinPath(path, key));
}

std::optional<RetryPolicy> ParseRetry(Checker& c, const Value& task, const std::string& path) {
  auto obj = json::GetOptionalObject(task, "retry", path);
  if (!c.Keep(obj) || *obj == nullptr) return std::nullopt;
  const Value& r = **obj;
  std::string rpath = JoinPath(path, "retry");
  RetryPolicy policy;
  auto attempts = json::GetOptionalInt(r, "maxAttempts", rpath);
  if (c.Keep(attempts) && attempts->has_value()) {
    if (**attempts < 1 || **attempts > c.limits().max_attempts) {
      c.Add(JoinPath(rpath, "maxAttempts") + ": expected an integer from 1 to " +
            std::to_string(c.limits().max_attempts) + ", got " + std::to_string(**attempts));
    } else {
      policy.max_attempts = static_cast<int>(**attempts);
    }
  }
  if (auto d = OptionalMillis(c, r, "initialDelayMs", rpath, 0)) policy.initial_delay = *d;
  if (auto d = OptionalMillis(c, r, "maxDelayMs", rpath, 0)) policy.max_delay = *d;
  auto mult = json::GetOptionalNumber(r, "multiplier", rpath);
  if (c.Keep(mult) && mult->has_value()) {
    if (!(**mult >= 1.0 && **mult <= 100.0)) {
      c.Add(JoinPath(rpath, "multiplier") + ": expected a number from 1 to 100");
    } else {
      policy.multiplier = **mult;
    }
  }
  if (policy.max_delay < policy.initial_delay) policy.max_delay = policy.initial_delay;
  return policy;
}

std::optional<StoreSpec> ParseStoreEntry(Checker& c, const Value& entry, const std::string& path) {
  if (!entry.IsObject()) {
    c.Add(path + ": expected an object {targetPath, sourcePath, onlyOnStatus}, got " +
          std::string(json::TypeName(entry.type())));
    return std::nullopt;
  }
  StoreSpec spec;
  bool ok = true;
  auto target = json::GetString(entry, "targetPath", path);
  if (c.Keep(target)) {
    if (target->empty() || (*target)[0] != '/' || !json::Pointer::Parse(*target)) {
      c.Add(JoinPath(path, "targetPath") + ": '" + *target + "' is not a JSON pointer starting with '/'");
      ok = false;
    }
    spec.target_path = *target;
  } else {
    ok = false;
  }
  auto source = json::GetOptionalString(entry, "sourcePath", path);
  if (c.Keep(source) && source->has_value() && !(*source)->empty()) {
    std::string s = **source;
    if (s == "/") s.clear();                 // the original: "/" is the whole result
    else if (s[0] != '/') s.insert(0, "/");  // the original: "result" means "/result"
    if (!json::Pointer::Parse(s)) {
      c.Add(JoinPath(path, "sourcePath") + ": '" + **source + "' is not a JSON pointer");
      ok = false;
    }
    spec.source_path = s;
    spec.has_source = true;
  } else if (!source) {
    ok = false;
  }
  auto statuses = json::GetOptionalArray(entry, "onlyOnStatus", path);
  if (c.Keep(statuses) && *statuses != nullptr) {
    const auto& arr = (*statuses)->AsArray();
    for (size_t i = 0; i < arr.size(); ++i) {
      const Value& s = arr[i];
      bool integral = s.IsInt() || (s.IsDouble() && std::floor(s.AsDouble()) == s.AsDouble());
      int64_t code = s.IsInt() ? s.AsInt() : (integral ? static_cast<int64_t>(s.AsDouble()) : 0);
      if (!integral || code < 100 || code > 599) {
        c.Add(JoinPath(JoinPath(path, "onlyOnStatus"), i) + ": expected an HTTP status code (100-599)");
        ok = false;
        continue;
      }
      spec.only_on_status.push_back(static_cast<int>(code));
    }
  } else if (!statuses) {
    ok = false;
  }
  if (!ok) return std::nullopt;
  return spec;
}

// storeResultAt: "a string p" -> [{targetPath: p}]; an object -> [it]; an array as given.
std::vector<StoreSpec> ParseStore(Checker& c, const Value& task, const std::string& path) {
  std::vector<StoreSpec> out;
  const Value* v = task.Find("storeResultAt");
  if (v == nullptr || v->IsNull()) return out;
  std::string spath = JoinPath(path, "storeResultAt");
  if (v->IsString()) {
    Value entry = json::Object{{"targetPath", v->AsString()}};
    if (auto s = ParseStoreEntry(c, entry, spath)) out.push_back(*s);
    return out;
  }
  if (v->IsObject()) {
    if (auto s = ParseStoreEntry(c, *v, spath)) out.push_back(*s);
    return out;
  }
  if (!v->IsArray()) {
    c.Add(spath + ": expected a string, an object or an array of objects, got " + std::string(json::TypeName(v->type())));
    return out;
  }
  for (size_t i = 0; i < v->AsArray().size(); ++i) {
    if (auto s = ParseStoreEntry(c, v->AsArray()[i], JoinPath(spath, i))) out.push_back(*s);
  }
  return out;
}

bool IsConcurrencyMode(const std::string& mode) { return mode == "parallel" || mode == "sequential"; }

std::optional<TaskSpec> ParseTask(Checker& c, const Value& v, const std::string& path) {
  if (!v.IsObject()) {
    c.Add(path + ": expected an object, got " + std::string(json::TypeName(v.type())));
    return std::nullopt;
  }
  TaskSpec task;
  if (auto e = OptionalBool(c, v, "enabled", path)) task.enabled = *e;
  if (auto s = OptionalString(c, v, "tag", path)) task.tag = *s;
  if (auto s = OptionalString(c, v, "serviceName", path)) task.service_name = *s;
  if (auto s = OptionalString(c, v, "url", path)) {
    task.url = *s;
    if (!IsHttpUrl(task.url)) c.Add(JoinPath(path, "url") + ": expected an http or https URL");
    while (!task.url.empty() && task.url.back() == '/') task.url.pop_back();
  }
  auto given = [&](std::string_view key) {
    const Value* m = v.Find(key);
    return m != nullptr && !m->IsNull();
  };
  for (const char* key : {"tag", "serviceName"}) {
    const Value* m = v.Find(key);
    if (m != nullptr && m->IsString() && m->AsString().empty()) c.Add(JoinPath(path, key) + ": expected a non-empty string");
  }
  if (task.enabled && !given("tag") && !given("serviceName") && !given("url")) {
    c.Add(JoinPath(path, "tag") + ": is required (or serviceName, or url)");
  }
  if (auto m = OptionalString(c, v, "mode", path)) {
    if (m->empty() || IsConcurrencyMode(*m)) {
      c.Add(JoinPath(path, "mode") + ": expected a form rel such as execute, repeat or revert");
    } else {
      task.mode = *m;
    }
  }
  if (const Value* input = v.Find("input"); input != nullptr && !input->IsNull()) {
    if (!input->IsObject()) {
      c.Add(JoinPath(path, "input") + ": expected an object, got " + std::string(json::TypeName(input->type())));
    } else {
      CheckStateRefs(c, *input, JoinPath(path, "input"));
      task.input = *input;
    }
  }
  task.store = ParseStore(c, v, path);
  task.timeout = OptionalMillis(c, v, "timeoutMs", path, 1);
  task.retry = ParseRetry(c, v, path);
  return task;
}

std::optional<StepSpec> ParseStep(Checker& c, const Value& v, const std::string& path) {
  if (!v.IsObject()) {
    c.Add(path + ": expected an object, got " + std::string(json::TypeName(v.type())));
    return std::nullopt;
  }
  StepSpec step;
  if (auto s = OptionalString(c, v, "name", path)) step.name = *s;
  if (auto e = OptionalBool(c, v, "enabled", path)) step.enabled = *e;
  if (auto m = OptionalString(c, v, "mode", path)) {
    if (m->empty()) {
      c.Add(JoinPath(path, "mode") + ": expected a non-empty string");
    } else if (*m == "sequential") {
      step.concurrency = Concurrency::kSequential;
    } else if (*m != "parallel") {
      step.rel = *m;
    }
  }
  auto tasks = json::GetOptionalArray(v, "tasks", path);
  if (!c.Keep(tasks) || *tasks == nullptr) return step;
  const auto& arr = (*tasks)->AsArray();
  if (arr.size() > c.limits().max_tasks_per_step) {
    c.Add(JoinPath(path, "tasks") + ": " + std::to_string(arr.size()) + " tasks is over the limit of " +
          std::to_string(c.limits().max_tasks_per_step));
    return step;
  }
  for (size_t i = 0; i < arr.size(); ++i) {
    auto task = ParseTask(c, arr[i], JoinPath(JoinPath(path, "tasks"), i));
    step.tasks.push_back(task ? std::move(*task) : TaskSpec{});
  }
  return step;
}

}  // namespace

const std::string& TaskSpec::Label() const {
  if (!tag.empty()) return tag;
  if (!service_name.empty()) return service_name;
  return url;
}

bool StepSpec::Skipped() const {
  if (!enabled) return true;
  for (const auto& t : tasks) {
    if (t.enabled) return false;
  }
  return true;
}

bool StepSpec::ReadsState() const {
  if (Skipped()) return false;
  for (const auto& t : tasks) {
    if (t.enabled && ContainsStateRef(t.input)) return true;
  }
  return false;
}

bool JobSpec::UsesState() const {
  for (const auto& step : steps) {
    if (step.Skipped()) continue;
    for (const auto& t : step.tasks) {
      if (t.enabled && (!t.store.empty() || ContainsStateRef(t.input))) return true;
    }
  }
  return false;
}

bool IsStateRef(const json::Value& v) {
  if (!v.IsObject()) return false;
  const json::Value* ref = v.Find("$fromState");
  return ref != nullptr && ref->IsString();
}

bool ContainsStateRef(const json::Value& v) {
  if (IsStateRef(v)) return true;
  if (v.IsArray()) {
    for (const auto& e : v.AsArray()) {
      if (ContainsStateRef(e)) return true;
    }
  } else if (v.IsObject()) {
    for (const auto& [k, m] : v.AsObject()) {
      if (ContainsStateRef(m)) return true;
    }
  }
  return false;
}

ParsedJob ParseJob(const json::Value& document, const Limits& limits) {
  ParsedJob out;
  Checker c(limits);
  if (!document.IsObject()) {
    out.problems.push_back("body: expected a job object, got " + std::string(json::TypeName(document.type())));
    return out;
  }
  size_t size = json::Dump(document).size();
  if (size > limits.max_document_bytes) {
    out.problems.push_back("body: the job document is " + std::to_string(size) + " bytes, over the limit of " +
                           std::to_string(limits.max_document_bytes));
    return out;
  }
  JobSpec job;
  // The original stores any falsy name as null; a non-string name is a mistake worth naming.
  if (const json::Value* name = document.Find("name"); name != nullptr && !name->IsNull()) {
    if (name->IsString()) job.name = name->AsString();
    else if (!(name->IsBool() && !name->AsBool())) c.Add("name: expected a string, got " + std::string(json::TypeName(name->type())));
  }
  if (auto url = OptionalString(c, document, "sharedStateURL", "")) {
    if (!url->empty() && !IsHttpUrl(*url)) c.Add("sharedStateURL: expected an http or https URL");
    job.shared_state_url = *url;
  }
  auto state = json::GetOptionalObject(document, "sharedState", "");
  if (c.Keep(state) && *state != nullptr) job.shared_state = **state;
  job.timeout = OptionalMillis(c, document, "timeoutMs", "", 1);
  auto steps = json::GetArray(document, "steps", "");
  if (c.Keep(steps)) {
    const auto& arr = (*steps)->AsArray();
    if (arr.size() > limits.max_steps) {
      c.Add("steps: " + std::to_string(arr.size()) + " steps is over the limit of " + std::to_string(limits.max_steps));
    } else {
      for (size_t i = 0; i < arr.size(); ++i) {
        auto step = ParseStep(c, arr[i], JoinPath("steps", i));
        job.steps.push_back(step ? std::move(*step) : StepSpec{});
      }
    }
  }
  out.problems = c.Take();
  if (out.problems.empty()) out.job = std::move(job);
  return out;
}

}  // namespace csp::job_control
