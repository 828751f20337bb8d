#!/usr/bin/env bash
# lint.sh CHECK: one static check over the whole repository. Any finding
# fails and names the file.
#   gofmt       gofmt -l on every Go module
#   vet         go vet on every Go module
#   tf-fmt      terraform fmt -check -recursive
#   tf-validate terraform init (through the mirror) + validate of every root
#   tflint      tflint with the bundled ruleset on modules/ and environments/
#   actionlint  actionlint (pinned in test/tools/actionlint) on .github/workflows
#   shell       shellcheck on hack/*.sh and .ci/run
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

case "${1:-}" in
gofmt)
  out=$(find "$ROOT" \( -name node_modules -o -name .cache -o -name .git -o -name testdata \) -prune -o \
    -name '*.go' -print0 | xargs -0 -r gofmt -l)
  if [ -n "$out" ]; then
    say "gofmt: these files are not formatted (run: go tool task fmt):"
    say "$out" | sed "s|^$ROOT/|  |"
    exit 1
  fi
  say "gofmt: ok"
  ;;
vet)
  rc=0
  for d in $(go_modules); do
    rel=${d#"$ROOT"}; rel=${rel#/}
    (cd "$d" && go vet ./...) || { say "go vet: findings in ${rel:-.}"; rc=1; }
  done
  exit $rc
  ;;
tf-fmt)
  dirs=()
  for d in modules environments provider test; do [ -d "$d" ] && dirs+=("$d"); done
  [ ${#dirs[@]} -gt 0 ] || { say "terraform fmt: no Terraform files"; exit 0; }
  rc=0
  for d in "${dirs[@]}"; do
    out=$(terraform fmt -check -recursive -list=true "$d") || rc=1
    [ -z "$out" ] || { say "terraform fmt: not formatted (run: go tool task fmt):"; say "$out" | sed 's/^/  /'; rc=1; }
  done
  exit $rc
  ;;
tf-validate)
  rc=0 n=0
  for d in $(tf_roots); do
    n=$((n + 1))
    rel=${d#"$ROOT"/}
    if ! out=$(cd "$d" && terraform init -backend=false -input=false -no-color 2>&1); then
      say "terraform init failed in $rel:"; say "$out" | tail -20; rc=1; continue
    fi
    if ! out=$(cd "$d" && terraform validate -no-color 2>&1); then
      say "terraform validate failed in $rel:"; say "$out"; rc=1
    fi
  done
  [ $rc -ne 0 ] || say "terraform validate: $n roots ok"
  exit $rc
  ;;
tflint)
  "$ROOT/hack/build-tool.sh" tflint "$ROOT/test/tools/tflint" github.com/terraform-linters/tflint
  rc=0 n=0
  for d in $(tf_roots); do
    n=$((n + 1))
    tflint --chdir="$d" --config="$ROOT/.tflint.hcl" --format=compact || { say "tflint: findings in ${d#"$ROOT"/}"; rc=1; }
  done
  [ $rc -ne 0 ] || say "tflint: $n roots ok"
  exit $rc
  ;;
actionlint)
  ls .github/workflows/*.y*ml >/dev/null 2>&1 || { say "actionlint: no workflows"; exit 0; }
  # actionlint is a Go tool of its own pinned module (its YAML library must not
  # be upgraded by the root module's dependency graph).
  go -C "$ROOT/test/tools/actionlint" tool actionlint -color=false "$ROOT"/.github/workflows/*.y*ml &&
    say "actionlint: ok"
  ;;
shell)
  if ! command -v shellcheck >/dev/null; then die "shellcheck is missing: go tool task deps"; fi
  shellcheck -x -P hack hack/*.sh .ci/run && say "shellcheck: ok"
  ;;
*)
  die "usage: lint.sh gofmt|vet|tf-fmt|tf-validate|tflint|actionlint|shell"
  ;;
esac
