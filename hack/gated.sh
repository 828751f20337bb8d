#!/usr/bin/env bash
# gated.sh kind|hcloud: run a gated Terratest suite. The suite itself SKIPs
# with the reason when its prerequisite (privileged Docker, HCLOUD_TOKEN) is
# absent, so this prints SKIP lines rather than a silent pass.
source "$(dirname "$0")/lib.sh"
suite=${1:-}
case "$suite" in
kind) run='^TestKind' ;;
hcloud) run='^TestHcloud' ;;
*) die "usage: gated.sh kind|hcloud" ;;
esac
[ -d "$ROOT/test/e2e" ] || die "test:$suite: the Terratest suites (test/e2e) are not in this checkout yet"
"$ROOT/hack/tf-mirror.sh" >/dev/null
cd "$ROOT"
go test -count=1 -timeout 90m -v -run "$run" ./test/e2e
