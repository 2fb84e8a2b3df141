#!/usr/bin/env bash
# Starts every built component on loopback, in order, each after the previous answers /health.
# Pid files and logs go under ./run (CSP_RUN_DIR); data under ./run/data (CSP_DATA_DIR).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$run_dir" "$data_dir"

for c in "${components[@]}"; do
  IFS='|' read -r name bin port extra <<<"$c"
  if alive "$name"; then echo "start: $name already running (pid $(pid_of "$name"))"; continue; fi
  if [[ ! -x "$build_dir/$bin" ]]; then echo "start: $build_dir/$bin not built; run scripts/build.sh" >&2; exit 1; fi
  # shellcheck disable=SC2086
  nohup "$build_dir/$bin" --host "$host" --port "$port" --data-dir "$data_dir" $extra \
    >"$run_dir/$name.out" 2>"$run_dir/$name.log" </dev/null &
  echo $! >"$run_dir/$name.pid"
  for _ in $(seq 1 100); do
    if healthy "$port"; then break; fi
    if ! alive "$name"; then echo "start: $name exited; see $run_dir/$name.log" >&2; tail -5 "$run_dir/$name.log" >&2; exit 1; fi
    sleep 0.1
  done
  if ! healthy "$port"; then echo "start: $name did not become healthy on port $port" >&2; exit 1; fi
  echo "start: $name on http://$host:$port (pid $(pid_of "$name"))"
done
