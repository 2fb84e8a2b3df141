#!/usr/bin/env bash
# Measures the platform against its performance targets and writes docs/benchmarks.md.
#
#   scripts/bench.sh                 start every service from $BUILD_DIR (default ./build) on free
#                                    ports, with a temporary --data-dir, and measure them
#   scripts/bench.sh --discovery-url U --state-url U --job-url U --engine-url U
#                                    measure a running platform (any implementation of the API;
#                                    CPU and RSS are then not measured)
# Options: --duration 10s (each wrk run)  --runs 3 (figures are the median)  --out FILE
#          --no-write  --quick (2 s, 1 run, 10,000 registrations, fewer jobs; writes nothing
#          unless --out is given)
# Needs wrk (scripts/setup.sh --bench), curl, python3 (tests/bench/report.py renders the
# report), and a release build of the services and of
# tests/bench/job_load: scripts/build.sh, or cmake -DCMAKE_BUILD_TYPE=Release.
set -euo pipefail

cmdline="scripts/bench.sh $*"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
duration=10s runs=3 registrations=100000 latency_jobs=50 throughput_jobs=200 concurrency=8
out="$root/docs/benchmarks.md" write=1 quick=0 out_given=0
discovery_url="" state_url="" job_url="" engine_url=""

die() { echo "bench: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --discovery-url) discovery_url="$2"; shift 2 ;;
    --state-url) state_url="$2"; shift 2 ;;
    --job-url) job_url="$2"; shift 2 ;;
    --engine-url) engine_url="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --out) out="$2"; out_given=1; shift 2 ;;
    --no-write) write=0; shift ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
if [[ $quick -eq 1 ]]; then
  duration=2s runs=1 registrations=10000 latency_jobs=20 throughput_jobs=50
  [[ $out_given -eq 1 ]] || write=0
fi
given=0
for u in "$discovery_url" "$state_url" "$job_url" "$engine_url"; do [[ -n "$u" ]] && given=$((given + 1)); done
[[ $given -eq 0 || $given -eq 4 ]] || die "give all four of --discovery-url --state-url --job-url --engine-url, or none"

command -v wrk >/dev/null || "$root/scripts/setup.sh" --bench || die "wrk not found and could not be installed (scripts/setup.sh --bench)"
command -v python3 >/dev/null || die "python3 not found; run scripts/setup.sh"
command -v curl >/dev/null || die "curl not found; run scripts/setup.sh"
job_load="$build_dir/tests/bench/job_load"
[[ -x "$job_load" ]] || die "$job_load not built (cmake --build $build_dir --target job_load)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/csp-bench.XXXXXX")"
results="$tmp/results.tsv"   # kind <TAB> key <TAB> value
commands="$tmp/commands.txt" # the exact commands, for the report
: >"$results"; : >"$commands"
names=() pids=()

