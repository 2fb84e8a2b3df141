#!/usr/bin/env bash
# The platform in one command: installs what is missing, builds, starts every component on
# 127.0.0.1, runs an example job across three engines with live progress and prints its final
# state, then runs a job whose last step fails and shows it being reverted.
# Leaves the platform running: scripts/status.sh shows it, scripts/stop-all.sh stops it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/scripts/setup.sh"
# Only what the demo runs; scripts/test.sh builds the tests.
BUILD_TARGETS="discovery shared-state engine job-control job-runner" "$root/scripts/build.sh"
"$root/scripts/start-all.sh"

source "$root/scripts/lib.sh"
jr="$build_dir/job-runner/job-runner"
jobs="$root/examples/jobs"
# Everything is found from discovery's URL; ignore any job-runner config the user may have.
export JOB_RUNNER_DISCOVERY_URL="$CSP_DISCOVERY_URL"
export JOB_RUNNER_CONFIG=/dev/null

if [[ -t 1 ]]; then bold=$'\033[1m' off=$'\033[0m'; else bold='' off=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }

# Services register with discovery right after they answer /health; wait for all of them.
for _ in $(seq 1 100); do
  if "$jr" doctor >/dev/null 2>&1; then break; fi
  sleep 0.1
done
say "The platform (job-runner doctor)"
"$jr" doctor

say "1. A new customer's order, across the person, order and todo engines"
echo "job-runner run examples/jobs/happy-path.json --state examples/jobs/happy-path.state.json --emit"
echo "(progress on stderr, the final shared-state document on stdout)"
"$jr" run "$jobs/happy-path.json" --state "$jobs/happy-path.state.json" --emit

say "2. The same order, but the last step asks for a status the order design does not allow"
echo "job-runner run examples/jobs/revert-on-failure.json --state examples/jobs/revert-on-failure.state.json"
set +e
"$jr" run "$jobs/revert-on-failure.json" --state "$jobs/revert-on-failure.state.json"
rc=$?
set -e
echo "job-runner exited with $rc (1: the job failed and every task it ran was reverted)"
if [[ $rc -ne 1 ]]; then echo "demo: expected exit code 1" >&2; exit 1; fi

say "The platform is still running"
short_jr="${jr#"$root"/}"
cat <<EOF
  $short_jr list              the jobs just run
  $short_jr status <jobId>    one job's steps, tasks and reverts
  $short_jr services          what discovery knows
  scripts/status.sh                 the processes and their /health
  scripts/stop-all.sh               stop everything
More jobs to try are in examples/README.md (Jobs).
EOF
