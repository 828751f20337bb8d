#!/usr/bin/env bash
# sandbox.sh up|down|status: the local sandbox (Hetzner emulator + k3s boot
# simulation) as a background service with pid file, logs and state under
# .cache/sandbox.
source "$(dirname "$0")/lib.sh"
dir="$CACHE/sandbox"
pidfile="$dir/sandbox.pid"
cmd="$ROOT/test/sandbox/cmd/sandbox"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
up)
  [ -d "$cmd" ] || die "up: the k3s sandbox service (test/sandbox/cmd/sandbox) is not in this checkout yet; nothing was started"
  die "up: environments/sandbox is not in this checkout yet; nothing was started"
  ;;
down)
  if running; then
    pid=$(cat "$pidfile")
    kill "$pid" && say "sandbox: stopped pid $pid"
  else
    say "sandbox: not running, nothing to stop"
  fi
  rm -f "$pidfile"
  ;;
status)
  if running; then
    say "sandbox: running (pid $(cat "$pidfile")), state in $dir"
  else
    [ -f "$pidfile" ] && say "sandbox: stale pid file $pidfile (process gone)"
    say "sandbox: not running"
    exit 1
  fi
  ;;
*) die "usage: sandbox.sh up|down|status" ;;
esac
