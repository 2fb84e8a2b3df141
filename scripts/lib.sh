# Shared by the start/stop/status scripts. Sourced, not run.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
run_dir="${CSP_RUN_DIR:-$root/run}"
data_dir="${CSP_DATA_DIR:-$run_dir/data}"
host="${CSP_HOST:-127.0.0.1}"
export CSP_DISCOVERY_URL="${CSP_DISCOVERY_URL:-http://$host:4000}"

# name|binary|port|extra args — in start order. Engines: one per example design.
components=(
  "discovery|services/discovery/discovery|4000|"
  "shared-state|services/shared-state/shared-state|4500|"
  "engine-person|services/engine/engine|4600|--design $root/examples/designs/person.json"
  "engine-todo|services/engine/engine|4601|--design $root/examples/designs/todo.json"
  "engine-order|services/engine/engine|4602|--design $root/examples/designs/order.json"
  "job-control|services/job-control/job-control|4700|"
)

pid_of() { cat "$run_dir/$1.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1"); [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; }
healthy() { curl -fsS --max-time 1 "http://$host:$1/health" >/dev/null 2>&1; }
