#!/usr/bin/env python3
"""Renders scripts/bench.sh's results: a table on stdout and Markdown in $BENCH_OUT (if set).

Input (environment): BENCH_RESULTS, a TSV of `kind<TAB>key<TAB>value` lines written by bench.sh;
BENCH_COMMANDS, the exact commands run; BENCH_LUA_DIR, where the wrk Lua scripts are;
BENCH_CMDLINE, how bench.sh was invoked.
"""
import json
import os
import platform
import statistics
import subprocess
from collections import defaultdict

MIB = 1024.0


def load_results(path):
    by_kind = defaultdict(dict)
    with open(path) as f:
        for line in f:
            kind, key, value = line.rstrip("\n").split("\t", 2)
            by_kind[kind][key] = value
    return by_kind


def runs_of(entries, parse=float):
    """The run1..runN values of one kind, in order."""
    out = []
    n = 1
    while f"run{n}" in entries:
        out.append(parse(entries[f"run{n}"]))
        n += 1
    return out


def median(values):
    return statistics.median(values) if values else None


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / MIB / MIB:.1f} GiB"
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {"nproc": nproc, "cpu": cpu, "ram": ram, "kernel": platform.release()}


class Row:
    def __init__(self, name, unit, values, target=None, better="higher", note=""):
        self.name, self.unit, self.values = name, unit, [v for v in values if v is not None]
        self.target, self.better, self.note = target, better, note

    @property
    def median(self):
        return median(self.values)

    def verdict(self):
        if self.target is None or self.median is None:
            return ""
        ok = self.median >= self.target if self.better == "higher" else self.median <= self.target
        return "met" if ok else "MISSED"

    def target_text(self):
        if self.target is None:
            return ""
        return f"{'>=' if self.better == 'higher' else '<='} {fmt(self.target, self.unit)} {self.unit}"


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if unit == "MiB" and abs(v) < 100:
        return f"{v:.2f}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}".rstrip("0").rstrip(".") if v != 0 else "0"


def wrk_row(res, kind, name, target=None):
    entries = res.get(kind, {})
    values = runs_of(entries)
    errors = sum(int(float(entries.get(f"errors{i}", 0))) for i in range(1, len(values) + 1))
    return Row(name, "req/s", values, target, note=f"{errors} errors" if errors else "")


def job_runs(res, kind):
    return runs_of(res.get(kind, {}), parse=lambda s: json.loads(s) if s.strip().startswith("{") else {})


def pick(runs, *path):
    """The value at path (keys) in each run, None where a run lacks it."""
    out = []
    for r in runs:
        v = r
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        out.append(v)
    return out


def job_rows(res):
    lat, tput = job_runs(res, "job_latency"), job_runs(res, "job_throughput")

    def failures(runs):
        broken = [r for r in runs if not r or r.get("error")]
        if broken:
            why = next((r["error"] for r in broken if r.get("error")), "see the script's output")
            return f"{len(broken)} run(s) gave no result: {why}"
        failed = sum(r.get("failed", 0) or 0 for r in runs)
        first = next((r.get("first_error") for r in runs if r.get("first_error")), None)
        return f"{failed} failed jobs: {first}" if failed else ""

    def first(runs, key, fallback):
        return next((r[key] for r in runs if r.get(key) is not None), fallback)

    n_lat = first(lat, "jobs", "?")
    n_tput = first(tput, "jobs", "?")
    conc = first(tput, "concurrency", "?")
    rows = [
        Row(f"job latency p50 ({n_lat} sequential jobs)", "ms", pick(lat, "latency_ms", "p50"), 3, "lower",
            failures(lat)),
        Row("job latency p99", "ms", pick(lat, "latency_ms", "p99"), None, "lower"),
        Row(f"completed jobs/s ({conc} submitters, {n_tput} jobs)", "jobs/s", pick(tput, "jobs_per_s"), 300,
            "higher", failures(tput)),
        Row(f"job latency p50 under load ({conc} submitters)", "ms", pick(tput, "latency_ms", "p50"), None, "lower"),
        Row("job-control CPU per task", "ms", pick(tput, "job_control_cpu_ms_per_task"), 0.1, "lower"),
        Row("engine serving time per job (12 calls, sequential runs)", "ms", pick(lat, "engine_ms_per_job")),
        Row("orchestration overhead per task (sequential runs)", "ms", pick(lat, "overhead_ms_per_task")),
    ]
    big = job_runs(res, "job_latency_big")
    if big:
        rows.append(Row("job latency p50 with the big registry (10 sequential jobs, 1 run)", "ms",
                        pick(big, "latency_ms", "p50"), None, "lower", failures(big)))
        rows.append(Row("job-control CPU per task with the big registry", "ms",
                        pick(big, "job_control_cpu_ms_per_task"), None, "lower"))
    names = sorted({k for r in tput for k in (r.get("cpu_ms_per_job") or {})})
    for name in names:
        rows.append(Row(f"CPU per job: {name}", "ms", pick(tput, "cpu_ms_per_job", name)))
    return rows


