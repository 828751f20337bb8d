#!/usr/bin/env bash
# Re-records the `go test -json` streams the runner's tests replay, from the
# fixture module next to this script (real output of the Go on PATH).
set -u
cd "$(dirname "$0")/fixture"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
out=../streams
for c in nested parallel panics builderr testmain skips notests; do
  go test -count=1 -json "./$c" >"$out/$c.jsonl" 2>&1
done
go test -count=1 -json -timeout 3s ./timeout >"$out/timeout.jsonl" 2>&1
go test -count=1 -json -timeout 5s ./... >"$out/all.jsonl" 2>&1
go test -run '^$' -fuzz '^FuzzUpper$' -fuzztime 2s ./fuzz >"$out/fuzz-ok.txt" 2>&1
go test -run '^$' -fuzz '^FuzzRenamed$' -fuzztime 2s ./fuzz >"$out/fuzz-nomatch.txt" 2>&1
exit 0