cleanup() {
  local i
  for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results"; }
note_command() { printf '%s\n' "$*" >>"$commands"; }
log() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- the platform

# start NAME BINARY ARGS...: runs it on a free port and sets $started_url.
start() {
  local name="$1" bin="$2"; shift 2
  [[ -x "$build_dir/$bin" ]] || die "$build_dir/$bin not built"
  "$build_dir/$bin" --host 127.0.0.1 --port 0 --data-dir "$tmp/data" --log-level warn "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.log" </dev/null &
  local pid=$!
  names+=("$name"); pids+=("$pid")
  note_command "$build_dir/$bin --host 127.0.0.1 --port 0 --data-dir \$TMP --log-level warn $*"
  local deadline=$((SECONDS + 20))
  until grep -q '^listening on ' "$tmp/$name.out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { tail -5 "$tmp/$name.log" >&2; die "$name exited"; }
    [[ $SECONDS -lt $deadline ]] || die "$name printed no 'listening on' line"
    sleep 0.05
  done
  started_url="$(sed -n 's/^listening on //p' "$tmp/$name.out" | head -1)"
  log "$name on $started_url (pid $pid)"
}

# wait_found QUERY: until discovery's /find?QUERY lists something.
wait_found() {
  local deadline=$((SECONDS + 30))
  until [[ "$(curl -fsS "$discovery_url/find?$1" 2>/dev/null || echo '[]')" != "[]" ]]; do
    [[ $SECONDS -lt $deadline ]] || die "nothing registered in discovery for ?$1"
    sleep 0.1
  done
}

start_platform() {
  mkdir -p "$tmp/data"
  start discovery services/discovery/discovery; discovery_url="$started_url"
  start shared-state services/shared-state/shared-state --discovery-url "$discovery_url"; state_url="$started_url"
  start engine services/engine/engine --discovery-url "$discovery_url" --design "$root/examples/designs/person.json"
  engine_url="$started_url"
  start job-control services/job-control/job-control --discovery-url "$discovery_url"; job_url="$started_url"
  wait_found "name=shared-state"; wait_found "tag=person"; wait_found "name=job-control"
}

# VmRSS, and from smaps_rollup the PSS and the private (unshared) KiB: most of an idle RSS is
# shared library pages, which PSS divides among the processes that map them.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
uss_kib() { awk '/^Private_(Clean|Dirty):/ {n += $2} END {print n + 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
record_rss() {
  local i
  for i in "${!pids[@]}"; do
    record "rss_$1" "${names[$i]}" "$(rss_kib "${pids[$i]}")"
    record "pss_$1" "${names[$i]}" "$(pss_kib "${pids[$i]}")"
    record "uss_$1" "${names[$i]}" "$(uss_kib "${pids[$i]}")"
  done
}

# ---------------------------------------------------------------- wrk

write_lua() {
  cat >"$tmp/register.lua" <<'EOF'
-- POST /register, each request a new serviceName and serviceURL (an insert, not an upsert).
local n = 0
local threads = {}
function setup(thread) table.insert(threads, thread); thread:set("tid", #threads) end
function init(args) prefix = args[1] or "wrk" end
function request()
  n = n + 1
  local body = string.format(
    '{"serviceName":"%s-%d-%d","serviceURL":"http://127.0.0.1:9/%s/%d/%d","tags":["wrk-register"]}',
    prefix, tid, n, prefix, tid, n)
  return wrk.format("POST", "/register", {["Content-Type"] = "application/json"}, body)
end
EOF
  cat >"$tmp/state-post.lua" <<'EOF'
-- POST /state: a new document (UUID id) per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"kind":"bench","n":1,"tags":["a","b"]}'
EOF
  cat >"$tmp/state-patch.lua" <<'EOF'
-- PATCH /state/:id {"op":"add"}: a durable write of one document.
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"op":"add","path":"/n","value":1}'
EOF
}

# wrk_runs KEY URL [SCRIPT]: $runs wrk runs; records each run's req/s and non-2xx count.
wrk_runs() {
  local key="$1" url="$2" script="${3:-}" r args
  for r in $(seq 1 "$runs"); do
    args=(-t2 -c32 "-d$duration" --latency)
    [[ -n "$script" ]] && args+=(-s "$tmp/$script")
    [[ $r -eq 1 ]] && note_command "wrk ${args[*]} $url${script:+ -- $key-run<N>}"
    wrk "${args[@]}" "$url" ${script:+-- "$key-run$r"} >"$tmp/wrk.txt" 2>&1 || { cat "$tmp/wrk.txt" >&2; die "wrk failed"; }
    local rps bad
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.txt")"
    # Non-2xx replies and socket errors (connect, read, write, timeout) both count as errors.
    bad="$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {n += $4 + $6 + $8 + $10} END {print n + 0}' "$tmp/wrk.txt")"
    record "$key" "run$r" "$rps"
    record "$key" "errors$r" "${bad:-0}"
    log "$key run $r: $rps req/s, $bad errors"
  done
}

# ---------------------------------------------------------------- the measurements

bench_find_small() {
  log "discovery: 8 entries tagged bench-find"
  "$job_load" register --discovery "$discovery_url" --count 8 --threads 1 --prefix find --tag bench-find >/dev/null
  note_command "$job_load register --discovery \$DISCOVERY --count 8 --threads 1 --prefix find --tag bench-find"
  wrk_runs find8 "$discovery_url/find?tag=bench-find"
}

# After the jobs: 100,000 registrations change what every later figure means.
bench_discovery_big() {
  local fill=$((registrations - 8))
  log "discovery: registering $fill more (tags filler-0..999)"
  "$job_load" register --discovery "$discovery_url" --count "$fill" --threads 4 --prefix filler \
    --tag filler --tag-groups 1000 >"$tmp/register.json"
  note_command "$job_load register --discovery \$DISCOVERY --count $fill --threads 4 --prefix filler --tag filler --tag-groups 1000"
  record fill json "$(cat "$tmp/register.json")"
  if [[ $given -eq 0 ]]; then record_rss fill; fi
  wrk_runs find100k "$discovery_url/find?tag=bench-find"
  bench_jobs_big
  wrk_runs register "$discovery_url/register" register.lua
}

bench_state() {
  curl -fsS -o /dev/null "$state_url/state" -d '{"id":"bench-get","kind":"bench","n":0,"tags":["a","b"]}' ||
    curl -fsS -o /dev/null -X PUT "$state_url/state/bench-get" -d '{"kind":"bench","n":0,"tags":["a","b"]}'
  curl -fsS -o /dev/null -X PATCH "$state_url/state/bench-patch" -d '{"op":"add","path":"/n","value":0}'
  note_command "curl $state_url/state -d '{\"id\":\"bench-get\",\"kind\":\"bench\",\"n\":0,\"tags\":[\"a\",\"b\"]}'"
  wrk_runs state_post "$state_url/state" state-post.lua
  wrk_runs state_get "$state_url/state/bench-get"
  wrk_runs state_patch "$state_url/state/bench-patch" state-patch.lua
}

# The bare exchange: N sequential keep-alive requests with the platform's own client (libcurl),
# CPU per request on both sides. A task of a job is at least one such exchange with the engine
# and one with shared-state, so this is the floor under the job figures.
bench_floor() {
  local r out key url method body server pidflag
  for r in $(seq 1 "$runs"); do
    for key in ping get patch; do
      method=GET body="" server=shared-state
      case $key in
        ping) url="$engine_url/ping" server=engine ;;
        get) url="$state_url/state/bench-get" ;;
        patch) url="$state_url/state/bench-patch" method=PATCH body='{"op":"add","path":"/n","value":1}' ;;
      esac
      # The service's CPU only when this script started it (given URLs may be anywhere).
      pidflag=""
      if [[ $given -eq 0 ]]; then pidflag="--pid server=$(pid_of "$server")"; fi
      # shellcheck disable=SC2086
      out="$("$job_load" roundtrip --url "$url" --method "$method" ${body:+--body "$body"} --requests 3000 $pidflag)" ||
        log "roundtrip $key run $r had failures: $out"
      record "floor_$key" "run$r" "$out"
    done
    log "bare exchanges: run $r done"
  done
  note_command "$job_load roundtrip --url \$ENGINE/ping --requests 3000 --pid server=PID"
  note_command "$job_load roundtrip --url \$STATE/state/bench-get --requests 3000 --pid server=PID"
  note_command "$job_load roundtrip --url \$STATE/state/bench-patch --method PATCH --body '{\"op\":\"add\",\"path\":\"/n\",\"value\":1}' --requests 3000 --pid server=PID"
}

