#!/usr/bin/env bash
# sandbox.sh up|down [--keep]|status: the local sandbox behind `go tool task
# up|down|status`; test/sandbox/cmd/sandbox-up does the work (see its doc
# comment). Built, not `go run`, so that its exit codes are the real ones.
source "$(dirname "$0")/lib.sh"
export PLATFORM_ROOT="$ROOT" PLATFORM_CACHE="$CACHE" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
go build -C "$ROOT" -o "$BIN/sandbox-up" ./test/sandbox/cmd/sandbox-up || die "sandbox: building test/sandbox/cmd/sandbox-up failed"
exec "$BIN/sandbox-up" "$@"