# The exchanges job-control makes for the bench's job, the fewest it can: 12 engine calls and 4
# state writes (the seeding, then one PATCH per step with the step's results). No state read: each
# step starts from the document the previous write's reply carries. The GET is measured all the
# same, as the price of a step that must read the document.
FLOOR_KINDS = (("ping", "engine GET /ping", 12), ("get", "shared-state GET /state/:id", 0),
               ("patch", "shared-state PATCH /state/:id (durable)", 4))
FLOOR_EXCHANGES = sum(count for _, _, count in FLOOR_KINDS)


def floor_rows(res):
    """The bare keep-alive exchange, and what a job's exchanges cost at that price."""
    runs = {kind: job_runs(res, f"floor_{kind}") for kind, _, _ in FLOOR_KINDS}
    if not all(runs.values()):
        return []
    rows = []
    for kind, label, _ in FLOOR_KINDS:
        cpu = [r.get("cpu_us_per_request") or {} for r in runs[kind]]
        rows.append(Row(f"bare exchange, {label}: latency p50", "ms",
                        [(r.get("latency_ms") or {}).get("p50") for r in runs[kind]], None, "lower"))
        rows.append(Row(f"bare exchange, {label}: client CPU", "µs", [c.get("client") for c in cpu], None, "lower"))
        rows.append(Row(f"bare exchange, {label}: server CPU", "µs", [c.get("server") for c in cpu], None, "lower"))

    def priced(i, sides):
        """CPU in ms of one job's exchanges in run i, counting the given sides (client, server)."""
        total = 0.0
        for kind, _, count in FLOOR_KINDS:
            cpu = runs[kind][i].get("cpu_us_per_request") or {}
            if any(cpu.get(side) is None for side in sides):
                return None
            total += count * sum(cpu[side] for side in sides)
        return total / 1000

    n = min(len(v) for v in runs.values())
    both = [priced(i, ("client", "server")) for i in range(n)]
    client = [priced(i, ("client",)) for i in range(n)]
    rows.append(Row(f"CPU of a job's {FLOOR_EXCHANGES} exchanges, at these prices (both sides, no job work)",
                    "ms", both, None, "lower"))
    rows.append(Row("of which job-control's side (the client), per task", "ms",
                    [c / 12 if c is not None else None for c in client], None, "lower"))
    return rows + direct_rows(res)


def direct_rows(res):
    """The bench's jobs run by the load driver itself (job_load jobs --via direct): the same
    exchanges with shared-state and the engine, no job-control."""
    lat, tput = job_runs(res, "direct_latency"), job_runs(res, "direct_throughput")
    rows = []
    if lat:
        rows.append(Row("the same jobs without job-control: latency p50 (sequential)", "ms",
                        pick(lat, "latency_ms", "p50"), None, "lower"))
    if tput:
        conc = next((r["concurrency"] for r in tput if r.get("concurrency") is not None), "?")
        rows.append(Row(f"the same jobs without job-control: completed jobs/s ({conc} submitters)", "jobs/s",
                        pick(tput, "jobs_per_s")))
        for name in ("engine", "shared-state"):
            rows.append(Row(f"the same jobs without job-control: CPU per job, {name}", "ms",
                            pick(tput, "cpu_ms_per_job", name)))
    return rows


