#!/usr/bin/env bash
# build.sh: builds CoreDNS from this tools module into
# $PLATFORM_CACHE/coredns/<version>/coredns (default .cache/coredns/v1.15.0),
# static (CGO_ENABLED=0), stripped, with the grpcnotrace tag, as CoreDNS's own
# Makefile builds it.
# Cached by the version and a hash of go.mod + go.sum + this script: a second
# run returns at once. A lock (flock) makes concurrent callers wait for one
# build. Progress goes to stderr; the binary's path is the last stdout line.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache="${PLATFORM_CACHE:-$root/.cache}"
version=v1.15.0
out="$cache/coredns/$version"
key=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
stamp="$out/.key"

fresh() {
  [ -x "$out/coredns" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]
}

mkdir -p "$out"
if fresh; then echo "$out/coredns"; exit 0; fi

exec 9>"$out/.lock"
if ! flock -n 9; then
  echo "coredns:build: another build is running; waiting for it" >&2
  flock 9
fi
if fresh; then echo "$out/coredns"; exit 0; fi

export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOWORK=off CGO_ENABLED=0 GOOS=linux GOARCH=amd64
echo "coredns:build: building CoreDNS $version from module source (cold: several minutes on 2 cores)" >&2
start=$(date +%s)
go build -C "$here" -trimpath -tags grpcnotrace \
  -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$version" \
  -o "$out/coredns.tmp" github.com/coredns/coredns
mv "$out/coredns.tmp" "$out/coredns"
echo "$key" >"$stamp"
echo "coredns:build: built in $(($(date +%s) - start))s into $out" >&2
echo "$out/coredns"
