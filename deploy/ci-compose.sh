#!/usr/bin/env bash
# CI step (after deploy/ci-image.sh, which calls it): runs deploy/compose.yaml — 3 broker
# shards, 2 edge nodes, the haproxy TCP load balancer — with Debian's podman-compose, and
# drives pusher-js clients through the balancer's port that receive what the `pusher` SDK
# publishes there (tests/deploy/roundtrip.js). The balancer is published on 127.0.0.1 only, on
# a free port; the project (containers, network) is removed on exit.
# Usage: RTMESH_IMAGE=... RTMESH_LB_IMAGE=... deploy/ci-compose.sh   (images already built:
# deploy/build-image.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=$PWD/deploy/containers.conf
export RTMESH_IMAGE=${RTMESH_IMAGE:-localhost/rtmesh:dev}
export RTMESH_LB_IMAGE=${RTMESH_LB_IMAGE:-localhost/rtmesh-lb:dev}
export DEBIAN_FRONTEND=noninteractive
# podman-compose, and CNI's dnsname plugin so that services find each other by name.
missing=()
for p in podman-compose golang-github-containernetworking-plugin-dnsname; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

start=$SECONDS
read -r _ port < <(deploy/free-ports.js 1)
export RTMESH_LB_PORT=$port
project=rtmesh-ci-$$
compose=(podman-compose --podman-args=--log-level=fatal -p "$project" -f deploy/compose.yaml)
down() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    for c in $(podman ps -a --filter "label=io.podman.compose.project=$project" --format '{{.Names}}'); do
      echo "--- logs of $c" >&2
      podman logs "$c" >&2 || true
    done
  fi
  "${compose[@]}" down -t 15 >/dev/null 2>&1 || true
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true # down (1.0.3) keeps it
}
trap down EXIT
"${compose[@]}" up -d >/dev/null 2>&1 || { echo "$0: podman-compose up failed:" >&2; "${compose[@]}" up -d; exit 1; }
node tests/deploy/roundtrip.js "$port" 6
echo "compose test passed in $((SECONDS - start)) s" >&2
