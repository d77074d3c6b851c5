#!/usr/bin/env bash
# Builds the rtmesh image with Debian's podman on a machine that reaches no image registry
# (docs/operations.md; ../shared/reference/containers.md has the measurements):
#   1. installs podman, runc and mmdebstrap with apt-get when missing (as root);
#   2. makes debian:bookworm-slim from the machine's own apt sources with mmdebstrap, tagged
#      docker.io/library/debian:bookworm-slim so deploy/Dockerfile's FROM needs no pull;
#   3. builds deploy/Dockerfile (docker format, so the HEALTHCHECK is kept) as IMAGE, and the
#      compose file's TCP load balancer (deploy/lb: Debian's haproxy) as LB_IMAGE.
# Usage: deploy/build-image.sh [IMAGE [LB_IMAGE]]
#        (defaults localhost/rtmesh:dev and localhost/rtmesh-lb:dev)
# Nothing is cached between runs: the base is remade and the build runs with --no-cache.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-localhost/rtmesh:dev}
lb_image=${2:-localhost/rtmesh-lb:dev}
sources=/etc/apt/sources.list.d/debian.sources
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in podman runc mmdebstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "$0: needs Debian packages; as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ ! -f $sources ]]; then
  echo "$0: $sources is missing: mmdebstrap and the build's apt steps read it" >&2
  exit 1
fi

# podman's default runtime (crun) cannot set rlimits here; runc can.
export CONTAINERS_CONF=$PWD/deploy/containers.conf

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=minbase --format=tar \
  --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Languages "none"' \
  --customize-hook='rm -f "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/*' \
  bookworm "$work/rootfs.tar" "$sources"
podman import --quiet --change 'CMD ["bash"]' "$work/rootfs.tar" localhost/debian:bookworm-slim >/dev/null
podman tag localhost/debian:bookworm-slim docker.io/library/debian:bookworm-slim
rm -f "$work/rootfs.tar"

# The host's sources file is mounted for the apt steps only; the image keeps none.
build=(podman build --quiet --no-cache --pull=never --format docker -v "$sources:$sources:ro")
"${build[@]}" -t "$image" -f deploy/Dockerfile . >/dev/null
"${build[@]}" -t "$lb_image" deploy/lb >/dev/null
echo "built $image and $lb_image" >&2
