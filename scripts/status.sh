#!/usr/bin/env bash
# Shows each component: running or not, and its /health.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rc=0
for c in "${components[@]}"; do
  IFS='|' read -r name _ port _ <<<"$c"
  if alive "$name"; then
    health=$(curl -sS --max-time 1 "http://$host:$port/health" 2>&1 || true)
    printf '%-14s pid %-7s port %-5s %s\n' "$name" "$(pid_of "$name")" "$port" "$health"
  else
    printf '%-14s not running\n' "$name"; rc=1
  fi
done
exit $rc
