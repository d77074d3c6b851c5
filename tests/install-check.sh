#!/usr/bin/env bash
# `cmake --install` of a build tree into a scratch prefix, then an application built against
# what it installed, as a user would: client/examples/feed.c with `pkg-config rtmesh`, once
# against the shared library (and its SONAME) and once statically. The binaries must be there
# too. Usage: tests/install-check.sh BUILD_DIR [EXTRA_CFLAGS] (the build's sanitizer flags).
set -euo pipefail
build=$1 extra=${2:-}
src=$(cd "$(dirname "$0")/.." && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -1)
for f in bin/rtmesh bin/rtmesh-broker bin/rtmesh-node include/rtmesh.h; do
  [[ -e $prefix/$f ]] || { echo "$0: $f not installed" >&2; exit 1; }
done
[[ -e $libdir/librtmesh.so.0 && -e $libdir/librtmesh.a && -e $libdir/pkgconfig/rtmesh.pc ]] \
  || { echo "$0: library, archive or rtmesh.pc not installed in $libdir" >&2; exit 1; }
export PKG_CONFIG_PATH=$libdir/pkgconfig
soname=$(objdump -p "$libdir/librtmesh.so" | awk '/SONAME/ {print $2}')
[[ $soname == librtmesh.so.0 ]] || { echo "$0: SONAME is '$soname'" >&2; exit 1; }
# shellcheck disable=SC2046,SC2086
cc $extra "$src/client/examples/feed.c" $(pkg-config --cflags --libs rtmesh) \
  -Wl,-rpath,"$libdir" -o "$prefix/feed-shared"
# shellcheck disable=SC2046,SC2086
cc $extra "$src/client/examples/feed.c" $(pkg-config --cflags rtmesh) \
  "$libdir/librtmesh.a" $(pkg-config --static --libs-only-l rtmesh | sed 's/-lrtmesh//') \
  -o "$prefix/feed-static"
for app in feed-shared feed-static; do
  # No broker list: the library's configuration error, exit 2, from both builds.
  set +e
  out=$(env -u RTMESH_BROKERS -u RTMESH_BROKERS_FILE "$prefix/$app" app chan 1 2>&1)
  rc=$?
  set -e
  [[ $rc -eq 2 && $out == *"brokers: none given"* ]] \
    || { echo "$0: $app: exit $rc: $out" >&2; exit 1; }
done
"$prefix/bin/rtmesh" --version
echo "install check passed: $prefix"
