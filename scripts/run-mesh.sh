#!/usr/bin/env bash
# Starts a local mesh in the foreground: 2 broker shards and 2 edge nodes
# sharing one port (SO_REUSEPORT), serving the default app. Ctrl-C or SIGTERM
# stops every process it started.
set -uo pipefail
bin=${1:?usage: run-mesh.sh BUILD_DIR}
port=${RTMESH_PORT:-6001}
brokers=${RTMESH_BROKERS:-tcp://127.0.0.1:7100,tcp://127.0.0.1:7102}
export RTMESH_APP_ID=${RTMESH_APP_ID:-app-id} RTMESH_APP_KEY=${RTMESH_APP_KEY:-app-key}
export RTMESH_APP_SECRET=${RTMESH_APP_SECRET:-app-secret}

pids=()
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
  wait
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

shards=$(tr ',' '\n' <<<"$brokers" | wc -l)
for ((i = 0; i < shards; i++)); do
  "$bin/broker/rtmesh-broker" --shard "$i" --brokers "$brokers" & pids+=($!)
done
for i in 1 2; do
  "$bin/node/rtmesh-node" --port "$port" --brokers "$brokers" & pids+=($!)
done

for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
cat <<MSG

rtmesh is running: $shards broker shards, 2 edge nodes on port $port.
  WebSocket  ws://127.0.0.1:$port/app/$RTMESH_APP_KEY   (pusher-js: wsHost 127.0.0.1, wsPort $port,
                                                       forceTLS false, enabledTransports ['ws'], cluster 'mt1')
  REST API   http://127.0.0.1:$port/apps/$RTMESH_APP_ID/events  (app id $RTMESH_APP_ID, key $RTMESH_APP_KEY,
                                                       secret $RTMESH_APP_SECRET)
  metrics    http://127.0.0.1:$port/metrics
Ctrl-C stops it.
MSG
wait -n
echo "a mesh process exited; stopping the rest" >&2
exit 1