pid_of() {
  local i
  for i in "${!names[@]}"; do
    if [[ "${names[$i]}" == "$1" ]]; then echo "${pids[$i]}"; fi
  done
}

pid_flags() {
  local i
  for i in "${!pids[@]}"; do printf -- '--pid %s=%s ' "${names[$i]}" "${pids[$i]}"; done
}

bench_jobs() {
  local r tag="person" out
  for r in $(seq 1 "$runs"); do
    log "jobs: latency run $r ($latency_jobs sequential jobs)"
    # shellcheck disable=SC2046
    out="$("$job_load" jobs --job-url "$job_url" --state-url "$state_url" --engine-url "$engine_url" \
      --jobs "$latency_jobs" --concurrency 1 --warmup 5 --tag "$tag" --run-id "lat$r-$$" $(pid_flags))" ||
      log "jobs: latency run $r had failures: $out"
    record job_latency "run$r" "$out"
  done
  note_command "$job_load jobs --job-url \$JOB --state-url \$STATE --engine-url \$ENGINE --jobs $latency_jobs --concurrency 1 --warmup 5 --pid name=PID..."
  for r in $(seq 1 "$runs"); do
    log "jobs: throughput run $r ($throughput_jobs jobs, $concurrency submitters)"
    # shellcheck disable=SC2046
    out="$("$job_load" jobs --job-url "$job_url" --state-url "$state_url" --engine-url "$engine_url" \
      --jobs "$throughput_jobs" --concurrency "$concurrency" --warmup 5 --tag "$tag" --run-id "tput$r-$$" $(pid_flags))" ||
      log "jobs: throughput run $r had failures: $out"
    record job_throughput "run$r" "$out"
  done
  note_command "$job_load jobs --job-url \$JOB --state-url \$STATE --engine-url \$ENGINE --jobs $throughput_jobs --concurrency $concurrency --warmup 5 --pid name=PID..."
}

