#!/usr/bin/env bash
# Starts a local mesh in the foreground: 2 broker shards and 2 edge nodes
# sharing one port (SO_REUSEPORT), serving the default app and the demo app,
# and the demo app server (examples/demo) beside them.
#
# Usage: run-mesh.sh BUILD_DIR [LEVEL]
#
# The terminal is for a person: the banner, the processes' warnings and errors
# (LEVEL, default warn, is the least level shown; debug also makes the
# processes log at debug), anything they print that is not a log line (a crash,
# a usage error), and one report per process that dies on its own, with the
# command that starts it again. Each process's full log goes to
# RTMESH_LOG_DIR (default BUILD_DIR/logs), one file per process, emptied at
# each start.
#
# Ctrl-C (SIGINT to the process group), SIGTERM or SIGHUP stop every process
# and print one line ("stopped: 2 brokers, 2 nodes, demo"); a second one kills
# what is still running. Exits 0, or 1 if a process died on its own (or did not
# stop cleanly).
#
# Without RTMESH_APPS_FILE the nodes get a generated apps file: the default app
# (RTMESH_APP_ID/_KEY/_SECRET, unchanged behaviour for plain clients) and the
# demo's app "demo", which allows client events (typing indicators) and
# requires user authentication. RTMESH_DEMO_APP picks another app for the demo.
#
# RTMESH_RUN_TLS=1 (make run TLS=1): the nodes also serve wss:// and https:// on
# the port, with a certificate for localhost and 127.0.0.1 signed by a CA of
# this machine's own, made once in RTMESH_TLS_DIR (default BUILD_DIR/tls) and
# kept, so that it is trusted once; the banner says how.
set -uo pipefail
usage="usage: run-mesh.sh BUILD_DIR [debug|info|warn|error]"
bin=${1:?$usage}
show=${2:-warn}
declare -A rank=([debug]=0 [info]=1 [warn]=2 [error]=3)
[ -n "${rank[$show]:-}" ] || { echo "$usage" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
port=${RTMESH_PORT:-6001}
demo_port=${RTMESH_DEMO_PORT:-8080}
brokers=${RTMESH_BROKERS:-tcp://127.0.0.1:7100,tcp://127.0.0.1:7102}
app_id=${RTMESH_APP_ID:-app-id} app_key=${RTMESH_APP_KEY:-app-key}
app_secret=${RTMESH_APP_SECRET:-app-secret}
logs=${RTMESH_LOG_DIR:-$bin/logs}
tls_dir=${RTMESH_TLS_DIR:-$bin/tls}
# Ctrl-C here means now: no drain period (it is for load balancers, docs/operations.md).
export RTMESH_DRAIN_SECONDS=${RTMESH_DRAIN_SECONDS:-0}
[ "$show" = debug ] && export RTMESH_LOG_LEVEL=${RTMESH_LOG_LEVEL:-debug}

# The processes, by index: pids[i] runs commands[i] (how to start it again),
# is called names[i] (its log is $logs/names[i].log) and is a kinds[i].
pids=() names=() kinds=() commands=()
stopped=() # the kinds of the processes that stopped when told to
stopping=0 failed=0
tailer='' shower='' # the two halves of the terminal: tail -F, and show_lines reading it
tmp=$(mktemp -d)
mkdir -p "$logs" || exit 1

# ---- the terminal ----------------------------------------------------------

# Reads `tail -F` of the log files and prints, after its process's name, each
# line that is not a log line and each log line at $show or above (a log line
# without a level, like the demo's, counts as info). The time stamps stay in
# the files.
show_lines() {
  local name='' line level
  while IFS= read -r line; do
    case $line in
      '==> '*' <==') name=${line%.log <==} name=${name##*/} ;;
      '') ;;
      ts=*)
        level=info
        [[ $line =~ \ level=([a-z]+)\  ]] && level=${BASH_REMATCH[1]}
        ((${rank[$level]:-1} >= ${rank[$show]})) && printf '%s: %s\n' "$name" "${line#ts=* }"
        ;;
      *) printf '%s: %s\n' "$name" "$line" ;;
    esac
  done
}

# Starts following every process's log file on the terminal (stderr).
follow_logs() {
  local files=("$@")
  mkfifo "$tmp/terminal"
  show_lines <"$tmp/terminal" >&2 &
  shower=$!
  tail -F -n +1 "${files[@]/#/$logs/}" >"$tmp/terminal" 2>/dev/null &
  tailer=$!
}

# Stops following, after what was already read is printed: once a stop has
# begun, what the processes log about it is news to no one.
stop_following() {
  [ -n "$tailer" ] || return
  kill "$tailer" 2>/dev/null
  wait "$tailer" "$shower" 2>/dev/null
  tailer='' shower=''
}

# ---- the processes ---------------------------------------------------------

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

