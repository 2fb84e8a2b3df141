#include "routes.h"

#include <map>

#include "csp/core/time.h"
#include "csp/json/json.h"

namespace csp::job_control {

namespace {

using http::Request;
using http::Response;
using json::Value;

Value Iso(std::optional<int64_t> ms) {
  if (!ms) return Value();
  return FormatIso8601(FromUnixMillis(*ms));
}

Value NameOrNull(const std::string& name) { return name.empty() ? Value() : Value(name); }

// The human message of a job's error record (the original's `error` field is this string).
Value ErrorMessage(const Value& error) {
  if (const Value* e = error.Find("error"); e != nullptr && e->IsString()) return *e;
  return Value();
}

Response ErrorReply(const Error& e) {
  Response r = Response::FromError(e);
  if (e.code == ErrorCode::kOverloaded) r.WithHeader("Retry-After", "1");
  return r;
}

Response ProblemsReply(const std::vector<std::string>& problems) {
  std::string msg = "invalid job document: " + problems.front();
  if (problems.size() > 1) msg += " (and " + std::to_string(problems.size() - 1) + " more problems)";
  json::Array list;
  for (const auto& p : problems) list.emplace_back(p);
  return Response::Json(400, json::Object{{"error", msg}, {"code", "invalid_argument"}, {"problems", list}});
}

std::string JobHref(const Request& req, const std::string& id) { return req.BaseUrl() + "/jobs/" + id; }

Value SummaryJson(const JobRow& job, const std::string& base) {
  return json::Object{{"id", job.id},
                      {"status", job.status},
                      {"name", NameOrNull(job.name)},
                      {"createdAt", Iso(job.created_at)},
                      {"completedAt", Iso(job.completed_at)},
                      {"steps", job.step_count},
                      {"error", ErrorMessage(job.error)},
                      {"rel", "job"},
                      {"href", base + "/jobs/" + job.id}};
}

Result<int64_t> ParseNonNegative(const Request& req, const std::string& name, int64_t fallback) {
  auto v = req.Query(name);
  if (!v) return fallback;
  if (v->empty() || v->size() > 18) return InvalidArgument(name + ": expected a non-negative integer");
  int64_t out = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return InvalidArgument(name + ": expected a non-negative integer, got '" + *v + "'");
    out = out * 10 + (c - '0');
  }
  return out;
}

std::string TaskStatusForStep(const std::vector<const TaskRow*>& rows, const StepSpec* spec) {
  if (spec != nullptr && spec->Skipped()) return "skipped";
  bool any_failed = false, any_open = false, any_started = false, all_done = true;
  for (const TaskRow* t : rows) {
    if (t->status == kTaskFailed) any_failed = true;
    if (t->status == kTaskDispatched) any_open = true;
    if (t->status != kTaskPending) any_started = true;
    if (t->status == kTaskPending || t->status == kTaskDispatched) all_done = false;
  }
  if (any_failed) return "failed";
  if (any_open || (any_started && !all_done)) return "running";
  if (!any_started) return "pending";
  return "succeeded";
}

Value TaskJson(const TaskRow& t, const TaskSpec* spec) {
  Value out = json::Object{{"index", t.task}, {"tag", t.label}, {"status", t.status}};
  if (spec != nullptr) {
    if (!spec->service_name.empty()) out.Set("serviceName", spec->service_name);
    if (!spec->url.empty()) out.Set("url", spec->url);
    if (spec->mode) out.Set("mode", *spec->mode);
  }
  out.Set("requestId", t.request_id.empty() ? Value() : Value(t.request_id));
  out.Set("service", t.service_url.empty() ? Value() : Value(t.service_url));
  out.Set("endpoint", t.endpoint.empty() ? Value() : Value(t.endpoint));
  out.Set("attempts", t.attempts);
  out.Set("httpStatus", t.http_status ? Value(*t.http_status) : Value());
  out.Set("startedAt", Iso(t.started_at));
  out.Set("finishedAt", Iso(t.finished_at));
  out.Set("durationMs", t.started_at && t.finished_at ? Value(*t.finished_at - *t.started_at) : Value());
  out.Set("result", t.result);
  out.Set("error", t.error.empty() ? Value() : Value(t.error));
  return out;
}

}  // namespace

