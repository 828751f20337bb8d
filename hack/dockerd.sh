#!/usr/bin/env bash
# dockerd.sh start|stop|status|can-start: a project-owned Docker engine.
#
# start      When a Docker engine already answers (`docker info`), use it and
#            start nothing. Otherwise (root on Debian only) install docker.io
#            through hack/deps.sh and run dockerd in the background with all
#            its state under .cache/docker (data root, exec root, pid file,
#            socket, log, key) and no host networking change: no bridge, no
#            iptables (containers use --network host). Storage driver overlay2,
#            vfs when overlay2 does not start. Prints `export DOCKER_HOST=…`.
# stop       SIGTERM the dockerd this script started (pid file), SIGKILL after
#            a timeout, together with its containerd and shims; unmount what it
#            left mounted, remove the socket and the host folders it created.
#            Idempotent. Leaves the engine running while another shell that
#            called start is still alive (--force stops it anyway).
# status     Which engine answers, if any (exit 0 when one does).
# can-start  Cheap check for test plans: exit 0 when an engine answers or can
#            be started here, else print why and exit 1. The first check on a
#            host with dockerd installed starts and stops it once; the verdict
#            is kept per kernel and dockerd version.
source "$(dirname "$0")/lib.sh"

DIR="$CACHE/docker"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
LOG="$DIR/dockerd.log"
DATA="$DIR/data"
EXEC="$DIR/exec"
USERS="$DIR/users"          # pids of the shells that called start
CREATED="$DIR/host-created" # host folders dockerd created (removed on stop)
VERDICT="$DIR/verdict"      # "<kernel> <dockerd version>" then ok | fail: why
START_TIMEOUT=${DOCKERD_START_TIMEOUT:-30}
STOP_TIMEOUT=${DOCKERD_STOP_TIMEOUT:-25}
read -r -a DRIVERS <<<"${DOCKERD_STORAGE_DRIVERS:-overlay2 vfs}" # tried in order
# Folders outside .cache that dockerd/containerd/libmount create with fixed paths.
HOST_DIRS=(/run/docker /run/containerd /run/mount /etc/docker)