def rss_rows(res):
    rows = []
    phases = (("idle", "RSS idle", 15), ("small", "RSS after the small-registry load", None),
              ("fill", "RSS after the fill (before the big-registry jobs)", None),
              ("after", "RSS at the end (big registry)", None))
    for phase, label, target in phases:
        rss, pss, uss = res.get(f"rss_{phase}", {}), res.get(f"pss_{phase}", {}), res.get(f"uss_{phase}", {})
        for name in rss:
            note = ""
            if name in pss and name in uss:
                note = f"PSS {fmt(int(pss[name]) / MIB, 'MiB')}, private {fmt(int(uss[name]) / MIB, 'MiB')} MiB"
            rows.append(Row(f"{label}: {name}", "MiB", [int(rss[name]) / MIB], target, "lower", note))
    return rows


def all_rows(res):
    regs = int(res.get("meta", {}).get("registrations", "100000"))
    return [
        wrk_row(res, "find8", "discovery GET /find?tag= (8 entries)", 40000),
        wrk_row(res, "find100k", f"discovery GET /find?tag= ({regs:,} registrations)", 20000),
        wrk_row(res, "register", "discovery POST /register (new entry each)"),
        wrk_row(res, "state_post", "shared-state POST /state (new document each)"),
        wrk_row(res, "state_get", "shared-state GET /state/:id", 30000),
        wrk_row(res, "state_patch", "shared-state PATCH /state/:id (add, durable)", 15000),
        *floor_rows(res),
        *job_rows(res),
        *rss_rows(res),
    ]


def text_table(rows):
    header = ("measure", "runs", "median", "target", "")
    lines = [header]
    for r in rows:
        runs = " / ".join(fmt(v, r.unit) for v in r.values) if len(r.values) > 1 else ""
        lines.append((r.name, runs, f"{fmt(r.median, r.unit)} {r.unit}", r.target_text(), (r.verdict() + " " + r.note).strip()))
    widths = [max(len(l[i]) for l in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(l, widths)).rstrip() for l in lines)


def markdown_table(rows):
    out = ["| measure | median | runs | target | |", "|---|---:|---|---|---|"]
    for r in rows:
        runs = " / ".join(fmt(v, r.unit) for v in r.values)
        verdict = r.verdict()
        if verdict == "MISSED":
            verdict = "**missed**"
        note = (verdict + (" — " if verdict and r.note else "") + r.note).strip()
        out.append(f"| {r.name} | {fmt(r.median, r.unit)} {r.unit} | {runs} | {r.target_text()} | {note} |")
    return "\n".join(out)


