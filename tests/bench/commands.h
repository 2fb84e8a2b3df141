#pragma once
// The load driver's subcommands. Each takes the words after its name, drives services over HTTP
// only (so it can be pointed at any implementation of the API), prints one JSON object on stdout
// and returns the process exit code: 0 done, 1 some request failed, 2 bad flags.

#include <string>
#include <vector>

#include "csp/http_client/client.h"

namespace csp::bench {

// job_load register --discovery URL --count N [--threads T] [--prefix P] [--tag TAG]
//                   [--tag-groups G]
// POSTs N registrations to discovery from T threads (keep-alive connections), entry i being
// {"serviceName": "P-i", "serviceURL": "http://127.0.0.1:9/P/i", "tags": [TAG]} (TAG-(i mod G)
// when G > 0). No pingURL, so discovery never health-checks or evicts them.
// Prints {"registered", "failed", "seconds", "per_s", "first_error"}.
int RunRegister(const std::vector<std::string>& args, http_client::Client& client);

// job_load jobs --job-url URL --state-url URL --engine-url URL [--jobs N] [--concurrency C]
//               [--warmup W] [--width K] [--tag person] [--run-id ID] [--timeout-ms MS]
//               [--via job-control|direct] [--pid name=PID]...
// Creates K person records per submitter on the engine, runs W unmeasured jobs, then N jobs from
// C submitters, each a synchronous POST /run-job of a 3-step x K-task job (read, status, update)
// that carries ids from step to step through its own shared-state document. Prints latency
// percentiles, completed jobs/s, the engine's serving time per job (from its /metrics), the
// orchestration overhead per task, and the CPU time per job of every --pid process.
// --via direct runs the same jobs without job-control (--job-url is then not needed): each
// submitter makes the exchanges job-control makes for a job (seed merge; per step K engine
// calls side by side, one JSON Patch of the K results) and nothing else. It measures what the
// jobs would cost if orchestration cost nothing: the floor under the job targets.
int RunJobs(const std::vector<std::string>& args, http_client::Client& client);

// job_load roundtrip --url URL [--method M] [--body JSON] [--requests N] [--warmup W]
//                    [--pid name=PID]...
// Sends N requests one after another over one keep-alive connection and prints the latency
// percentiles and the CPU microseconds per request of this client (its own thread) and of every
// --pid process: the cost of the bare exchange that every task of a job pays at least twice.
int RunRoundtrip(const std::vector<std::string>& args, http_client::Client& client);

}  // namespace csp::bench