# launch NAME OUT COMMAND...: runs COMMAND in the background, its stdout
# appended to the file OUT and its stderr to NAME's log; sets launched to its
# pid and relaunch to the shell command that starts it again from another
# terminal (with the environment it needs, all its output to its log).
launch() {
  local name=$1 out=$2 var env=()
  shift 2
  "$@" >>"$out" 2>>"$logs/$name.log" &
  launched=$!
  for var in RTMESH_APPS_FILE RTMESH_LOG_LEVEL RTMESH_TLS_CERT RTMESH_TLS_KEY; do
    [ -n "${!var:-}" ] && env+=("$var=${!var}")
  done
  relaunch="$(shell_words "${env[@]}" "$@")>>$(shell_words "$logs/$name.log")2>&1"
}

# Prints each argument as a shell word and a space, quoted only if it must be.
shell_words() {
  local word
  for word in "$@"; do
    if [[ $word =~ ^[A-Za-z0-9_./:,=@%+-]+$ ]]; then printf '%s ' "$word"; else printf '%q ' "$word"; fi
  done
}

# track NAME KIND: from now on launched is one of the mesh's processes.
track() {
  pids+=("$launched") names+=("$1") kinds+=("$2") commands+=("$relaunch")
}

exit_status() {
  if (($1 > 128)); then echo "was killed by SIG$(kill -l $(($1 - 128)))"; else echo "exited with status $1"; fi
}

# reaped PID STATUS: process PID exited with STATUS; reports it unless it was told to stop.
reaped() {
  local i log
  for i in "${!pids[@]}"; do
    [ "${pids[$i]}" = "$1" ] || continue
    log="$logs/${names[$i]}.log"
    if ((stopping && $2 == 0)); then
      stopped+=("${kinds[$i]}")
    elif ((stopping)); then
      echo "${names[$i]} $(exit_status "$2") while stopping; its log: $log" >&2
      failed=1
    else
      echo "${names[$i]} $(exit_status "$2"); the rest keep running. Its log: $log. To start it again:" >&2
      echo "  ${commands[$i]}" >&2
      failed=1
    fi
    unset "pids[$i]" "names[$i]" "kinds[$i]" "commands[$i]"
  done
}

# Collects the processes that are gone; returns 1 if there were none. wait -n
# does not see those bash has reaped and forgotten on its own (it does when it
# starts another process, or waits for one); wait PID still has their status.
reap_gone() {
  local pid gone=1
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && continue
    wait "$pid" 2>/dev/null
    reaped "$pid" $?
    gone=0
  done
  return $gone
}

# ---- TLS (RTMESH_RUN_TLS=1) -----------------------------------------------

# Makes what is missing or expires within a day in $tls_dir: the local CA
# (ca.crt, ca.key) and the nodes' certificate (node.crt: it and the CA; node.key).
make_tls() {
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  mkdir -p "$tls_dir" && chmod 700 "$tls_dir" && cd "$tls_dir" || return 1
  if ! openssl x509 -checkend 86400 -noout -in ca.crt >/dev/null 2>&1; then
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 825 \
      -subj "/CN=rtmesh make run CA ($(hostname))" 2>/dev/null || return 1
    rm -f node.crt
  fi
  openssl x509 -checkend 86400 -noout -in node.crt >/dev/null 2>&1 && return 0
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' >node.ext
  openssl req "${ec[@]}" -keyout node.key -out node.csr -subj /CN=localhost 2>/dev/null &&
    openssl x509 -req -in node.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
      -days 365 -extfile node.ext -out node.leaf 2>/dev/null &&
    cat node.leaf ca.crt >node.crt && rm -f node.csr node.ext node.leaf
}
# The banner's lines about TLS (after the metrics line).
tls_banner() {
  local ca=$tls_dir/ca.crt
  cat <<MSG

  TLS        wss://localhost:$port/app/$app_key and https://localhost:$port on the same port
             (pusher-js: wsHost 'localhost', wssPort $port, forceTLS true), signed by the local
             CA $ca; trust it once: Node NODE_EXTRA_CA_CERTS=$ca, curl --cacert $ca,
             Debian: sudo cp $ca /usr/local/share/ca-certificates/rtmesh-dev.crt && sudo update-ca-certificates,
             Chromium: certutil -d sql:\$HOME/.pki/nssdb -A -t C,, -n rtmesh-dev -i $ca
MSG
}
tls_lines=
if [ "${RTMESH_RUN_TLS:-0}" = 1 ]; then
  (make_tls) || {
    echo "run-mesh.sh: cannot make the TLS certificate in $tls_dir (is openssl installed?)" >&2
    rm -rf "$tmp"
    exit 1
  }
  export RTMESH_TLS_CERT=$tls_dir/node.crt RTMESH_TLS_KEY=$tls_dir/node.key
  tls_lines=$(tls_banner)
fi

shards=$(tr ',' '\n' <<<"$brokers" | wc -l)
files=()
for ((i = 0; i < shards; i++)); do files+=("broker-$i.log"); done
files+=(node-0.log node-1.log demo.log)
for f in "${files[@]}"; do : >"$logs/$f"; done
follow_logs "${files[@]}"