def markdown(res, rows, commands, lua_dir, cmdline):
    meta = res["meta"]
    m = machine()
    fill = json.loads(res.get("fill", {}).get("json", "{}") or "{}")
    quick = meta.get("quick") == "1"
    regs = int(meta.get("registrations", "100000"))
    lua = []
    for name in ("register.lua", "state-post.lua", "state-patch.lua"):
        path = os.path.join(lua_dir, name)
        if os.path.exists(path):
            with open(path) as f:
                lua.append(f"`{name}`:\n\n```lua\n{f.read().rstrip()}\n```")
    return f"""# Benchmarks

Written by `{cmdline.strip()}` ({'QUICK MODE: short runs, not comparable with the targets; ' if quick else ''}\
started {meta.get('started')}, took {meta.get('seconds')} s).

- **Machine:** {m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM, Linux {m['kernel']}. The load
  generators (wrk, job_load) run on the same machine as the services and share its CPUs.
- **Load average** (1/5/15 min) at the start: {meta.get('load_start')}; at the end: {meta.get('load_end')}.
  A 1-minute load above about 1 at the start means something else was running: figures are then low.
- **Platform:** {meta.get('mode')}.
- **Method:** every figure is the median of {meta.get('runs')} runs (the runs are listed); each wrk run is
  `-t2 -c32 -d{meta.get('duration')}`. Targets are compared with the median.

{markdown_table(rows)}

## What each figure means

- **/find?tag=**: the query matches 8 entries (tag `bench-find`), so every reply carries 8 entries.
  "{regs:,} registrations": {regs - 8:,} more entries (tags `filler-0` … `filler-999`, no pingURL so no
  health checks) were registered first, by `job_load register` with 4 threads:
  {fill.get('registered', 'n/a')} in {fmt(fill.get('seconds'))} s ({fmt(fill.get('per_s'))}/s, {fill.get('failed', 'n/a')} failed).
  The platform's own registrations (shared-state, person engine, job-control) are there too.
- **Order:** /find with 8 entries, shared-state, the job runs, then the big-registry phase: the
  fill, /find, one more short job run (10 sequential jobs: what a big registry costs job-control),
  then POST /register.
- **POST /register** registers a new serviceName and serviceURL with each request (the insert path,
  not a same-name upsert), so the registry grows during it.
- **POST /state** creates a new document (UUID id) per request; **GET** reads one small document;
  **PATCH** is `{{"op":"add","path":"/n","value":1}}` on one document, committed before the reply.
- **Bare exchange** (`job_load roundtrip`): 3,000 requests one after another over one keep-alive
  connection with the platform's own HTTP client (libcurl), measuring the CPU of the client thread
  (`getrusage`) and of the service per request. job-control makes 16 such exchanges for a job (12
  engine calls, and 4 state writes: the seeding, then one PATCH per step carrying the step's
  results; each step starts from the document the previous write's reply carries, so no read)
  plus the job's own submission, so these rows are the floor under the job figures: "CPU of a
  job's 16 exchanges" prices them with the engine's cheapest route (/ping) and no orchestration
  work at all; "job-control's side, per task" is the client half of that, divided by the 12
  tasks: the part of the 0.1 ms/task target that the HTTP calls alone already use.
- **The same jobs without job-control** (`job_load jobs --via direct`): the load driver makes those
  exchanges itself (seeding, then per step the 4 engine calls side by side on threads it keeps and
  one PATCH), with no job records, no events and no submission: the latency and jobs/s the
  platform would reach if orchestration cost nothing.
- **Jobs** go through `POST /run-job` (synchronous: the reply comes when the job ends). Each job has 3
  steps of 4 parallel tasks against the person engine (`examples/designs/person.json`): `read` of 4
  pre-created persons, `status` with the id taken from the state (`$fromState`), then `update` with the
  id stored by step 2; every task stores its result with `storeResultAt`. Each job has its own
  shared-state document (`sharedStateURL`, seeded with `sharedState`). 5 unmeasured warm-up jobs
  precede each run. Latency: jobs one after another. Throughput: 8 submitter threads, each with its
  own 4 persons, until all jobs are done.
- **Engine serving time** is the growth of the engine's own `http_request_duration_seconds_sum`
  (all routes but /metrics) over the run, per job. job-control records task timings in
  `GET /jobs/:id` only in whole milliseconds, too coarse for sub-millisecond calls.
  **Orchestration overhead per task** = (mean job latency − engine serving time per job) / 12. The
  engine calls of one step overlap, so this is a lower bound.
- **CPU per job** is the growth of utime+stime (`/proc/<pid>/stat`) of each process over a
  throughput run, divided by the jobs; job-control's is also divided by the 12 tasks. The clock tick
  is 10 ms, so small figures are approximate.
- **RSS** is VmRSS (`/proc/<pid>/status`); the notes give PSS and private (unshared) memory from
  `/proc/<pid>/smaps_rollup`. Idle = started, registered and ready, before any load. "After the
  small-registry load" = after the /find (8 entries), shared-state and job runs; "at the end" = after
  the 100,000-registration phase too.

## Commands

`$DISCOVERY`, `$STATE`, `$JOB` and `$ENGINE` are the services' URLs, `$TMP` the temporary directory.

```sh
{commands.rstrip()}
```

{(chr(10) + chr(10)).join(lua)}
"""


def main():
    res = load_results(os.environ["BENCH_RESULTS"])
    rows = all_rows(res)
    print(text_table(rows))
    out = os.environ.get("BENCH_OUT", "")
    if not out:
        return
    with open(os.environ["BENCH_COMMANDS"]) as f:
        commands = f.read()
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(markdown(res, rows, commands, os.environ.get("BENCH_LUA_DIR", ""), os.environ.get("BENCH_CMDLINE", "")))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
