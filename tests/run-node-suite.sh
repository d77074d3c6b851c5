#!/usr/bin/env bash
# Runs one Node.js test suite (integration or e2e) against the real binaries.
# Usage: tests/run-node-suite.sh <integration|e2e> <path/to/rtmesh-broker> <path/to/rtmesh-node>
# Installs the pinned npm packages (npm ci) when node_modules is missing or older than
# package-lock.json, then runs the suite's test files one at a time; exits with its status.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 <integration|e2e> <rtmesh-broker> <rtmesh-node>" >&2
  exit 2
fi
suite=$1
case "$suite" in
  integration | e2e) ;;
  *)
    echo "$0: unknown suite '$suite' (integration or e2e)" >&2
    exit 2
    ;;
esac

abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
for bin in "$2" "$3"; do
  if [[ ! -x "$bin" ]]; then
    echo "$0: $bin is not an executable" >&2
    exit 2
  fi
done
RTMESH_BROKER_BIN=$(abs "$2")
RTMESH_NODE_BIN=$(abs "$3")
export RTMESH_BROKER_BIN RTMESH_NODE_BIN

cd "$(dirname "$0")"
if [[ ! -d node_modules || node_modules -ot package-lock.json ]]; then
  npm ci --no-audit --no-fund
  touch node_modules
fi

# One test file at a time: every file starts its own mesh. Node versions without
# --test-concurrency (Debian 12 ships 18.x) get the files one by one instead.
if node --test-concurrency=1 --version >/dev/null 2>&1; then
  exec node --test --test-concurrency=1 "$suite/"
fi
status=0
for file in "$suite"/*.test.js; do
  node --test "$file" || status=1
done
exit $status
