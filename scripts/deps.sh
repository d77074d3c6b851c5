#!/usr/bin/env bash
# Installs the Debian packages rtmesh needs to build, run and test.
# As root it installs what is missing (apt-get); otherwise it prints the exact
# apt-get line and fails, so nothing is half-installed behind the user's back.
set -euo pipefail

packages=(build-essential cmake pkg-config clang-format curl
          libzmq3-dev libczmq-dev libmsgpack-dev libuv1-dev libhttp-parser-dev libjansson-dev
          libssl-dev openssl libsodium-dev libcmocka-dev libxxhash-dev uthash-dev libcurl4-openssl-dev
          zlib1g-dev
          python3-zmq python3-msgpack # client/examples/feed.py, run by the CURVE test
          iproute2 iptables) # the last two: network namespaces of the multi-host test
# --with-node: Node.js for the demo and the Node suites; --with-browser: Chromium for the
# demo's browser tests (make test only; make run does not need it); --with-fuzz: clang's
# libFuzzer for make fuzz.
for flag in "$@"; do
  case "$flag" in
    --with-node) command -v npm >/dev/null || packages+=(nodejs npm) ;;
    --with-browser)
      packages+=(chromium fonts-dejavu-core libnss3-tools) # certutil: a test CA in its trust store
      ;;
    --with-fuzz) packages+=(clang libclang-rt-14-dev) ;; # libFuzzer and its sanitizers
    *) echo "usage: $0 [--with-node] [--with-browser] [--with-fuzz]" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "rtmesh needs these Debian packages; run as root:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
