#!/usr/bin/env bash
# dockerd.sh start|stop [--force]|status|can-start: the project-owned Docker
# engine; test/cmd/dockerd does the work (see its doc comment). Built, not
# `go run`, so that its exit codes and its caller (this script's parent) are
# the real ones.
source "$(dirname "$0")/lib.sh"
go build -C "$ROOT" -o "$BIN/platform-dockerd" ./test/cmd/dockerd || die "dockerd: building test/cmd/dockerd failed"
exec "$BIN/platform-dockerd" "$@"
