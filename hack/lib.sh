# shellcheck shell=bash
# Shared helpers for the scripts behind Taskfile.yml. Source it; do not run it.
set -euo pipefail

ROOT="${PLATFORM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CACHE="${PLATFORM_CACHE:-$ROOT/.cache}"
BIN="$CACHE/bin"
TF_DIR="$CACHE/terraform"
export MIRROR="$TF_DIR/mirror"
export TF_CLI_CONFIG_FILE="$TF_DIR/terraformrc"
export PATH="$BIN:$PATH"
# Every module builds on its own, as under `go tool task` (the root Taskfile
# sets the same): the root go.work is for editors and commands typed at the
# root, and the tools modules under test/tools are outside it.
export GOWORK=off
mkdir -p "$BIN"

say() { printf '%s\n' "$*"; }
die() { printf '%s\n' "$*" >&2; exit 1; }

# Go modules of the repository that hold Go code (skips tool wrapper modules,
# front-end node_modules and caches).
go_modules() {
  find "$ROOT" \( -name node_modules -o -name .cache -o -name .git -o -name .terraform -o -name testdata \) -prune -o \
    -name go.mod -print | sort | while read -r mod; do
    dir=$(dirname "$mod")
    if find "$dir" \( -name node_modules -o -name .cache \) -prune -o -name '*.go' -print -quit | grep -q .; then
      echo "$dir"
    fi
  done
}

# Terraform folders that the static tier checks: every module and every
# environment root.
tf_roots() {
  for d in "$ROOT"/modules/* "$ROOT"/environments/*; do
    [ -d "$d" ] || continue
    ls "$d"/*.tf >/dev/null 2>&1 && echo "$d"
  done
  return 0
}

sha() { sha256sum "$@" | sha256sum | cut -c1-16; }