# The same jobs without job-control (job_load jobs --via direct): the submitters make the jobs'
# exchanges with shared-state and the engine themselves. The floor under the job targets.
bench_jobs_direct() {
  local r out
  for r in $(seq 1 "$runs"); do
    log "jobs without job-control: latency run $r ($latency_jobs sequential jobs)"
    # shellcheck disable=SC2046
    out="$("$job_load" jobs --via direct --state-url "$state_url" --engine-url "$engine_url" \
      --jobs "$latency_jobs" --concurrency 1 --warmup 5 --run-id "dlat$r-$$" $(pid_flags))" ||
      log "jobs without job-control: latency run $r had failures: $out"
    record direct_latency "run$r" "$out"
    log "jobs without job-control: throughput run $r ($throughput_jobs jobs, $concurrency submitters)"
    # shellcheck disable=SC2046
    out="$("$job_load" jobs --via direct --state-url "$state_url" --engine-url "$engine_url" \
      --jobs "$throughput_jobs" --concurrency "$concurrency" --warmup 5 --run-id "dtput$r-$$" $(pid_flags))" ||
      log "jobs without job-control: throughput run $r had failures: $out"
    record direct_throughput "run$r" "$out"
  done
  note_command "$job_load jobs --via direct --state-url \$STATE --engine-url \$ENGINE --jobs $latency_jobs --concurrency 1 --warmup 5 --pid name=PID..."
  note_command "$job_load jobs --via direct --state-url \$STATE --engine-url \$ENGINE --jobs $throughput_jobs --concurrency $concurrency --warmup 5 --pid name=PID..."
}

# The same sequential jobs with a big registry: job-control's cost should not depend on it.
bench_jobs_big() {
  local out
  log "jobs: latency with $registrations registrations in discovery (10 sequential jobs, 1 run)"
  # shellcheck disable=SC2046
  out="$("$job_load" jobs --job-url "$job_url" --state-url "$state_url" --engine-url "$engine_url" \
    --jobs 10 --concurrency 1 --warmup 2 --timeout-ms 30000 --run-id "big-$$" $(pid_flags))" ||
    log "jobs: the big-registry run had failures: $out"
  record job_latency_big run1 "$out"
  note_command "$job_load jobs --job-url \$JOB --state-url \$STATE --engine-url \$ENGINE --jobs 10 --concurrency 1 --warmup 2 --timeout-ms 30000 --pid name=PID..."
}

# ---------------------------------------------------------------- main

# Right after scripts/test.sh (a build and the test suite) the 1-minute load is still high: give it
# up to 2 minutes to settle, so that the figures measure the platform rather than the leftovers.
# busy: the 1-minute load average is above half the CPUs.
busy() { awk -v n="$(nproc)" '{exit !($1 > n / 2)}' /proc/loadavg; }
settle_deadline=$((SECONDS + 120))
while busy && [[ $SECONDS -lt $settle_deadline ]]; do
  [[ -n "${announced_settle:-}" ]] || log "waiting for the load average ($(cut -d' ' -f1 /proc/loadavg)) to settle"
  announced_settle=1
  sleep 5
done
started_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
if busy; then
  log "warning: load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs: something else is running; figures will be low"
fi
record meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
record meta started "$started_at"
if [[ $given -eq 0 ]]; then
  start_platform
  # Idle: registered, nothing asked of it yet but the readiness checks.
  sleep 1
  record_rss idle
  record meta mode "started by the script from ${build_dir#"$root"/} (--data-dir in a temp dir, --log-level warn)"
else
  record meta mode "given URLs: discovery $discovery_url, shared-state $state_url, job-control $job_url, engine $engine_url"
fi
write_lua
t0=$SECONDS
# Small registry first (find, state, jobs), then the 100,000-registration phase.
bench_find_small
bench_state
bench_floor
bench_jobs
bench_jobs_direct
if [[ $given -eq 0 ]]; then record_rss small; fi
bench_discovery_big
if [[ $given -eq 0 ]]; then record_rss after; fi
record meta seconds "$((SECONDS - t0))"
record meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
record meta duration "$duration"
record meta runs "$runs"
record meta quick "$quick"
record meta registrations "$registrations"

# The commands as anyone can rerun them: URLs, the temp dir and the checkout become names.
sed -i -e "s#$tmp#\$TMP#g" -e "s#$discovery_url#\$DISCOVERY#g" -e "s#$state_url#\$STATE#g" \
  -e "s#$job_url#\$JOB#g" -e "s#$engine_url#\$ENGINE#g" -e "s#$root/#./#g" "$commands"

# The report: a table on stdout and, unless --no-write, Markdown in $out.
BENCH_OUT="$( [[ $write -eq 1 ]] && echo "$out" )" BENCH_RESULTS="$results" BENCH_COMMANDS="$commands" \
BENCH_LUA_DIR="$tmp" BENCH_CMDLINE="$cmdline" python3 "$root/tests/bench/report.py"
