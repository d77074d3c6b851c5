#!/usr/bin/env bash
# Installs what the side-by-side benchmark needs to run soketi 1.6.1, without
# touching the system's Node: the npm packages pinned by package-lock.json
# (uWebSockets.js overridden to the registry build carrying the v20.10 binary
# for Node 18's ABI 108), and Debian's Node 18 unpacked with dpkg -x into
# bench/soketi/.node18/root. Idempotent; prints nothing when all is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if [[ ! -d node_modules/@soketi/soketi || node_modules -ot package-lock.json ]]; then
  npm ci --no-audit --no-fund --ignore-scripts
  touch node_modules
fi
root=$here/.node18/root
if [[ ! -x $root/usr/bin/node ]]; then
  ver=$(apt-cache policy libnode108 | awk '/Candidate:/ {print $2}')
  if [[ -z $ver || $ver == "(none)" ]]; then
    echo "setup.sh: Debian's libnode108 (Node 18) is not available from apt" >&2
    exit 1
  fi
  rm -rf .node18 && mkdir -p .node18/debs "$root"
  (cd .node18/debs && apt-get download -q "nodejs=$ver" "libnode108=$ver" node-acorn \
    node-cjs-module-lexer node-undici)
  for deb in .node18/debs/*.deb; do dpkg -x "$deb" "$root"; done
fi
