// job-control: wiring only (flags, store, domain, routes, server, registration, shutdown).
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <memory>

#include "csp/clients/discovery.h"
#include "csp/config/command_line.h"
#include "csp/core/clock.h"
#include "csp/http/metrics.h"
#include "csp/http/router.h"
#include "csp/http/server.h"
#include "csp/http_client/client.h"
#include "csp/log/log.h"
#include "directory.h"
#include "events.h"
#include "job_service.h"
#include "routes.h"
#include "runner.h"
#include "store.h"

namespace po = boost::program_options;
namespace jc = csp::job_control;

int main(int argc, char** argv) {
  csp::http::BlockTerminationSignals();
  csp::http_client::CurlClient::GlobalInit();  // it registers at once: see GlobalInit in client.h

  csp::config::CommandLine cl("job-control", "Runs multi-step jobs as durable sagas.", 4700);
  cl.Add()("workers", po::value<int64_t>()->default_value(8), "jobs run at the same time (1-256)");
  cl.Add()("queue-size", po::value<int64_t>()->default_value(1000), "jobs waiting to run before 503 overloaded");
  cl.AddDuration("task-timeout", "30s", "per-attempt timeout of a task call (unless the task sets timeoutMs)");
  cl.AddDuration("job-timeout", "10m", "deadline of a job from its start (unless the job sets timeoutMs)");
  cl.AddDuration("state-write-hold", "5ms",
                 "how long a task's result may wait for the results of its parallel step's other running "
                 "calls, to be written to shared-state in one PATCH with them (0: at once; at most 1s)");
  cl.AddDuration("retain", "7d", "how long finished jobs are kept before they are pruned");
  cl.Add()("allow-unregistered-urls", po::bool_switch(), "call URLs whose origin is not registered in discovery");
  if (auto code = cl.Parse(argc, argv)) return *code;
  const auto& common = cl.common();

  csp::log::Logger log("job-control");
  if (auto level = csp::log::ParseLevel(common.log_level)) csp::log::SetLevel(*level);
  int64_t workers = cl.GetInt("workers");
  int64_t queue_size = cl.GetInt("queue-size");
  if (workers < 1 || workers > 256 || queue_size < 1) {
    std::fprintf(stderr, "job-control: --workers must be 1-256 and --queue-size at least 1\n");
    return 2;
  }
  if (*cl.GetDuration("state-write-hold") > std::chrono::seconds(1)) {
    std::fprintf(stderr, "job-control: --state-write-hold must be at most 1s\n");
    return 2;
  }

  std::string db_path = common.data_dir == ":memory:" ? std::string(":memory:") : common.data_dir + "/job-control.db";
  auto store = jc::Store::Open(db_path);
  if (!store) {
    log.Error("cannot open the store", {{"path", db_path}, {"error", store.error().message}});
    return 1;
  }

  csp::SystemClock clock;
  csp::http_client::CurlOptions curl_options;
  curl_options.bearer_token = common.auth_token;
  curl_options.user_agent = "csp-job-control";
  csp::http_client::CurlClient client(curl_options);

  csp::http::MetricsRegistry metrics;
  auto& task_duration = metrics.AddHistogram("job_control_task_duration_seconds", "Duration of task calls, retries included",
                                             {0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  auto& retries = metrics.AddCounter("job_control_task_retries_total", "Task calls retried");
  auto& reverts = metrics.AddCounter("job_control_reverts_total", "Reverts by outcome");
  auto& state_patches = metrics.AddCounter("job_control_state_patches_total",
                                           "Unconditional PATCHes of task results sent to shared-state");
  auto& state_patch_writes = metrics.AddCounter(
      "job_control_state_patch_writes_total",
      "Task results those PATCHes carried (results of tasks finishing while one is on its way share the next)");
  jc::Store& store_ref = **store;
  metrics.AddGaugeFunction("job_control_jobs", "Jobs by status", [&store_ref] {
    std::vector<std::pair<csp::http::Labels, double>> out;
    if (auto counts = store_ref.CountByStatus()) {
      for (const auto& [status, n] : *counts) out.push_back({{{"status", status}}, static_cast<double>(n)});
    }
    return out;
  });
  metrics.AddGaugeFunction("job_control_store_writes", "Job and task records written since start", [&store_ref] {
    return std::vector<std::pair<csp::http::Labels, double>>{{{}, static_cast<double>(store_ref.GroupWrites())}};
  });
  metrics.AddGaugeFunction("job_control_store_commits", "Commits those writes took (writes arriving together share one)",
                           [&store_ref] {
                             return std::vector<std::pair<csp::http::Labels, double>>{
                                 {{}, static_cast<double>(store_ref.GroupCommits())}};
                           });

  jc::DirectoryOptions dir_options;
  dir_options.allow_unregistered_urls = cl.GetBool("allow-unregistered-urls");
  jc::ServiceDirectory directory(common.discovery_url, client, clock, dir_options);
  jc::EventLog events(store_ref, clock);
  jc::RunnerOptions run_options;
  run_options.task_timeout = *cl.GetDuration("task-timeout");
  run_options.job_timeout = *cl.GetDuration("job-timeout");
  run_options.state_write_hold = *cl.GetDuration("state-write-hold");
  jc::RunnerHooks hooks;
  hooks.task_finished = [&task_duration](double s, bool ok) {
    task_duration.Observe({{"outcome", ok ? "succeeded" : "failed"}}, s);
  };
  hooks.task_retried = [&retries] { retries.Inc(); };
  hooks.revert_finished = [&reverts](const std::string& outcome) { reverts.Inc({{"outcome", outcome}}); };
  hooks.state_patch_sent = [&state_patches, &state_patch_writes](size_t writes) {
    state_patches.Inc();
    state_patch_writes.Inc({}, static_cast<double>(writes));
  };
  jc::TaskPool pool(static_cast<int>(std::min<int64_t>(workers * 4, 256)));
  jc::JobRunner runner(store_ref, events, directory, client, clock, pool, run_options, hooks);
  jc::ServiceOptions service_options;
  service_options.workers = static_cast<int>(workers);
  service_options.queue_size = static_cast<size_t>(queue_size);
  service_options.retain = *cl.GetDuration("retain");
  jc::JobService service(store_ref, events, runner, clock, service_options);

  csp::http::Router router;
  jc::RouteContext ctx{service, store_ref, events, run_options.limits, CSP_VERSION};
  jc::AddRoutes(router, ctx);
  auto server_options = csp::http::ServerOptionsFrom(common, "job-control");
  // Event long polls hold up to 5 min and the synchronous /run-job up to the job's deadline.
  server_options.longest_reply = std::chrono::duration_cast<std::chrono::seconds>(
      std::max<std::chrono::milliseconds>(std::chrono::minutes(5), run_options.job_timeout));
  server_options.health = [&store_ref] {
    csp::http::HealthReport report;
    report.ok = store_ref.Healthy();
    report.details.Set("store", report.ok ? "ok" : "failing");
    return report;
  };
  // The executors start (and pick up unfinished jobs) before the first request can queue one.
  if (auto s = service.Start(); !s) {
    log.Error("cannot start the job service", {{"error", s.error().message}});
    return 1;
  }
  csp::http::Server server(server_options, std::move(router), metrics);
  if (auto s = server.Start(); !s) {
    log.Error("cannot start the server", {{"error", s.error().message}});
    service.Stop(std::chrono::seconds(5));
    return 1;
  }

  csp::clients::Registration registration;
  registration.service_name = "job-control";
  registration.service_url = common.advertise_url.empty()
                                 ? csp::config::DefaultAdvertiseUrl(common.host, server.port())
                                 : common.advertise_url;
  registration.tags = {"jobs", "job-control"};
  registration.semantic_profile = "urn:csp:job-control";
  csp::clients::Registrar registrar(common.discovery_url, registration, client);
  registrar.Start();

  int sig = csp::http::WaitForTerminationSignal();
  log.Info("shutting down", {{"signal", sig}});
  server.BeginDrain();
  // Runs stop at their next checkpoint; sync /run-job callers and event watchers are answered.
  bool stopped = service.Stop(std::chrono::seconds(5));
  events.Shutdown();
  server.Shutdown(std::chrono::seconds(5));
  registrar.Stop();
  if (!stopped) {
    // A run is still inside a call. Everything it did is committed and it resumes on the next
    // start, so leaving now is safe; waiting could take up to --task-timeout.
    log.Warn("leaving with a task call in flight; it is re-sent to /repeat on the next start");
    std::fflush(nullptr);
    std::_Exit(0);
  }
  return 0;
}
