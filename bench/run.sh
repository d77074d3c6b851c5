#!/usr/bin/env bash
# The side-by-side benchmark: the same scenarios against rtmesh (one node + one
# shard, and the `make run` topology of two nodes + two shards) and against
# soketi 1.6.1, on this machine, in one run. Each scenario gets freshly
# started servers. Every generator run appends one JSON record to
# $BENCH_OUT/results.jsonl; bench/report.py turns them into bench/RESULTS.md.
#
# Usage: bench/run.sh BUILD_DIR      (BUILD_DIR holds bench/rtmesh-loadgen,
#                                     node/rtmesh-node, broker/rtmesh-broker)
# Environment: BENCH_TARGETS (default "rtmesh1 rtmesh2 soketi"),
#              BENCH_SCENARIOS (default "fanout10 fanout1 fanout8 channels channels-zmq
#              channels-perf idle storm deflate-2k plain-2k deflate-200 plain-200 c100k"),
#              BENCH_OUT (default bench/results), BENCH_PORT (default 6301),
#              BENCH_C100K_CONNS (default 100000), BENCH_C100K_NODES (default 6),
#              BENCH_C100K_GENS (default 6).
# c100k runs once, against its own topology "many": BENCH_C100K_NODES node processes
# sharing the port (SO_REUSEPORT) and one broker shard (bench/many.sh drives it).
# The generator shares the machine's cores with the servers; nothing is pinned.
set -uo pipefail
build=$(cd "${1:?usage: bench/run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
loadgen=$build/bench/rtmesh-loadgen
node=$build/node/rtmesh-node
broker=$build/broker/rtmesh-broker
out=${BENCH_OUT:-$here/results}
port=${BENCH_PORT:-6301}
targets=${BENCH_TARGETS:-rtmesh1 rtmesh2 soketi}
scenarios=${BENCH_SCENARIOS:-fanout10 fanout1 fanout8 channels channels-zmq channels-perf idle storm deflate-2k plain-2k deflate-200 plain-200 c100k}
c100k_conns=${BENCH_C100K_CONNS:-100000}
c100k_nodes=${BENCH_C100K_NODES:-6}
c100k_gens=${BENCH_C100K_GENS:-6}
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
: >"$out/commands.txt"
# What is measured: the commit, and whether the tree differed from it when the run began.
{
  git -C "$here" rev-parse --short HEAD
  git -C "$here" status --porcelain -- .. | grep -q . && echo dirty
} >"$out/commit.txt" 2>/dev/null

pids=()
stop_servers() {
  [[ ${#pids[@]} -gt 0 ]] && kill -TERM "${pids[@]}" 2>/dev/null
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  pids=()
}
trap stop_servers EXIT

wait_ready() { # url
  for _ in $(seq 150); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "run.sh: server not ready at $1" >&2
  return 1
}

start_target() { # target; sets pids
  local t=$1 b0=$((port + 1100)) b1=$((port + 1102))
  case $t in
  rtmesh1)
    brokers="tcp://127.0.0.1:$b0"
    "$broker" --shard 0 --brokers "tcp://127.0.0.1:$b0" 2>>"$out/$t.log" & pids+=($!)
    "$node" --port "$port" --brokers "tcp://127.0.0.1:$b0" 2>>"$out/$t.log" & pids+=($!)
    wait_ready "http://127.0.0.1:$port/readyz"
    ;;
  rtmesh2)
    local list="tcp://127.0.0.1:$b0,tcp://127.0.0.1:$b1"
    brokers=$list
    for i in 0 1; do
      "$broker" --shard "$i" --brokers "$list" 2>>"$out/$t.log" & pids+=($!)
    done
    for i in 0 1; do
      "$node" --port "$port" --brokers "$list" 2>>"$out/$t.log" & pids+=($!)
    done
    wait_ready "http://127.0.0.1:$port/readyz"
    ;;
  many) # one open-file limit per process: the connections spread over several nodes
    "$broker" --shard 0 --brokers "tcp://127.0.0.1:$b0" 2>>"$out/$t.log" & pids+=($!)
    for ((i = 0; i < c100k_nodes; i++)); do
      "$node" --port "$port" --brokers "tcp://127.0.0.1:$b0" 2>>"$out/$t.log" & pids+=($!)
    done
    wait_ready "http://127.0.0.1:$port/readyz"
    ;;
  soketi)
    "$here/soketi/soketi.sh" "$port" >>"$out/$t.log" 2>&1 & pids+=($!)
    wait_ready "http://127.0.0.1:$port/ready"
    ;;
  esac
  sleep 1 # let the servers settle before the baseline sample
}

