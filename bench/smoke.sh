#!/usr/bin/env bash
# bench-smoke: proves the load generator and the report work against a real mesh (CI, ~50 s).
# Usage: bench/smoke.sh <rtmesh-loadgen> <rtmesh-broker> <rtmesh-node>
# Starts 2 broker shards and 2 edge nodes sharing one port (the `make run`
# topology) on free ports, with a self-signed certificate (the tls-*
# scenarios' way), probes the machine as `make bench` does
# (bench/probes.py), then runs six light loads through them: 200
# subscribers on 8 channels at 20 publishes/s for 12 s, 3 s flat out with
# 4 publishers, 3 s of 20/s through librtmesh (--brokers, the channels-zmq
# way), 3 s of 2 KB dashboard events to subscribers that offer
# permessage-deflate (every one must arrive compressed), 3 s of 20/s over
# wss:// and https:// (--tls 1), and the c100k scenario of `make bench` at
# 2,000 connections (bench/many.sh: 2 generator processes, one event to all).
# Then the fleet scenario's way, on a broker and a node of 2 workers of their
# own: 100 subscribers of one channel at 20 publishes/s, sampled for 2 s by
# bench/fleet_egress.py. Their records are laid out as one round of
# bench/run.sh, and bench/report.py renders them. Fails when a connection does
# not subscribe, an event does not arrive (delivered != expected, or nothing
# published), a deflate event arrives uncompressed, the fleet sampler saw no
# egress or not both workers holding subscribers, or the report cannot be
# rendered from the records; no timing is asserted.
set -euo pipefail
if [[ $# -ne 3 ]]; then
  echo "usage: $0 <rtmesh-loadgen> <rtmesh-broker> <rtmesh-node>" >&2
  exit 2
fi
loadgen=$1 broker=$2 node=$3
work=$(mktemp -d)
pids=()
cleanup() {
  [[ ${#pids[@]} -gt 0 ]] && kill -TERM "${pids[@]}" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Free ports: one for the nodes, two pairs (ingress P, egress P+1) for the shards; for the
# fleet: one for its node, a pair for its broker, one for the broker's /metrics.
read -r port b0 b1 fleet_port fleet_b fleet_metrics < <(python3 - <<'PY'
import socket
def free(n):
    while True:
        s = [socket.socket() for _ in range(n)]
        try:
            s[0].bind(("127.0.0.1", 0)); p = s[0].getsockname()[1]
            for i in range(1, n): s[i].bind(("127.0.0.1", p + i))
            return p
        except OSError:
            pass
        finally:
            for x in s: x.close()
print(free(1), free(2), free(2), free(1), free(2), free(1))
PY
)
brokers="tcp://127.0.0.1:$b0,tcp://127.0.0.1:$b1"
for i in 0 1; do
  "$broker" --shard "$i" --brokers "$brokers" >"$work/broker$i.log" 2>&1 & pids+=($!)
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tls.key" \
  -out "$work/tls.crt" -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
for i in 0 1; do
  "$node" --port "$port" --brokers "$brokers" --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" \
    >"$work/node$i.log" 2>&1 & pids+=($!)
done
wait_ready() { # port
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "bench-smoke: mesh not ready on port $1" >&2
  tail -n 20 "$work"/*.log >&2
  exit 1
}
wait_ready "$port"
server_pids=$(IFS=,; echo "${pids[*]}")
python3 "$(dirname "$0")/probes.py" "$work" smoke
records=$work/run-1.jsonl commands=$work/commands.txt

run() { # label, extra loadgen flags...
  local label=$1; shift
  local flags=(--conns 200 --channels 8 --sources 4 --hold 1 "$@")
  echo "bench-smoke: $label" >&2
  echo "rtmesh-loadgen --label smoke/$label ${flags[*]}" >>"$commands"
  if ! "$loadgen" --port "$port" --pids "$server_pids" --label "smoke/$label" --json "$records" \
      "${flags[@]}"; then
    echo "bench-smoke: $label: loadgen failed (a connection did not subscribe or was lost)" >&2
    return 1
  fi
}
run steady --publishers 2 --rate 20 --duration 12
run flat-out --publishers 4 --rate 0 --duration 3
run zmq --publishers 2 --rate 20 --duration 3 --brokers "$brokers" # librtmesh, the channels-zmq way
run deflate --publishers 1 --rate 20 --duration 3 --shape dashboard --deflate 1
run tls --publishers 2 --rate 20 --duration 3 --tls 1 # wss:// and https://, the tls-* way
echo "bench-smoke: many (2,000 connections, 2 generator processes)" >&2
if ! BENCH_MANY_WAIT_MS=60000 "$(dirname "$0")/many.sh" "$loadgen" "$port" "$server_pids" \
  "$records" many/c100k 2000 2 "$commands"; then
  echo "bench-smoke: many: a generator failed (a connection did not subscribe or was lost)" >&2
  exit 1
fi

echo "bench-smoke: fleet (a node of 2 workers, its broker's egress sampled)" >&2
"$broker" --shard 0 --brokers "tcp://127.0.0.1:$fleet_b" --metrics-port "$fleet_metrics" \
  >"$work/fleet-broker.log" 2>&1 & pids+=($!)
fleet_broker=$!
"$node" --port "$fleet_port" --brokers "tcp://127.0.0.1:$fleet_b" --workers 2 \
  >"$work/fleet-node.log" 2>&1 & pids+=($!)
fleet_node=$!
wait_ready "$fleet_port"
flags=(--conns 100 --channels 1 --publishers 1 --rate 20 --duration 6 --hold 1)
echo "rtmesh-loadgen --label fleet2/fleet ${flags[*]}" >>"$commands"
"$loadgen" --port "$fleet_port" --pids "$fleet_broker,$fleet_node" --label fleet2/fleet --json "$records" \
  --ready-file "$work/fleet.ready" "${flags[@]}" & fleet_gen=$!
while [[ ! -e $work/fleet.ready ]] && kill -0 "$fleet_gen" 2>/dev/null; do sleep 0.1; done
sleep 2 # the hold, then a second into the publishing
python3 "$(dirname "$0")/fleet_egress.py" fleet2 "$fleet_broker" $((fleet_b + 1)) \
  "http://127.0.0.1:$fleet_metrics/metrics" "http://127.0.0.1:$fleet_port/metrics" 2 "$records"
if ! wait "$fleet_gen"; then
  echo "bench-smoke: fleet: loadgen failed (a connection did not subscribe or was lost)" >&2
  exit 1
fi

python3 - "$records" <<'PY'
import json, sys
bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["label"] == "fleet2/fleet-egress":  # both workers subscribed, so both links carry
        ok = r["events"] > 0 and r["workers_with_subscribers"] == 2 \
            and r["egress_msgs_per_event"] >= 1 and r["egress_bytes_per_event"] > 0
        print("bench-smoke: %-20s events=%d workers_with_subscribers=%d egress_msgs_per_event=%d "
              "%s" % (r["label"], r["events"], r["workers_with_subscribers"],
                      r["egress_msgs_per_event"], "ok" if ok else "FAILED"))
        bad += not ok
        continue
    if r["label"] == "many/c100k-publisher":  # the one event of the many run
        ok = r["publish_ok"] == 1
    else:  # a many generator publishes nothing: it awaits that event on every connection
        ok = (r["publish_ok"] > 0 or r["expect"] > 0) and r["expected"] > 0 \
            and r["delivered"] == r["expected"] and r["subscribed"] == r["conns"]
        if r["label"] == "smoke/deflate":  # every event compressed, each read in far fewer bytes
            ok = ok and r["compressed"] == r["delivered"] and r["wire_bytes_per_delivery"] < 1000
    print("bench-smoke: %-20s subscribed=%d/%d published=%d delivered=%d/%d %s" % (
        r["label"], r["subscribed"], r["conns"], r["publish_ok"], r["delivered"], r["expected"],
        "ok" if ok else "FAILED"))
    bad += not ok
sys.exit(1 if bad else 0)
PY

# The report renders from the records alone, and shows what they hold.
report=$work/RESULTS.md
if ! python3 "$(dirname "$0")/report.py" "$work" "$report" "$work/chart.png"; then
  echo "bench-smoke: bench/report.py failed on the smoke records" >&2
  exit 1
fi
for want in "smoke/steady: " "smoke/flat-out: " "smoke/zmq: " "smoke/deflate: " "smoke/tls: " \
  "many/c100k: " "## Many connections on one machine" "fleet2/fleet: " "## Fleet: " \
  "| connections asked / held | 2,000 / 2,000 |"; do
  if ! grep -qF -- "$want" "$report"; then
    echo "bench-smoke: the report lacks '$want':" >&2
    cat "$report" >&2
    exit 1
  fi
done
echo "bench-smoke: report rendered from the records ($(wc -l <"$report") lines)" >&2
