// job_load roundtrip: the cost of one bare HTTP exchange with the platform's own client (libcurl,
// one keep-alive connection) against a service. It is the floor under every task of a job: a
// task is at least one such exchange with the engine and one with shared-state, plus the
// orchestrator's own records.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>

#include "commands.h"
#include "csp/json/json.h"
#include "flags.h"
#include "measure.h"

namespace csp::bench {

namespace {

struct RoundtripOptions {
  http_client::Request request;
  int64_t requests = 2000;
  int64_t warmup = 100;
  std::vector<NamedPid> pids;
};

Result<RoundtripOptions> ParseRoundtripOptions(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {"url", "method", "body", "requests", "warmup", "pid"});
  if (!flags) return flags.error();
  if (auto missing = flags->Missing({"url"}); !missing.empty()) {
    return InvalidArgument("missing required flag " + missing.front());
  }
  RoundtripOptions o;
  o.request.url = flags->String("url");
  o.request.method = flags->String("method", "GET");
  o.request.body = flags->String("body");
  o.request.timeout = std::chrono::seconds(10);
  auto requests = flags->Int("requests", o.requests);
  auto warmup = flags->Int("warmup", o.warmup);
  if (!requests) return requests.error();
  if (!warmup) return warmup.error();
  o.requests = std::max<int64_t>(1, *requests);
  o.warmup = *warmup;
  auto pids = ParseNamedPids(flags->All("pid"));
  if (!pids) return pids.error();
  o.pids = std::move(*pids);
  return o;
}

// CPU time (user + system) of this thread, in seconds.
double OwnThreadCpu() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int RunRoundtrip(const std::vector<std::string>& args, http_client::Client& client) {
  auto options = ParseRoundtripOptions(args);
  if (!options) {
    std::fprintf(stderr, "job_load roundtrip: %s\n", options.error().message.c_str());
    return 2;
  }
  Tally tally;
  auto once = [&](std::vector<double>* latencies) {
    auto start = std::chrono::steady_clock::now();
    auto reply = client.Send(options->request);
    if (latencies != nullptr) {
      latencies->push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    if (!reply) return tally.Fail(reply.error().message);
    if (!reply->ok()) return tally.Fail("HTTP " + std::to_string(reply->status) + ": " + reply->body.substr(0, 200));
    tally.Ok();
  };
  for (int64_t i = 0; i < options->warmup; ++i) once(nullptr);

  std::vector<double> before;
  for (const auto& p : options->pids) before.push_back(CpuSeconds(p.pid).value_or(0));
  double own_before = OwnThreadCpu();
  auto start = std::chrono::steady_clock::now();
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(options->requests));
  for (int64_t i = 0; i < options->requests; ++i) once(&latencies);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double n = static_cast<double>(options->requests);

  json::Object cpu{{"client", (OwnThreadCpu() - own_before) / n * 1e6}};
  for (size_t i = 0; i < options->pids.size(); ++i) {
    auto now = CpuSeconds(options->pids[i].pid);
    cpu.Set(options->pids[i].name, now ? (*now - before[i]) / n * 1e6 : 0.0);
  }
  std::string first_error = tally.first_error();
  json::Value out = json::Object{{"requests", options->requests},
                                 {"failed", tally.failed()},
                                 {"per_s", seconds > 0 ? n / seconds : 0.0},
                                 {"latency_ms", LatencySummary(latencies)},
                                 {"cpu_us_per_request", std::move(cpu)},
                                 {"first_error", first_error.empty() ? json::Value() : json::Value(first_error)}};
  std::printf("%s\n", json::Dump(out).c_str());
  return tally.failed() == 0 ? 0 : 1;
}

}  // namespace csp::bench