# A unix socket path is limited to 107 bytes; containerd's ttrpc socket is the
# longest one below the exec root. Deep checkouts use a short folder in /tmp.
if [ $((${#EXEC} + 35)) -gt 107 ]; then
  EXEC="/tmp/platform-docker.$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
fi

log() { printf 'dockerd: %s\n' "$*" >&2; }
now() { printf '%s' "${EPOCHREALTIME/[,.]/}"; } # microseconds
secs() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1e6 }'; }

dockerd_bin() { command -v dockerd 2>/dev/null || { [ -x /usr/sbin/dockerd ] && echo /usr/sbin/dockerd; } || true; }
verdict_key() {
  local d v=none
  d=$(dockerd_bin)
  [ -n "$d" ] && v=$("$d" --version 2>/dev/null | tr ' ' _)
  printf '%s %s' "$(uname -r)" "$v"
}

# own_pid prints the pid of the dockerd this script started, if it still runs.
own_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  is_ours "$pid" dockerd
  echo "$pid"
}
# is_ours PID COMM: PID runs COMM and its command line names this project's
# socket or exec root (guards against a recycled pid).
is_ours() {
  [[ "$1" =~ ^[0-9]+$ ]] && [ -r "/proc/$1/cmdline" ] || return 1
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
  tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -e "$SOCK" -e "$EXEC/"
}
own_answers() { [ -S "$SOCK" ] && docker -H "unix://$SOCK" version >/dev/null 2>&1; }
other_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

# why_not prints why no engine can be started here (empty: it can).
why_not() {
  [ "$(uname -s)" = Linux ] || { echo "not Linux (dockerd runs on Linux only)"; return; }
  [ "$(id -u)" = 0 ] || { echo "not root (dockerd needs root; rootless Docker is not set up by this project)"; return; }
  if [ -z "$(dockerd_bin)" ] && ! { [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; }; then
    echo "dockerd is not installed and this is not Debian (install Docker with your OS packages)"
    return
  fi
  if [ -f "$VERDICT" ] && [ "$(head -n1 "$VERDICT")" = "$(verdict_key)" ]; then
    local v
    v=$(sed -n 2p "$VERDICT")
    [ "$v" = ok ] || echo "dockerd does not start on this host: ${v#fail: } (log: $LOG; delete $VERDICT to retry)"
  fi
}

record_verdict() { mkdir -p "$DIR" && printf '%s\n%s\n' "$(verdict_key)" "$1" >"$VERDICT"; }

add_user() {
  mkdir -p "$USERS"
  [ "$1" -gt 1 ] 2>/dev/null && : >"$USERS/$1"
  return 0
}
# live_users prints the registered shells still alive (dead ones are dropped).
live_users() {
  local f p
  [ -d "$USERS" ] || return 0
  for f in "$USERS"/*; do
    [ -e "$f" ] || continue
    p=${f##*/}
    if kill -0 "$p" 2>/dev/null; then echo "$p"; else rm -f "$f"; fi
  done
}

export_line() { echo "export DOCKER_HOST=unix://$SOCK"; }

# launch DRIVER: run dockerd in its own session, logs to $LOG; wait until the
# socket answers. Returns 1 (process gone or timed out, then killed) on failure.
launch() {
  local driver=$1 bin pid deadline
  bin=$(dockerd_bin)
  printf '\n==== %s dockerd --storage-driver %s\n' "$(date -u +%FT%TZ)" "$driver" >>"$LOG"
  setsid "$bin" \
    --data-root "$DATA" --exec-root "$EXEC" --pidfile "$PIDFILE" \
    -H "unix://$SOCK" --config-file "$DIR/daemon.json" \
    --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --userland-proxy=false --storage-driver "$driver" --shutdown-timeout 10 \
    </dev/null >>"$LOG" 2>&1 9>&- &
  pid=$!
  deadline=$(($(now) + START_TIMEOUT * 1000000))
  while [ "$(now)" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      return 1
    fi
    if own_answers; then
      # dockerd writes the pid file itself; make sure it names this process.
      echo "$pid" >"$PIDFILE"
      return 0
    fi
    sleep 0.2
  done
  log "no answer on $SOCK after ${START_TIMEOUT}s"
  echo "$pid" >"$PIDFILE"
  stop_engine
  return 1
}

start() {
  local pid t0 why driver
  mkdir -p "$DIR"
  exec 9>"$DIR/lock"
  flock -w 120 9 || die "dockerd: another start/stop holds $DIR/lock"
  if pid=$(own_pid) && own_answers; then
    add_user "$PPID"
    log "already running (pid $pid)"
    export_line
    return 0
  fi
  if other_answers; then
    log "a Docker engine already answers (${DOCKER_HOST:-default context}); starting none"
    echo "# using the Docker engine that already answers"
    return 0
  fi
  why=$(why_not)
  [ -z "$why" ] || die "dockerd: cannot start: $why"
  bash "$ROOT/hack/deps.sh" docker >&2 || die "dockerd: cannot start: installing docker.io failed"
  [ -n "$(dockerd_bin)" ] || die "dockerd: cannot start: dockerd missing after installing docker.io"
  # Stale state of an engine that died: stop whatever is left of it.
  if [ -f "$PIDFILE" ] || [ -e "$SOCK" ]; then stop_engine; fi
  : >"$CREATED"
  for d in "${HOST_DIRS[@]}" "$EXEC"; do
    [ -e "$d" ] || echo "$d" >>"$CREATED"
  done
  mkdir -p "$DATA"
  # Own config file: no host /etc/docker/daemon.json is read, and the engine key
  # (otherwise /etc/docker/key.json) stays under .cache/docker.
  printf '{ "deprecated-key-path": "%s" }\n' "$DIR/key.json" >"$DIR/daemon.json"
  t0=$(now)
  for driver in "${DRIVERS[@]}"; do
    if launch "$driver"; then
      add_user "$PPID"
      record_verdict ok
      log "up in $(secs $(($(now) - t0))) s (pid $(cat "$PIDFILE"), storage driver $driver, log $LOG)"
      export_line
      return 0
    fi
    why=$(grep -E 'failed to start|level=fatal' "$LOG" | tail -n 1 | cut -c1-300 || true)
    log "storage driver $driver did not start: ${why:-$(tail -n 1 "$LOG" | cut -c1-300)}"
    stop_engine
    : >"$CREATED"
    for d in "${HOST_DIRS[@]}" "$EXEC"; do
      [ -e "$d" ] || echo "$d" >>"$CREATED"
    done
  done
  why=$(grep -E 'level=(fatal|error)|failed to start' "$LOG" | tail -n 1 | cut -c1-300 || true)
  record_verdict "fail: ${why:-dockerd exited or did not answer}"
  die "dockerd: failed to start (log: $LOG)"
}

# running PID: the process exists and is not a zombie.
running() { kill -0 "$1" 2>/dev/null && [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; }

# signal_wait SIG TIMEOUT PID...: send SIG to the PIDs, wait up to TIMEOUT s
# for them to exit. Returns 1 if any is left.
signal_wait() {
  local sig=$1 timeout=$2 p left deadline
  shift 2
  for p in "$@"; do kill "-$sig" "$p" 2>/dev/null || true; done
  deadline=$(($(now) + timeout * 1000000))
  while :; do
    left=0
    for p in "$@"; do running "$p" && left=1; done
    [ $left = 0 ] && return 0
    [ "$(now)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# start_time PID: the process start time (field 22 of /proc/PID/stat), which
# tells a process from a later one that got the same pid.
start_time() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
descendants() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

# stop_engine: stop the project's dockerd and everything it started.
stop_engine() {
  local pid="" p c kids=() procs=() alive=()
  if [ -f "$PIDFILE" ]; then
    p=$(cat "$PIDFILE" 2>/dev/null || true)
    if is_ours "$p" dockerd; then pid=$p; else log "stale pid file (pid ${p:-?} is not this project's dockerd): removed"; fi
  fi
  # containerd started by dockerd, runc shims started by that containerd, and
  # the container processes below the shims (pid:start-time).
  for p in $(ps -e -o pid= -o comm= | awk '$2 == "containerd" || $2 ~ /^containerd-shim/ { print $1 }'); do
    if is_ours "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; then
      kids+=("$p")
      case "$(cat "/proc/$p/comm" 2>/dev/null)" in
      containerd-shim*) for c in $(descendants "$p"); do procs+=("$c:$(start_time "$c")"); done ;;
      esac
    fi
  done
  if [ -n "$pid" ]; then
    # dockerd stops the containers (--shutdown-timeout 10), then its containerd.
    if ! signal_wait TERM "$STOP_TIMEOUT" "$pid"; then
      log "dockerd (pid $pid) still running after ${STOP_TIMEOUT}s: SIGKILL"
      signal_wait KILL 5 "$pid" || log "dockerd (pid $pid) survived SIGKILL"
    fi
    log "stopped dockerd (pid $pid)"
  fi
  # Whatever is left: container processes first (SIGKILL), then shims and
  # containerd (SIGTERM, then SIGKILL).
  for p in "${procs[@]}"; do
    if [ -n "${p#*:}" ] && [ "$(start_time "${p%%:*}")" = "${p#*:}" ]; then alive+=("${p%%:*}"); fi
  done
  if [ ${#alive[@]} -gt 0 ]; then
    signal_wait KILL 5 "${alive[@]}" || true
    log "killed container pids ${alive[*]}"
  fi
  alive=()
  for p in "${kids[@]}"; do
    if is_ours "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; then alive+=("$p"); fi
  done
  if [ ${#alive[@]} -gt 0 ]; then
    signal_wait TERM 10 "${alive[@]}" || signal_wait KILL 5 "${alive[@]}" || true
    log "stopped containerd/shim pids ${alive[*]}"
  fi
  # Mounts left below the state folders (netns, overlay, the data-root bind), deepest first.
  awk -v a="$DIR/" -v b="$EXEC/" -v c="$DATA" \
    'index($5, a) == 1 || index($5, b) == 1 || $5 == c { print length($5), $5 }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2 | while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "could not unmount $mnt"
  done
  rm -f "$SOCK" "$PIDFILE" "$DIR/docker.sock.lock"
  # Host folders that did not exist before start: removed when left empty.
  if [ -f "$CREATED" ]; then
    while read -r d; do
      if [ -z "$d" ] || ! [ -d "$d" ]; then continue; fi
      [ "$d" = "$EXEC" ] && [ "${EXEC#"$DIR"/}" != "$EXEC" ] && continue
      find "$d" -depth -type d -empty -delete 2>/dev/null || true
      [ -e "$d" ] && log "left $d (not empty)"
    done <"$CREATED"
    rm -f "$CREATED"
  fi
  return 0
}

stop() {
  local force=0 users
  [ "${1:-}" = --force ] && force=1
  mkdir -p "$DIR"
  exec 9>"$DIR/lock"
  flock -w 120 9 || die "dockerd: another start/stop holds $DIR/lock"
  rm -f "$USERS/$PPID" "$USERS/$$" # $$: a shell that exec'd this script as its last command
  if ! [ -f "$PIDFILE" ] && ! [ -e "$SOCK" ] && ! [ -f "$CREATED" ]; then
    log "not running (nothing started by this project)"
    return 0
  fi
  users=$(live_users | tr '\n' ' ')
  if [ -n "$users" ] && [ $force = 0 ] && own_pid >/dev/null; then
    log "still used by shell pid(s) ${users% }; leaving it running (stop --force stops it anyway)"
    return 0
  fi
  stop_engine
  rm -rf "$USERS"
}

status() {
  local pid
  if pid=$(own_pid) && own_answers; then
    say "dockerd: project engine running (pid $pid, storage driver $(docker -H "unix://$SOCK" info -f '{{.Driver}}' 2>/dev/null))"
    export_line
    return 0
  fi
  [ -f "$PIDFILE" ] && say "dockerd: stale pid file $PIDFILE (run: bash hack/dockerd.sh stop)"
  if other_answers; then
    say "dockerd: a Docker engine already answers (${DOCKER_HOST:-default context})"
    return 0
  fi
  say "dockerd: no Docker engine answers"
  return 3
}

can_start() {
  local why
  if own_answers || other_answers; then
    log "can start: an engine already answers"
    return 0
  fi
  why=$(why_not)
  if [ -n "$why" ]; then
    log "cannot start: $why"
    return 1
  fi
  if [ -n "$(dockerd_bin)" ] && ! { [ -f "$VERDICT" ] && [ "$(head -n1 "$VERDICT")" = "$(verdict_key)" ]; }; then
    # First check with this kernel and dockerd: try it once.
    if (start >/dev/null 2>&1); then
      (stop --force >/dev/null 2>&1) || true
    fi
    why=$(why_not)
    if [ -n "$why" ]; then
      log "cannot start: $why"
      return 1
    fi
  fi
  log "can start (root on Debian; docker.io from: bash hack/deps.sh docker)"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
status) status ;;
can-start) can_start ;;
*) die "usage: dockerd.sh start|stop [--force]|status|can-start" ;;
esac
