#!/usr/bin/env bash
# CI step (make image-test; .ci/run): builds the image (deploy/build-image.sh), runs a broker
# and a node from it as a user would (`run IMAGE rtmesh-broker ...`, `run IMAGE rtmesh-node`),
# checks the image's HEALTHCHECK on both, publishes with the image's `rtmesh publish`, and drives pusher-js clients that receive what the
# `pusher` SDK publishes through them (tests/deploy/roundtrip.js). The node has a TLS
# certificate made here, mounted as a Secret would be: https:// answers on its port beside the
# clear text the clients use. Host network, every
# server on 127.0.0.1, free ports picked at start; removes its containers on exit.
# Then the compose mesh from the same images (deploy/ci-compose.sh).
# Usage: deploy/ci-image.sh   (images localhost/rtmesh:ci and localhost/rtmesh-lb:ci)
set -euo pipefail
cd "$(dirname "$0")/.."
image=localhost/rtmesh:ci lb_image=localhost/rtmesh-lb:ci
export CONTAINERS_CONF=$PWD/deploy/containers.conf
# podman logs every missing systemd health-check timer (none here) at error level.
pm() { podman --log-level=fatal "$@"; }

start=$SECONDS
deploy/build-image.sh "$image" "$lb_image"
echo "image built in $((SECONDS - start)) s" >&2
(cd tests && { [[ -d node_modules ]] || npm ci --no-audit --no-fund --silent; })

# Free ports: a broker's ingress P and egress P+1, its metrics port, and the node's.
read -r broker metrics node < <(deploy/free-ports.js 2)

tag=rtmesh-ci-$$
cleanup() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    for c in "$tag-broker" "$tag-node"; do echo "--- logs of $c" >&2; pm logs "$c" >&2 || true; done
  fi
  pm rm -f -t 2 "$tag-broker" "$tag-node" >/dev/null 2>&1 || true
  rm -rf "${tls:-}"
}
trap cleanup EXIT
tls=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/tls.key" \
  -out "$tls/tls.crt" -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
chmod 755 "$tls" && chmod 644 "$tls"/* # readable by the image's user 10001 (a throwaway key)
run=(pm run -d --network host --health-interval=disable)
"${run[@]}" --name "$tag-broker" -e RTMESH_BIND=127.0.0.1 -e RTMESH_METRICS_PORT="$metrics" "$image" \
  rtmesh-broker --shard 0 --brokers "tcp://127.0.0.1:$broker" >/dev/null
"${run[@]}" --name "$tag-node" -e RTMESH_HOST=127.0.0.1 -e RTMESH_PORT="$node" \
  -v "$tls:/etc/rtmesh-tls:ro" -e RTMESH_TLS_CERT=/etc/rtmesh-tls/tls.crt \
  -e RTMESH_TLS_KEY=/etc/rtmesh-tls/tls.key "$image" \
  rtmesh-node --brokers "tcp://127.0.0.1:$broker" --workers 2 >/dev/null

node tests/deploy/roundtrip.js "$node" 4
curl -fsS --cacert "$tls/tls.crt" "https://127.0.0.1:$node/healthz" >/dev/null \
  || { echo "$0: the node in the image does not serve https:// with its certificate" >&2; exit 1; }
# A service publishing from the image (`run IMAGE rtmesh publish`): the broker accepts it.
pm run --rm --network host "$image" rtmesh publish --brokers "tcp://127.0.0.1:$broker" \
  --app app-id image-test ping '{"from":"rtmesh publish"}' \
  || { echo "$0: rtmesh publish from the image failed" >&2; exit 1; }
# The HEALTHCHECK as the engine runs it: GET /healthz on the node's port and on the broker's
# metrics port.
for c in "$tag-node" "$tag-broker"; do
  pm healthcheck run "$c" >/dev/null || { echo "$0: $c is not healthy" >&2; exit 1; }
done
# SIGTERM (podman stop) must end both with status 0: a clean drain, no crash.
pm stop -t 20 "$tag-node" "$tag-broker" >/dev/null
for c in "$tag-node" "$tag-broker"; do
  code=$(pm inspect --format '{{.State.ExitCode}}' "$c")
  [[ $code == 0 ]] || { echo "$0: $c exited $code after SIGTERM" >&2; exit 1; }
done
echo "image test passed in $((SECONDS - start)) s" >&2
trap - EXIT
cleanup
RTMESH_IMAGE=$image RTMESH_LB_IMAGE=$lb_image deploy/ci-compose.sh
echo "image and compose tests passed in $((SECONDS - start)) s" >&2
