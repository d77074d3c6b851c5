#!/usr/bin/env bash
# Starts a local mesh in the foreground: 2 broker shards and 2 edge nodes
# sharing one port (SO_REUSEPORT), serving the default app and the demo app,
# and the demo app server (examples/demo) beside them. Ctrl-C or SIGTERM
# stops every process it started. A process that dies (say a shard killed to
# watch the failover on the demo's status page) is reported with the command
# that restarts it; the rest keep running.
#
# Without RTMESH_APPS_FILE the nodes get a generated apps file: the default app
# (RTMESH_APP_ID/_KEY/_SECRET, unchanged behaviour for plain clients) and the
# demo's app "demo", which allows client events (typing indicators) and
# requires user authentication. RTMESH_DEMO_APP picks another app for the demo.
set -uo pipefail
bin=${1:?usage: run-mesh.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
port=${RTMESH_PORT:-6001}
demo_port=${RTMESH_DEMO_PORT:-8080}
brokers=${RTMESH_BROKERS:-tcp://127.0.0.1:7100,tcp://127.0.0.1:7102}
app_id=${RTMESH_APP_ID:-app-id} app_key=${RTMESH_APP_KEY:-app-key}
app_secret=${RTMESH_APP_SECRET:-app-secret}
# Ctrl-C here means now: no drain period (it is for load balancers, docs/operations.md).
export RTMESH_DRAIN_SECONDS=${RTMESH_DRAIN_SECONDS:-0}

pids=()
commands=() # commands[i] started pids[i]
tmp=$(mktemp -d)
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
  wait
  rm -rf "$tmp"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

json_str() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}
if [ -z "${RTMESH_APPS_FILE:-}" ]; then
  export RTMESH_APPS_FILE=$tmp/apps.json RTMESH_DEMO_APP=${RTMESH_DEMO_APP:-demo}
  cat >"$RTMESH_APPS_FILE" <<JSON
[
  {"id": $(json_str "$app_id"), "key": $(json_str "$app_key"), "secret": $(json_str "$app_secret")},
  {"id": "demo", "key": "demo-key", "secret": "demo-secret",
   "enable_client_messages": true, "enable_user_authentication": true}
]
JSON
fi

shards=$(tr ',' '\n' <<<"$brokers" | wc -l)
started() {
  pids+=("$1")
  commands+=("$2")
}
for ((i = 0; i < shards; i++)); do
  "$bin/broker/rtmesh-broker" --shard "$i" --brokers "$brokers" &
  started $! "RTMESH_APPS_FILE=$RTMESH_APPS_FILE $bin/broker/rtmesh-broker --shard $i --brokers $brokers"
done
for i in 1 2; do
  "$bin/node/rtmesh-node" --port "$port" --brokers "$brokers" &
  started $! "RTMESH_APPS_FILE=$RTMESH_APPS_FILE $bin/node/rtmesh-node --port $port --brokers $brokers"
done

for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done

# The demo needs Node.js and its npm packages (installed once with npm ci); the
# mesh runs without it, and a demo that cannot start leaves the mesh running.
demo=
start_demo() {
  local dir=$root/examples/demo pid
  command -v node >/dev/null || { demo="not started: Node.js is not installed"; return; }
  if [[ ! -d $dir/node_modules || $dir/node_modules -ot $dir/package-lock.json ]]; then
    echo "installing the demo's npm packages (npm ci)…" >&2
    if ! (cd "$dir" && npm ci --no-audit --no-fund >&2 && touch node_modules); then
      demo="not started: npm ci failed in $dir (output above)"
      return
    fi
  fi
  RTMESH_DEMO_PORT=$demo_port RTMESH_DEMO_MESH=http://127.0.0.1:$port \
    node "$dir/server.js" >"$tmp/demo.out" & pid=$!
  for _ in $(seq 50); do
    demo=$(sed -n 's/^demo listening on //p' "$tmp/demo.out")
    if [ -n "$demo" ]; then
      started "$pid" "RTMESH_APPS_FILE=$RTMESH_APPS_FILE RTMESH_DEMO_APP=${RTMESH_DEMO_APP:-} RTMESH_DEMO_PORT=$demo_port RTMESH_DEMO_MESH=http://127.0.0.1:$port node $dir/server.js"
      demo="$demo   chat, dashboard, notifications; mesh status at /status"
      return
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  demo="not started (its error is above)"
}
start_demo

cat <<MSG

rtmesh is running: $shards broker shards, 2 edge nodes on port $port.
  demo       $demo
  WebSocket  ws://127.0.0.1:$port/app/$app_key   (pusher-js: wsHost 127.0.0.1, wsPort $port,
                                                       forceTLS false, enabledTransports ['ws'], cluster 'mt1')
  REST API   http://127.0.0.1:$port/apps/$app_id/events  (app id $app_id, key $app_key,
                                                       secret $app_secret)
  metrics    http://127.0.0.1:$port/metrics
Ctrl-C stops it.
MSG
# Until every process has exited: report each one that does, and how to start it again.
while [ ${#pids[@]} -gt 0 ]; do
  wait -n -p exited
  status=$?
  for i in "${!pids[@]}"; do
    [ "${pids[$i]}" = "$exited" ] || continue
    echo "exited with status $status; the rest keep running (Ctrl-C stops them). To start it again:" >&2
    echo "  ${commands[$i]}" >&2
    unset "pids[$i]" "commands[$i]"
  done
done
echo "every process exited" >&2
exit 1
