#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit, then integration).
#   scripts/test.sh            all tests
#   scripts/test.sh -L unit    only unit tests (any ctest arguments pass through)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
build_dir="${BUILD_DIR:-$root/build}"
cd "$build_dir"
if [[ $# -gt 0 ]]; then
  ctest --output-on-failure -j "$(nproc)" "$@"
else
  ctest --output-on-failure -j "$(nproc)" -L unit
  ctest --output-on-failure -j 2 -L integration
fi