# The first signal stops every process (the loop at the end collects them),
# a second kills what is left.
# shellcheck disable=SC2317 # run by trap
on_signal() {
  local signal=TERM
  ((stopping)) && signal=KILL
  stopping=1
  stop_following
  ((${#pids[@]})) && kill -"$signal" "${pids[@]}" 2>/dev/null
}
trap on_signal INT TERM HUP
# Whatever ends the script ends what it started.
trap 'stop_following; ((${#pids[@]})) && kill -KILL "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT

for ((i = 0; i < shards; i++)); do
  launch "broker-$i" "$logs/broker-$i.log" "$bin/broker/rtmesh-broker" --shard "$i" --brokers "$brokers"
  track "broker-$i" broker
done
for i in 0 1; do
  launch "node-$i" "$logs/node-$i.log" "$bin/node/rtmesh-node" --port "$port" --brokers "$brokers"
  track "node-$i" node
done

ready=0
for _ in $(seq 50); do
  ((stopping)) && break
  curl -fs --max-time 1 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && ready=1 && break
  reap_gone # one that failed to start
  ((${#pids[@]} == shards + 2)) || break
  sleep 0.2
done
((stopping)) || reap_gone

# The demo needs Node.js and its npm packages (installed once with npm ci); the
# mesh runs without it, and a demo that cannot start leaves the mesh running.
demo=
start_demo() {
  local dir=$root/examples/demo
  command -v node >/dev/null || { demo="not started: Node.js is not installed"; return; }
  if [[ ! -d $dir/node_modules || $dir/node_modules -ot $dir/package-lock.json ]]; then
    echo "installing the demo's npm packages (npm ci)…" >&2
    if ! (cd "$dir" && npm ci --no-audit --no-fund >&2 && touch node_modules); then
      demo="not started: npm ci failed in $dir (output above)"
      return
    fi
  fi
  # Its address is on stdout, its log on stderr.
  launch demo "$tmp/demo.out" env RTMESH_DEMO_APP="${RTMESH_DEMO_APP:-}" \
    RTMESH_DEMO_PORT="$demo_port" RTMESH_DEMO_MESH="http://127.0.0.1:$port" node "$dir/server.js"
  for _ in $(seq 50); do
    ((stopping)) && break
    demo=$(sed -n 's/^demo listening on //p' "$tmp/demo.out")
    if [ -n "$demo" ]; then
      track demo demo
      demo="$demo   chat, dashboard, notifications; mesh status at /status"
      return
    fi
    kill -0 "$launched" 2>/dev/null || break
    sleep 0.2
  done
  kill "$launched" 2>/dev/null
  wait "$launched" 2>/dev/null
  demo="not started (its error is above)"
}
((stopping)) || start_demo

state="is running"
((ready)) || state="is not ready (its nodes do not answer /readyz; see above)"
case $show in
  warn) shown="warnings and errors (make run LOG=info shows every line)" ;;
  error) shown="errors only (LOG=error)" ;;
  *) shown="every line at $show and above (LOG=$show)" ;;
esac
((stopping)) || cat <<MSG

rtmesh $state: $shards broker shards, 2 edge nodes on port $port.
  demo       $demo
  WebSocket  ws://127.0.0.1:$port/app/$app_key   (pusher-js: wsHost 127.0.0.1, wsPort $port,
                                                       forceTLS false, enabledTransports ['ws'], cluster 'mt1')
  REST API   http://127.0.0.1:$port/apps/$app_id/events  (app id $app_id, key $app_key,
                                                       secret $app_secret)
  metrics    http://127.0.0.1:$port/metrics$tls_lines
  logs       $logs/  (${files[*]})
             shown here: $shown
Ctrl-C stops it.
MSG

# ---- until every process has exited ----------------------------------------

# wait -n sees a process that dies from the moment reap_gone last looked at it:
# a pass that found none started nothing.
while ((${#pids[@]})); do
  reap_gone && continue
  unset exited
  wait -n -p exited "${pids[@]}" 2>/dev/null # not bash's own "Killed" line: ours follows
  status=$?
  [ -n "${exited:-}" ] && reaped "$exited" "$status" # else a signal woke it: on_signal ran
done

if ((!stopping)); then
  stop_following
  echo "every process exited" >&2
  exit 1
fi
# "stopped: 2 brokers, 2 nodes, demo"
stopped_summary() {
  local kind k n part text=
  for kind in broker node demo; do
    n=0
    for k in "${stopped[@]}"; do [ "$k" = "$kind" ] && n=$((n + 1)); done
    ((n)) || continue
    if [ "$kind" = demo ]; then part=demo; elif ((n == 1)); then part="1 $kind"; else part="$n ${kind}s"; fi
    text+=${text:+, }$part
  done
  echo "${text:-nothing}"
}
echo "stopped: $(stopped_summary)"
exit "$failed"