gen() { # target scenario [loadgen flags...]
  local t=$1 s=$2; shift 2
  local server_pids
  server_pids=$(IFS=,; echo "${pids[*]}")
  echo "rtmesh-loadgen --label $t/$s $*" >>"$out/commands.txt"
  "$loadgen" --port "$port" --pids "$server_pids" --label "$t/$s" --json "$results" "$@"
}

perf_period_ns=250000 # one sample per 250 us on each core

profiled() { # target scenario [loadgen flags...]: gen, with perf sampling the servers for 5 s
  local t=$1 s=$2; shift 2
  local server_pids ready=$out/ready.$t data=$out/$t.perf
  server_pids=$(IFS=,; echo "${pids[*]}")
  rm -f "$ready"
  gen "$t" "$s" --ready-file "$ready" "$@" &
  local g=$!
  while [[ ! -e $ready ]] && kill -0 "$g" 2>/dev/null; do sleep 0.1; done
  sleep 3 # the generator's 1 s hold, then 2 s into the publishing
  # the whole machine, filtered to the servers afterwards: perf attached to the processes
  # would charge them for its own work at every context switch (rtmesh's path has several)
  perf record -q -a -e cpu-clock -c "$perf_period_ns" -g -o "$data" -- sleep 5 2>>"$out/$t.log"
  wait "$g"
  perf script -i "$data" --pid "$server_pids" -F comm,tid,time,ip,sym 2>/dev/null |
    python3 "$here/perf_split.py" "$t" "$results"
  rm -f "$data" "$ready"
}

scenario() { # target scenario
  local t=$1 s=$2
  case $s in
  fanout10) gen "$t" "$s" --conns 5000 --channels 1 --publishers 1 --rate 10 --duration 20 ;;
  fanout1) gen "$t" "$s" --conns 5000 --channels 1 --publishers 1 --rate 0 --duration 10 ;;
  fanout8) gen "$t" "$s" --conns 5000 --channels 1 --publishers 8 --rate 0 --duration 10 ;;
  channels) gen "$t" "$s" --conns 5000 --channels 500 --publishers 8 --rate 2000 --duration 10 ;;
  channels-zmq) # the same load through librtmesh (rtmesh only: soketi has no such ingress)
    gen "$t" "$s" --conns 5000 --channels 500 --publishers 8 --rate 2000 --duration 10 \
      --brokers "$brokers"
    ;;
  channels-perf) # (b) again, sampled by perf: where a publish's server CPU goes
    profiled "$t" "$s" --conns 5000 --channels 500 --publishers 8 --rate 2000 --duration 10 ;;
  idle) # two generator processes (20,000 open files each), 9,900 connections apiece
    gen "$t" "$s" --conns 9900 --channels 100 --publishers 0 --hold 10 --sources 8 &
    local g=$!
    gen "$t" "$s" --conns 9900 --channels 100 --channel-base 100 --publishers 0 --hold 10 \
      --sources 8
    wait "$g"
    ;;
  storm) gen "$t" "$s" --conns 10000 --channels 100 --publishers 0 --hold 0 --concurrency 500 ;;
  # permessage-deflate: a 2 KB dashboard update and a 200 B chat line fanned out to 5,000
  # subscribers that offer it as browsers do (deflate-*) or not (plain-*); soketi declines it
  deflate-2k | plain-2k | deflate-200 | plain-200)
    local shape=dashboard offer=0
    [[ $s == *-200 ]] && shape=chat
    [[ $s == deflate-* ]] && offer=1
    gen "$t" "$s" --conns 5000 --channels 1 --publishers 1 --rate 20 --duration 10 \
      --shape "$shape" --deflate "$offer"
    ;;
  c100k)
    local server_pids
    server_pids=$(IFS=,; echo "${pids[*]}")
    "$here/many.sh" "$loadgen" "$port" "$server_pids" "$results" "$t/$s" "$c100k_conns" \
      "$c100k_gens" "$out/commands.txt"
    ;;
  esac
}

for s in $scenarios; do
  ts=$targets
  [[ $s == c100k ]] && ts=many
  for t in $ts; do
    [[ $s == channels-zmq && $t == soketi ]] && continue
    if [[ $s == channels-perf ]] && ! command -v perf >/dev/null; then
      echo "run.sh: no perf (bench/deps.sh installs linux-perf): $s skipped" >&2
      continue
    fi
    echo "== $t / $s" >&2
    start_target "$t" || { stop_servers; continue; }
    scenario "$t" "$s"
    stop_servers
  done
done
echo "run.sh: results in $results" >&2