json::Value JobDetailJson(Store& store, const JobRow& job, const std::string& base) {
  // The original's record first, in its key order; ours after it.
  Value out = json::Object{{"id", job.id}, {"status", job.status}, {"createdAt", Iso(job.created_at)},
                           {"name", NameOrNull(job.name)}, {"steps", job.step_count}};
  if (job.error.IsObject()) {
    out.Set("error", ErrorMessage(job.error));
    const Value* task = job.error.Find("task");
    out.Set("failedTask", task != nullptr ? *task : Value());
    out.Set("failure", job.error);
  }
  if (job.completed_at) out.Set("completedAt", Iso(job.completed_at));
  out.Set("startedAt", Iso(job.started_at));
  out.Set("deadline", Iso(job.deadline));
  out.Set("stateURL", job.state_url.empty() ? Value() : Value(job.state_url));
  out.Set("cancelRequested", job.cancel_requested);

  std::optional<JobSpec> spec;
  if (auto doc = json::Parse(job.document)) {
    auto parsed = ParseJob(*doc);
    if (parsed.ok()) spec = std::move(parsed.job);
  }
  auto tasks = store.ListTasks(job.id);
  std::map<int, std::vector<const TaskRow*>> by_step;
  if (tasks) {
    for (const auto& t : *tasks) by_step[t.step].push_back(&t);
  }
  json::Array steps;
  for (int i = 0; i < job.step_count; ++i) {
    const StepSpec* s = spec && i < static_cast<int>(spec->steps.size()) ? &spec->steps[i] : nullptr;
    Value step = json::Object{{"index", i}};
    if (s != nullptr) {
      step.Set("name", NameOrNull(s->name));
      step.Set("enabled", s->enabled);
      step.Set("mode", s->rel);
      step.Set("concurrency", s->concurrency == Concurrency::kSequential ? "sequential" : "parallel");
    }
    const auto& rows = by_step[i];
    step.Set("status", TaskStatusForStep(rows, s));
    json::Array list;
    for (const TaskRow* t : rows) {
      const TaskSpec* ts = s != nullptr && t->task < static_cast<int>(s->tasks.size()) ? &s->tasks[t->task] : nullptr;
      list.push_back(TaskJson(*t, ts));
    }
    step.Set("tasks", Value(std::move(list)));
    steps.push_back(std::move(step));
  }
  out.Set("stepDetails", Value(std::move(steps)));

  json::Array reverts;
  if (auto rows = store.ListReverts(job.id)) {
    for (const auto& r : *rows) {
      std::string tag;
      if (tasks) {
        for (const auto& t : *tasks) {
          if (t.step == r.step && t.task == r.task) tag = t.label;
        }
      }
      reverts.push_back(json::Object{{"step", r.step}, {"task", r.task}, {"tag", tag}, {"requestId", r.request_id},
                                     {"status", r.status}, {"attempts", r.attempts},
                                     {"httpStatus", r.http_status ? Value(*r.http_status) : Value()},
                                     {"reply", r.reply}, {"error", r.error.empty() ? Value() : Value(r.error)},
                                     {"at", Iso(r.at)}});
    }
  }
  out.Set("reverts", Value(std::move(reverts)));
  out.Set("events", base + "/jobs/" + job.id + "/events");
  out.Set("rel", "jobs");
  out.Set("href", base + "/jobs");
  return out;
}

