#!/usr/bin/env bash
# What `make bench` needs beyond the build: gnuplot for the chart, perf for
# the channels-perf scenario, redis-server for soketi's scale-out mode, ss for
# the fleet scenario, curl (apt-get when root; otherwise the exact command is
# printed and we stop), then soketi's npm packages and Debian's Node 18
# unpacked locally (soketi/setup.sh).
set -euo pipefail
missing=()
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
command -v perf >/dev/null || missing+=(linux-perf)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v ss >/dev/null || missing+=(iproute2)
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  else
    echo "bench/deps.sh: missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
"$(dirname "$0")/soketi/setup.sh"
