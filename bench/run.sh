#!/usr/bin/env bash
# The side-by-side benchmark: the same scenarios against rtmesh (one node + one
# shard, and the `make run` topology of two nodes + two shards) and against
# soketi 1.6.1 (one process; and, in the many-channel scenarios channels,
# channels-perf and channels-cost only, "soketi2": two soketi processes sharing
# the port with SOKETI_ADAPTER_DRIVER=redis and Debian's redis-server, started
# on a free loopback port for the target and stopped after them; the servers'
# CPU counts all three), on this machine, in one run. Each scenario gets freshly started servers. The
# scenarios behind a verdict run BENCH_RUNS times (default 3), one round of
# every scenario and server after the other, so that bench/report.py decides on
# the median of at least three ratios; c100k, channels-perf, channels-cost and
# fleet run once, in the first round. Round k's generator records go
# to $BENCH_OUT/run-k.jsonl; what the run ran on and with is probed first
# (bench/probes.py: probes.json), and the generator commands are kept
# (commands.txt). Those records are committed (bench/records/), and
# bench/report.py turns them into bench/RESULTS.md. Server logs go to
# $BENCH_OUT/logs/ (not committed). A scenario that fails (servers not ready,
# a generator's connection failed or was lost, a generator error) stops the
# run with the scenario, the round and where to look, and exit status 1.
#
# Usage: bench/run.sh BUILD_DIR      (BUILD_DIR holds bench/rtmesh-loadgen,
#                                     bench/rtmesh-hopcost, node/rtmesh-node,
#                                     broker/rtmesh-broker)
# Environment: BENCH_TARGETS (default "rtmesh1 rtmesh2 soketi soketi2"),
#              BENCH_SCENARIOS (default "fanout10 fanout1 fanout8 channels channels-zmq
#              channels-perf channels-cost idle storm deflate-2k plain-2k deflate-200 plain-200
#              c100k fleet tls-fanout tls-idle tls-storm"), BENCH_RUNS (default 3),
#              BENCH_OUT (default bench/records), BENCH_PORT (default 6301),
#              BENCH_C100K_CONNS (default 100000), BENCH_C100K_NODES (default 6),
#              BENCH_C100K_GENS (default 6), BENCH_KEEP_PERF (set: keep channels-perf's
#              perf.data in $BENCH_OUT/logs/ for perf report).
# c100k runs against its own topology "many": BENCH_C100K_NODES node processes
# sharing the port (SO_REUSEPORT) and one broker shard (bench/many.sh drives it).
# fleet runs against its own topologies fleet1, fleet4 and fleet8: one broker and one node
# with 1, 4 or 8 workers (--workers), 400 subscribers of one channel spread over the
# workers by SO_REUSEPORT, 100 publishes/s; bench/fleet_egress.py samples the broker's
# egress per event (messages, bytes, CPU) and that every worker holds subscribers.
# In channels, the established client connections per server process are recorded
# (TARGET/conn-spread): it shows whether every process sharing the port accepts.
# The tls-* scenarios start the servers with a self-signed certificate made for the run
# (rtmesh: --tls-cert/--tls-key, soketi: SOKETI_SSL_CERT/_KEY, its SSL mode) and the generator
# speaks wss:// and https:// (--tls 1): full handshakes, no resumption.
# The generator shares the machine's cores with the servers; nothing is pinned.
set -uo pipefail
build=$(cd "${1:?usage: bench/run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
loadgen=$build/bench/rtmesh-loadgen
hopcost=$build/bench/rtmesh-hopcost
node=$build/node/rtmesh-node
broker=$build/broker/rtmesh-broker
out=${BENCH_OUT:-$here/records}
port=${BENCH_PORT:-6301}
targets=${BENCH_TARGETS:-rtmesh1 rtmesh2 soketi soketi2}
scenarios=${BENCH_SCENARIOS:-fanout10 fanout1 fanout8 channels channels-zmq channels-perf channels-cost idle storm deflate-2k plain-2k deflate-200 plain-200 c100k fleet tls-fanout tls-idle tls-storm}
runs=${BENCH_RUNS:-3}
c100k_conns=${BENCH_C100K_CONNS:-100000}
c100k_nodes=${BENCH_C100K_NODES:-6}
c100k_gens=${BENCH_C100K_GENS:-6}
logs=$out/logs
mkdir -p "$logs"
rm -f "$out"/run-*.jsonl "$logs"/*.log
: >"$out/commands.txt"
python3 "$here/probes.py" "$out" Release || { echo "run.sh: bench/probes.py failed" >&2; exit 1; }
tls_cert=$logs/tls.crt tls_key=$logs/tls.key
if [[ $scenarios == *tls-* ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls_key" \
    -out "$tls_cert" -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null ||
    { echo "run.sh: openssl could not make the tls-* scenarios' certificate" >&2; exit 1; }
fi

pids=()    # the servers under test
backing=() # what they use until they have exited (soketi2's redis-server), stopped after them
stop_pids() { # pid...
  [[ $# -gt 0 ]] && kill -TERM "$@" 2>/dev/null
  for p in "$@"; do wait "$p" 2>/dev/null; done
}
stop_servers() {
  stop_pids "${pids[@]}"
  stop_pids "${backing[@]}"
  pids=() backing=()
}

server_pids() { # every server process, a comma list: CPU and RSS count them all
  local all=("${pids[@]}" "${backing[@]}")
  (IFS=,; echo "${all[*]}")
}
trap stop_servers EXIT

wait_ready() { # url (https: the run's own certificate, not checked)
  for _ in $(seq 150); do
    curl -fsk "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "run.sh: server not ready at $1" >&2
  return 1
}

wait_listening() { # pid: until that process listens on the port too (one URL cannot tell)
  for _ in $(seq 150); do
    ss -tlnpH "( sport = :$port )" | grep -q "pid=$1," && return 0
    sleep 0.2
  done
  echo "run.sh: process $1 does not listen on port $port" >&2
  return 1
}

start_redis() { # target; sets redis_port, the server joins backing
  redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    >>"$logs/$1.log" 2>&1 & backing+=($!)
  for _ in $(seq 50); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "run.sh: redis-server not ready on port $redis_port" >&2
  return 1
}

start_target() { # target scenario; sets pids
  local t=$1 b0=$((port + 1100)) b1=$((port + 1102)) tls=() scheme=http
  if [[ $2 == tls-* ]]; then
    tls=(--tls-cert "$tls_cert" --tls-key "$tls_key")
    scheme=https # soketi's SSL mode serves TLS only; rtmesh's port serves both
  fi
  case $t in
  rtmesh1)
    brokers="tcp://127.0.0.1:$b0"
    "$broker" --shard 0 --brokers "tcp://127.0.0.1:$b0" 2>>"$logs/$t.log" & pids+=($!)
    "$node" --port "$port" --brokers "tcp://127.0.0.1:$b0" "${tls[@]}" 2>>"$logs/$t.log" & pids+=($!)
    wait_ready "http://127.0.0.1:$port/readyz"
    ;;
  rtmesh2)
    local list="tcp://127.0.0.1:$b0,tcp://127.0.0.1:$b1"
    brokers=$list
    for i in 0 1; do
      "$broker" --shard "$i" --brokers "$list" 2>>"$logs/$t.log" & pids+=($!)
    done
    for i in 0 1; do
      "$node" --port "$port" --brokers "$list" "${tls[@]}" 2>>"$logs/$t.log" & pids+=($!)
    done
    wait_ready "http://127.0.0.1:$port/readyz"
    ;;
  many) # one open-file limit per process: the connections spread over several nodes
    "$broker" --shard 0 --brokers "tcp://127.0.0.1:$b0" 2>>"$logs/$t.log" & pids+=($!)
    for ((i = 0; i < c100k_nodes; i++)); do
      "$node" --port "$port" --brokers "tcp://127.0.0.1:$b0" 2>>"$logs/$t.log" & pids+=($!)
    done
    wait_ready "http://127.0.0.1:$port/readyz"
    ;;
  soketi)
    if ((${#tls[@]})); then
      SOKETI_SSL_CERT=$tls_cert SOKETI_SSL_KEY=$tls_key "$here/soketi/soketi.sh" "$port" \
        >>"$logs/$t.log" 2>&1 & pids+=($!)
    else
      "$here/soketi/soketi.sh" "$port" >>"$logs/$t.log" 2>&1 & pids+=($!)
    fi
    wait_ready "$scheme://127.0.0.1:$port/ready"
    ;;
  soketi2) # soketi's scale-out mode: both processes on the port (uWebSockets: SO_REUSEPORT)
    start_redis "$t" || return 1
    for _ in 0 1; do
      SOKETI_ADAPTER_DRIVER=redis SOKETI_DB_REDIS_HOST=127.0.0.1 SOKETI_DB_REDIS_PORT=$redis_port \
        "$here/soketi/soketi.sh" "$port" >>"$logs/$t.log" 2>&1 & pids+=($!)
      wait_listening $! || return 1
    done
    wait_ready "http://127.0.0.1:$port/ready"
    ;;
  fleet*)
    "$broker" --shard 0 --brokers "tcp://127.0.0.1:$b0" --metrics-port "$fleet_metrics" \
      2>>"$logs/$t.log" & pids+=($!)
    "$node" --port "$port" --brokers "tcp://127.0.0.1:$b0" --workers "${t#fleet}" \
      2>>"$logs/$t.log" & pids+=($!)
    wait_ready "http://127.0.0.1:$port/readyz"
    ;;
  esac
  sleep 1 # let the servers settle before the baseline sample
}

gen() { # target scenario [loadgen flags...]
  local t=$1 s=$2; shift 2
  local server_pids
  server_pids=$(server_pids)
  echo "rtmesh-loadgen --label $t/$s $*" >>"$out/commands.txt"
  "$loadgen" --port "$port" --pids "$server_pids" --label "$t/$s" --json "$results" "$@"
}

fail() { # target scenario what
  echo "run.sh: $1/$2 (round $round of $runs) failed: $3; server logs in $logs/$1.log" >&2
  echo "run.sh: stopped; the records so far are in $out, not a report" >&2
  exit 1
}

perf_period_ns=250000 # one sample per 250 us on each core

perf_window_s=5

fleet_metrics=$((port + 1110)) # the fleet broker's GET /metrics

during_load() { # target scenario measure [loadgen flags...]: gen, with `measure TARGET` run
  # once the publishing is 2 s in; it takes perf_window_s
  local t=$1 s=$2 measure=$3; shift 3
  local ready=$logs/ready.$t
  rm -f "$ready"
  gen "$t" "$s" --ready-file "$ready" "$@" &
  local g=$!
  while [[ ! -e $ready ]] && kill -0 "$g" 2>/dev/null; do sleep 0.1; done
  sleep 3 # the generator's 1 s hold, then 2 s into the publishing
  "$measure" "$t"
  local status=0
  wait "$g" || status=1
  rm -f "$ready"
  return $status
}

perf_sample() { # target
  # the whole machine, filtered to the servers afterwards: perf attached to the processes
  # would charge them for its own work at every context switch (rtmesh's path has several)
  perf record -q -a -e cpu-clock -c "$perf_period_ns" -g -o "$logs/$1.perf" -- \
    sleep "$perf_window_s" 2>>"$logs/$1.log"
}

perf_count() { # target: system calls (in all, and the busy ones by name) and context
  # switches of every server thread
  local server_pids calls=raw_syscalls:sys_enter,context-switches c
  server_pids=$(server_pids)
  for c in write writev sendto read recvfrom epoll_wait epoll_pwait epoll_ctl poll getpid futex \
    accept4 close; do
    calls+=,syscalls:sys_enter_$c
  done
  perf stat -x, --per-thread -e "$calls" -p "$server_pids" \
    -o "$logs/$1.stat" -- sleep "$perf_window_s" 2>>"$logs/$1.log"
}

profiled() { # target scenario [loadgen flags...]: where the servers' CPU goes
  local t=$1 s=$2 server_pids
  server_pids=$(server_pids)
  during_load "$t" "$s" perf_sample "${@:3}" || return 1
  perf script -i "$logs/$t.perf" --pid "$server_pids" -F comm,tid,time,ip,sym 2>/dev/null |
    python3 "$here/perf_split.py" "$t" "$results" || return 1
  [[ -n ${BENCH_KEEP_PERF:-} ]] || rm -f "$logs/$t.perf"
}

costed() { # target scenario [loadgen flags...]: system calls and context switches per publish
  local t=$1 s=$2
  during_load "$t" "$s" perf_count "${@:3}" || return 1
  python3 "$here/perf_cost.py" "$t" "$logs/$t.stat" "$perf_window_s" "$results" || return 1
  rm -f "$logs/$t.stat"
}

conn_spread() { # target: established client connections per server process
  ss -tnpH state established "( sport = :$port )" | grep -o 'pid=[0-9]*' | sort | uniq -c |
    awk -v label="$1/conn-spread" 'BEGIN { printf "{\"label\":\"%s\",\"conns_per_pid\":{", label }
      { printf "%s\"%s\":%d", (NR > 1 ? "," : ""), substr($2, 5), $1 } END { print "}}" }' >>"$results"
}

fleet_egress() { # target: the broker's egress per event (the broker is the first server)
  python3 "$here/fleet_egress.py" "$1" "${pids[0]}" $((port + 1101)) \
    "http://127.0.0.1:$fleet_metrics/metrics" "http://127.0.0.1:$port/metrics" \
    "$perf_window_s" "$results"
}

idle() { # target scenario [loadgen flags...]: two generator processes (20,000 open files
  # each), 9,900 connections apiece
  local t=$1 s=$2
  shift 2
  gen "$t" "$s" --conns 9900 --channels 100 --publishers 0 --hold 10 --sources 8 "$@" &
  local g=$!
  gen "$t" "$s" --conns 9900 --channels 100 --channel-base 100 --publishers 0 --hold 10 \
    --sources 8 "$@"
  local second=$?
  wait "$g" && [[ $second -eq 0 ]]
}

scenario() { # target scenario
  local t=$1 s=$2
  case $s in
  fanout10) gen "$t" "$s" --conns 5000 --channels 1 --publishers 1 --rate 10 --duration 20 ;;
  fanout1) gen "$t" "$s" --conns 5000 --channels 1 --publishers 1 --rate 0 --duration 10 ;;
  fanout8) gen "$t" "$s" --conns 5000 --channels 1 --publishers 8 --rate 0 --duration 10 ;;
  channels)
    during_load "$t" "$s" conn_spread --conns 5000 --channels 500 --publishers 8 --rate 2000 \
      --duration 10
    ;;
  channels-zmq) # the same load through librtmesh (rtmesh only: soketi has no such ingress)
    gen "$t" "$s" --conns 5000 --channels 500 --publishers 8 --rate 2000 --duration 10 \
      --brokers "$brokers"
    ;;
  channels-perf) # (b) again, sampled by perf: where a publish's server CPU goes
    profiled "$t" "$s" --conns 5000 --channels 500 --publishers 8 --rate 2000 --duration 10 ;;
  channels-cost) # (b) again, counted by perf: system calls and context switches per publish
    costed "$t" "$s" --conns 5000 --channels 500 --publishers 8 --rate 2000 --duration 10 ;;
  idle) idle "$t" "$s" ;;
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
  tls-fanout) gen "$t" "$s" --tls 1 --conns 5000 --channels 1 --publishers 1 --rate 0 --duration 10 ;;
  tls-idle) idle "$t" "$s" --tls 1 ;;
  tls-storm)
    gen "$t" "$s" --tls 1 --conns 10000 --channels 100 --publishers 0 --hold 0 --concurrency 500
    ;;
  fleet) during_load "$t" "$s" fleet_egress --conns 400 --channels 1 --publishers 1 --rate 100 --duration 10 ;;
  c100k)
    local server_pids
    server_pids=$(server_pids)
    "$here/many.sh" "$loadgen" "$port" "$server_pids" "$results" "$t/$s" "$c100k_conns" \
      "$c100k_gens" "$out/commands.txt"
    ;;
  esac
}

for ((round = 1; round <= runs; round++)); do
  results=$out/run-$round.jsonl
  : >"$results"
  if [[ $round -eq 1 && $scenarios == *channels-perf* ]]; then # what one hop costs here
    "$hopcost" >>"$results" || { echo "run.sh: $hopcost failed" >&2; exit 1; }
  fi
  echo "# round $round" >>"$out/commands.txt"
  for s in $scenarios; do
    [[ $round -gt 1 && ($s == c100k || $s == channels-perf || $s == channels-cost || $s == fleet) ]] && continue # once, in round 1
    ts=$targets
    [[ $s == c100k ]] && ts=many
    [[ $s == fleet ]] && ts="fleet1 fleet4 fleet8"
    for t in $ts; do
      [[ $s == channels-zmq && $t == soketi* ]] && continue
      [[ $t == soketi2 && $s != channels && $s != channels-perf && $s != channels-cost ]] && continue
      if [[ $s == channels-perf || $s == channels-cost ]] && ! command -v perf >/dev/null; then
        echo "run.sh: no perf (bench/deps.sh installs linux-perf): $s skipped" >&2
        continue
      fi
      echo "== round $round of $runs: $t / $s" >&2
      start_target "$t" "$s" || fail "$t" "$s" "the servers did not become ready"
      scenario "$t" "$s" || fail "$t" "$s" "a generator failed (a connection did not subscribe or was lost, or an error; its message is above)"
      stop_servers
    done
  done
done
echo "run.sh: records in $out (bench/report.py $out bench/RESULTS.md renders them)" >&2