void AddRoutes(http::Router& router, const RouteContext& ctx) {
  RouteContext c = ctx;

  // Parses and validates; on success submits. `sync` waits for the end of the job.
  auto submit = [c](const Request& req, const http::Reply& reply, bool sync) {
    auto body = req.JsonBody();
    if (!body) return reply(Response::FromError(body.error()));
    ParsedJob parsed = ParseJob(*body, c.limits);
    if (!parsed.ok()) return reply(ProblemsReply(parsed.problems));
    std::string key(req.Header("Idempotency-Key").value_or(""));
    if (key.size() > 256) return reply(Response::FromError(InvalidArgument("Idempotency-Key: longer than 256 characters")));
    std::string base = req.BaseUrl();
    JobService::EndCallback on_end;
    if (sync) {
      on_end = [reply](const JobOutcome& o) {
        if (o.status.empty()) {
          reply(Response::Json(503, json::Object{{"error", "job-control is shutting down; job " + o.job_id +
                                                               " continues when it starts again"},
                                                 {"code", "unavailable"},
                                                 {"jobId", o.job_id}}));
          return;
        }
        if (o.status == kCompleted) {
          reply(Response::Json(200, json::Object{{"jobId", o.job_id}, {"status", kCompleted}}));
          return;
        }
        const Value* task = o.error.Find("task");
        const Value* status = o.error.Find("status");
        Value error = json::Object{{"status", status != nullptr ? *status : Value("error")},
                                   {"task", task != nullptr ? *task : Value()},
                                   {"error", ErrorMessage(o.error)}};
        reply(Response::Json(500, json::Object{{"jobId", o.job_id}, {"status", o.status}, {"error", error}}));
      };
    }
    auto submitted = c.service.Submit(*body, *parsed.job, key, on_end);
    if (!submitted) return reply(ErrorReply(submitted.error()));
    if (sync) return;  // on_end answers
    std::string href = base + "/jobs/" + submitted->job_id;
    Value out = json::Object{{"jobId", submitted->job_id}, {"status", submitted->status}, {"href", href}};
    reply(Response::Json(submitted->created ? 202 : 200, out).WithHeader("Location", "/jobs/" + submitted->job_id));
  };

  router.AddAsync(http::Method::kPost, "/run-job", [submit](Request req, http::Reply reply) {
    auto async = req.Query("async");
    bool is_async = async && (*async == "true" || *async == "1" || async->empty());
    submit(req, reply, !is_async);
  });
  router.AddAsync(http::Method::kPost, "/jobs",
                  [submit](Request req, http::Reply reply) { submit(req, reply, false); });

  router.Get("/jobs", [c](const Request& req) {
    auto limit = ParseNonNegative(req, "limit", 0);
    if (!limit) return Response::FromError(limit.error());
    JobFilter filter;
    filter.status = req.Query("status").value_or("");
    filter.limit = *limit;
    auto jobs = c.store.ListJobs(filter);
    if (!jobs) return Response::FromError(jobs.error());
    json::Array out;
    std::string base = req.BaseUrl();
    for (const auto& j : *jobs) out.push_back(SummaryJson(j, base));
    return Response::Json(200, Value(std::move(out)));
  });

  router.Get("/filter", [c](const Request& req) {
    JobFilter filter;
    filter.name = req.Query("name").value_or("");
    filter.created_at = req.Query("createdAt").value_or("");
    filter.completed_at = req.Query("completedAt").value_or("");
    std::string status = req.Query("status").value_or("");
    auto jobs = c.store.ListJobs(filter);
    if (!jobs) return Response::FromError(jobs.error());
    json::Array out;
    std::string base = req.BaseUrl();
    for (const auto& j : *jobs) {
      if (!status.empty() && j.status.find(status) == std::string::npos) continue;
      out.push_back(SummaryJson(j, base));
    }
    return Response::Json(200, Value(std::move(out)));
  });

  router.Get("/jobs/:id", [c](const Request& req) {
    auto job = c.store.GetJob(req.Param("id"));
    if (!job) return Response::FromError(job.error());
    return Response::Json(200, JobDetailJson(c.store, *job, req.BaseUrl()));
  });

  router.Post("/jobs/:id/cancel", [c](const Request& req) {
    const std::string& id = req.Param("id");
    auto status = c.service.Cancel(id);
    if (!status) return Response::FromError(status.error());
    bool done = *status == kCancelled;
    return Response::Json(done ? 200 : 202, json::Object{{"jobId", id}, {"status", *status},
                                                         {"cancelRequested", true},
                                                         {"href", JobHref(req, id)}});
  });

  router.Delete("/jobs/:id", [c](const Request& req) {
    if (auto s = c.service.Delete(req.Param("id")); !s) return Response::FromError(s.error());
    return Response::Empty(204);
  });

  router.AddAsync(http::Method::kGet, "/jobs/:id/events", [c](Request req, http::Reply reply) {
    const std::string& id = req.Param("id");
    auto after = ParseNonNegative(req, "after", 0);
    if (!after) return reply(Response::FromError(after.error()));
    std::chrono::milliseconds wait{0};
    if (auto w = req.Query("wait")) {
      auto d = ParseDuration(*w);
      if (!d) return reply(Response::FromError(InvalidArgument("wait: " + d.error().message)));
      wait = std::min(*d, c.max_wait);
    }
    auto job = c.store.GetJob(id);
    if (!job) return reply(Response::FromError(job.error()));
    c.events.Watch(id, *after, wait, [reply](std::vector<EventRow> events) {
      json::Array out;
      for (const auto& e : events) out.push_back(EventJson(e));
      reply(Response::Json(200, Value(std::move(out))));
    });
  });

  router.Get("/forms", [](const Request& req) {
    std::string base = req.BaseUrl();
    auto form = [&](const char* rel, const char* method, std::string href, Value input, const char* output) {
      return Value(json::Object{{"rel", rel}, {"method", method}, {"href", std::move(href)}, {"input", std::move(input)},
                                {"output", output}});
    };
    Value job_input = json::Array{"name?", "sharedStateURL?", "sharedState?", "timeoutMs?", "steps"};
    json::Array forms{
        form("run-job", "POST", base + "/run-job", job_input, "{jobId, status} when the job ends"),
        form("list-jobs", "GET", base + "/jobs", json::Array{"status?", "limit?"}, "array of jobs"),
        form("get-job", "GET", base + "/jobs/{jobId}", json::Array{}, "job record"),
        form("filter-jobs", "GET", base + "/filter", json::Array{"name?", "status?", "createdAt?", "completedAt?"},
             "array of jobs"),
        form("submit-job", "POST", base + "/jobs", job_input, "{jobId, status, href} at once (202)"),
        form("cancel-job", "POST", base + "/jobs/{jobId}/cancel", json::Array{}, "{jobId, status}"),
        form("job-events", "GET", base + "/jobs/{jobId}/events", json::Array{"after?", "wait?"}, "array of events"),
        form("delete-job", "DELETE", base + "/jobs/{jobId}", json::Array{}, "204"),
    };
    return Response::Json(200, Value(std::move(forms)));
  });

  router.Get("/", [c](const Request&) {
    return Response::Json(200, json::Object{{"name", "job-control"}, {"version", c.version}});
  });
}

}  // namespace csp::job_control
