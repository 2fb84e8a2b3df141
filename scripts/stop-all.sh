#!/usr/bin/env bash
# Stops every component started by start-all.sh, in reverse order (SIGTERM, then SIGKILL after 10 s).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for ((i = ${#components[@]} - 1; i >= 0; i--)); do
  IFS='|' read -r name _ _ _ <<<"${components[$i]}"
  if ! alive "$name"; then rm -f "$run_dir/$name.pid"; continue; fi
  pid=$(pid_of "$name")
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; echo "stop: $name killed"; else echo "stop: $name stopped"; fi
  rm -f "$run_dir/$name.pid"
done
