#!/usr/bin/env bash
# Many connections on one machine: the c100k scenario of `make bench` (bench/run.sh) and its
# small run in bench-smoke (bench/smoke.sh). GENS generator processes each hold CONNS/GENS
# subscribed connections to one channel, each process from 4 source addresses of its own
# (127.0.0.2 + 4g ..), since one process may hold 20,000 open files and one source address
# reaches a server port from some 28,000 ephemeral ports. Once every generator holds all its
# connections a separate publisher process sends ONE event to that channel, which every
# connection must receive. Each generator appends its record (label LABEL) to JSON, the
# publisher its own (LABEL-publisher); bench/report.py merges the generators' records.
#
# Usage: bench/many.sh LOADGEN PORT PIDS JSON LABEL CONNS GENS [COMMANDS_FILE]
#   PIDS: comma list of every server process (sampled for CPU and RSS by each generator).
#   BENCH_MANY_WAIT_MS (default 300000): how long a generator waits for the event at most.
# Exits 0 when every generator subscribed all its connections and kept them and the publisher
# was answered; whether every connection received the event is in the records (delivered,
# expected).
set -uo pipefail
if [[ $# -lt 7 ]]; then
  echo "usage: $0 LOADGEN PORT PIDS JSON LABEL CONNS GENS [COMMANDS_FILE]" >&2
  exit 2
fi
loadgen=$1 port=$2 pids=$3 json=$4 label=$5 conns=$6 gens=$7 commands=${8:-/dev/null}
ready=$(mktemp -d)
gpids=()
cleanup() {
  [[ ${#gpids[@]} -gt 0 ]] && kill -TERM "${gpids[@]}" 2>/dev/null
  rm -rf "$ready"
}
trap cleanup EXIT

lg() { # label, flags...
  local l=$1; shift
  echo "rtmesh-loadgen --label $l $*" >>"$commands"
  "$loadgen" --port "$port" --pids "$pids" --json "$json" --label "$l" "$@"
}

for ((g = 0; g < gens; g++)); do
  # the last process takes the remainder; --drain-ms bounds the wait for the event
  n=$((conns / gens + (g == gens - 1 ? conns % gens : 0)))
  lg "$label" --conns "$n" --channels 1 --publishers 0 --hold 1 --expect 1 --sources 4 \
    --source-base $((4 * g)) --concurrency 256 --connect-timeout 300 \
    --drain-ms "${BENCH_MANY_WAIT_MS:-300000}" --ready-file "$ready/$g" &
  gpids+=($!)
done

# Wait until every generator holds its connections (or one of them died).
while true; do
  have=$(find "$ready" -type f | wc -l)
  [[ $have -eq $gens ]] && break
  for p in "${gpids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "many.sh: a generator exited before holding its connections" >&2
      wait
      exit 1
    fi
  done
  sleep 0.2
done
sleep 2 # every generator past its hold, waiting for the event

lg "$label-publisher" --conns 0 --channels 1 --publishers 1 --rate 1 --duration 1 --max-publishes 1 \
  --hold 0 --drain-ms 0
pub=$?
status=0
for p in "${gpids[@]}"; do
  wait "$p" || status=1
done
gpids=()
[[ $pub -eq 0 && $status -eq 0 ]]
