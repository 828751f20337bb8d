#!/usr/bin/env bash
# lint.sh CHECK: one static check over the whole repository. Any finding
# fails and names the file.
#   gofmt       gofmt -l on every Go module
#   vet         go vet on every Go module
#   golangci    golangci-lint (pinned in test/tools/golangci-lint, config
#               .golangci.yml) on every Go module but the tools wrappers
#   tf-fmt      terraform fmt -check -recursive
#   tf-validate terraform init (through the mirror) + validate of every root
#   tflint      tflint with the bundled ruleset on modules/ and environments/
#   tf-docs     every module/environment README's generated part is current
#               (hack/tf-docs.sh --check; fix with: go tool task tf:docs)
#   provider-docs  provider/docs is what tfplugindocs renders from the schema,
#               provider/examples and provider/templates (hack/provider-docs.sh
#               --check; fix with: go tool task provider:docs)
#   tf-test     terraform test in every module/environment with a tests/
#               folder (mocked providers, offline through the mirror)
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
golangci)
  v=$(go -C "$ROOT/test/tools/golangci-lint" list -m -f '{{.Version}}' github.com/golangci/golangci-lint/v2)
  "$ROOT/hack/build-tool.sh" golangci-lint "$ROOT/test/tools/golangci-lint" \
    github.com/golangci/golangci-lint/v2/cmd/golangci-lint "-X main.version=${v#v}"
  rc=0 n=0
  for d in $(go_modules); do
    rel=${d#"$ROOT"}; rel=${rel#/}
    case "$rel" in test/tools/*) continue ;; esac # wrappers around upstream code
    n=$((n + 1))
    (cd "$d" && golangci-lint run --config "$ROOT/.golangci.yml" ./...) || { say "golangci-lint: findings in ${rel:-.}"; rc=1; }
  done
  [ $rc -ne 0 ] || say "golangci-lint: $n modules ok"
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
tf-docs)
  "$ROOT/hack/tf-docs.sh" --check
  ;;
provider-docs)
  "$ROOT/hack/provider-docs.sh" --check
  ;;
tf-test)
  # Runs in a scratch copy of modules/ and environments/ (relative module
  # sources keep working) without .terraform/ or lock files: nothing is
  # written into the checkout, and no earlier lock file can fail init. Each root's own
  # summary line ("N passed, M failed") is printed as is, so the test
  # runner's tftest parser adds them up.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  for top in modules environments; do
    [ -d "$top" ] || continue
    tar -c --exclude=.terraform --exclude=.terraform.lock.hcl --exclude='*.tfstate*' "$top" | tar -x -C "$work"
  done
  # Paths that leave modules/ and environments/ (../../flux/...) still resolve.
  for x in "$ROOT"/*; do [ -e "$work/${x##*/}" ] || ln -s "$x" "$work/${x##*/}"; done
  rc=0 n=0
  for d in $(tf_roots); do
    [ -d "$d/tests" ] || continue
    n=$((n + 1))
    rel=${d#"$ROOT"/}
    say "== terraform test: $rel"
    if ! out=$(cd "$work/$rel" && terraform init -backend=false -input=false -no-color 2>&1); then
      say "terraform init failed in $rel:"; say "$out" | tail -20; rc=1; continue
    fi
    (cd "$work/$rel" && terraform test -no-color) || { say "terraform test: failures in $rel"; rc=1; }
  done
  [ $n -gt 0 ] || say "terraform test: no module with tests/"
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
  die "usage: lint.sh gofmt|vet|golangci|tf-fmt|tf-validate|tflint|tf-docs|provider-docs|tf-test|actionlint|shell"
  ;;
esac
