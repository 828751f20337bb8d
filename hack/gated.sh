#!/usr/bin/env bash
# gated.sh kind|hcloud: run a gated Terratest suite (test/e2e, docs/e2e.md)
# verbosely. The suite decides whether it can run and SKIPs with the reason
# when its prerequisite is absent, so this prints a SKIP line rather than a
# silent pass:
#   kind    PLATFORM_KIND=1 and a Docker engine that answers `docker info`
#           (and allows privileged containers). Asking for test:kind is the
#           opt-in, so PLATFORM_KIND defaults to 1 here; PLATFORM_KIND=0
#           turns it off.
#   hcloud  HCLOUD_TOKEN (TF_VAR_sops_age_key optional: the app checks).
# The Terraform provider mirror is prepared only when the suite will run.
source "$(dirname "$0")/lib.sh"
suite=${1:-}
case "$suite" in
kind)
  run='^TestKind'
  export PLATFORM_KIND="${PLATFORM_KIND:-1}"
  ready() { [ "$PLATFORM_KIND" = 1 ] && command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; }
  ;;
hcloud)
  run='^TestHcloud'
  ready() { [ -n "${HCLOUD_TOKEN:-}" ]; }
  ;;
*) die "usage: gated.sh kind|hcloud" ;;
esac
[ -d "$ROOT/test/e2e" ] || die "test:$suite: the Terratest suites (test/e2e) are not in this checkout yet"
cd "$ROOT"
if ready; then
  "$ROOT/hack/tf-mirror.sh" >/dev/null
else
  say "test:$suite: prerequisites absent; the suite names them in its SKIP line"
fi
go test -count=1 -timeout 90m -v -run "$run" ./test/e2e
