#!/usr/bin/env bash
# Runs one Node.js test suite (integration, e2e, demo or soak) against the real binaries.
# Usage: tests/run-node-suite.sh <integration|e2e|demo|soak> <path/to/rtmesh-broker> <path/to/rtmesh-node>
# Installs the pinned npm packages (npm ci) when node_modules is missing or older than
# package-lock.json (for integration and demo also examples/demo's: run-mesh.test.js and the
# browser tests start the demo), then runs the suite's test files one at a time; lists every
# skipped test and why; exits with the suite's status, which a skip fails in CI (CI=true) as
# root. The demo suite drives Debian's Chromium (/usr/bin/chromium).
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 <integration|e2e|demo|soak> <rtmesh-broker> <rtmesh-node>" >&2
  exit 2
fi
suite=$1
case "$suite" in
  integration | e2e | demo | soak) ;;
  *)
    echo "$0: unknown suite '$suite' (integration, e2e, demo or soak)" >&2
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
npm_ci() {
  if [[ ! -d $1/node_modules || $1/node_modules -ot $1/package-lock.json ]]; then
    (cd "$1" && npm ci --no-audit --no-fund && touch node_modules)
  fi
}
npm_ci .
[[ $suite == e2e || $suite == soak ]] || npm_ci ../examples/demo
if [[ $suite == demo ]]; then
  if [[ ! -x ${RTMESH_CHROMIUM:-/usr/bin/chromium} ]]; then
    echo "$0: the demo suite needs Debian's chromium: scripts/deps.sh --with-browser" >&2
    exit 2
  fi
fi

# One test file at a time: every file starts its own mesh. Node versions without
# --test-concurrency (Debian 12 ships 18.x) get the files one by one instead.
run_suite() {
  if node --test-concurrency=1 --version >/dev/null 2>&1; then
    node --test --test-concurrency=1 "$suite/"
    return
  fi
  local status=0
  for file in "$suite"/*.test.js; do
    node --test "$file" || status=1
  done
  return $status
}

# The output is long (a failed test prints every process's log), and what shows a CI failure
# may be only its head and tail: a failure's reason is repeated last.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
run_suite 2>&1 | tee "$out" || status=$? # pipefail: the suite's status

# Skips are loud: every skipped test is listed with its reason. In CI (CI=true) as root, where
# every test can run (network namespaces included), a skip fails the suite.
skipped=$(grep -E '^ *ok [0-9]+ - .* # SKIP' "$out" | sed -E 's/^ *ok [0-9]+ - //' || true)
skip_failure=
if [[ -n $skipped ]]; then
  echo "# the $suite suite skipped $(wc -l <<<"$skipped") test(s), each with its reason after # SKIP:"
  sed 's/^/#   /' <<<"$skipped"
  if [[ ${CI:-} == true && $(id -u) -eq 0 ]]; then
    skip_failure="a test skipped in CI as root (CI=true), where every test must run"
    status=1
  fi
fi
if [[ $status -ne 0 ]]; then
  echo "# the $suite suite failed; each failed test and its error:"
  awk '/^ *not ok /{keep=1} keep && /^ *stack:/{skip=1} keep && !skip{print} /^ *\.\.\.$/{keep=0; skip=0}' "$out" | head -80
  if [[ -n $skip_failure ]]; then echo "# $skip_failure"; fi
fi
exit "$status"
