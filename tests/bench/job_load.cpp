// job_load: the load driver of scripts/bench.sh. A command table: one row per subcommand.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "csp/http_client/client.h"

namespace {

struct Command {
  const char* name;
  const char* help;
  int (*run)(const std::vector<std::string>& args, csp::http_client::Client& client);
};

constexpr Command kCommands[] = {
    {"register", "POST N registrations to discovery from T threads", csp::bench::RunRegister},
    {"jobs", "run 3-step jobs through job-control; latency, jobs/s, CPU per job", csp::bench::RunJobs},
    {"roundtrip", "N sequential requests to one URL; latency and CPU per request", csp::bench::RunRoundtrip},
};

int Usage(FILE* out) {
  std::fprintf(out, "usage: job_load <command> [--flag value]...\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.help);
  std::fprintf(out, "\nEach command prints one JSON object; flags are listed in tests/bench/commands.h.\n");
  return out == stdout ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(stderr);
  if (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "help") == 0) return Usage(stdout);
  csp::http_client::CurlClient::GlobalInit();
  csp::http_client::CurlOptions options;
  options.user_agent = "csp-job-load";
  csp::http_client::CurlClient client(options);
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& c : kCommands) {
    if (argv[1] == std::string(c.name)) return c.run(args, client);
  }
  std::fprintf(stderr, "job_load: unknown command '%s'\n", argv[1]);
  return Usage(stderr);
}
