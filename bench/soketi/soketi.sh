#!/usr/bin/env bash
# Runs soketi 1.6.1 in the foreground under the unpacked Debian Node 18 (see
# setup.sh). Debian's Node loads acorn, cjs-module-lexer and undici from
# /usr/share/nodejs, so a private mount namespace lays the unpacked
# /usr/share over the real one (overlayfs, read-only): nothing is installed.
# The process execs into node, so its pid is this script's pid.
# Usage: soketi.sh PORT   (app-id / app-key / app-secret, soketi's defaults; SOKETI_SSL_CERT
#                          and SOKETI_SSL_KEY in the environment: its SSL mode, TLS only)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/.node18/root
port=${1:-6001}
export SOKETI_PORT=$port SOKETI_METRICS_SERVER_PORT=$((port + 3000))
export LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu
cd "$here"
ns=(unshare -m)
[[ $(id -u) -eq 0 ]] || ns=(unshare -r -m)
exec "${ns[@]}" sh -c "mount -t overlay overlay -o lowerdir=$root/usr/share:/usr/share /usr/share \
  && exec $root/usr/bin/node node_modules/@soketi/soketi/bin/server.js start"
