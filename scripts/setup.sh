#!/usr/bin/env bash
# Installs the Debian 12 packages the platform needs to build, test and run.
# Skips what is already installed; uses sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libpistache-dev rapidjson-dev libsqlite3-dev libcurl4-openssl-dev
  libboost-program-options-dev doctest-dev
  curl python3
)
# Extra packages for the benchmarks: scripts/setup.sh --bench
if [[ "${1:-}" == "--bench" ]]; then packages+=(wrk); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo_cmd=(sudo); else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
