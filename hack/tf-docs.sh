#!/usr/bin/env bash
# tf-docs.sh [--check]: the generated part of every module and environment
# README (modules/*, environments/*), between the BEGIN_TF_DOCS/END_TF_DOCS
# markers, rendered by terraform-docs with the repository's .terraform-docs.yml.
# The text outside the markers is written by hand and never touched.
#
#   tf-docs.sh          rewrite the generated part in place (a README without
#                       markers gets them appended; a missing one is created)
#   tf-docs.sh --check  render into a temporary copy of each root and diff:
#                       fails naming every stale or missing README
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

check=0
case "${1:-}" in
"") ;;
--check) check=1 ;;
*) die "usage: tf-docs.sh [--check]" ;;
esac

"$ROOT/hack/build-tool.sh" terraform-docs "$ROOT/test/tools/terraform-docs" github.com/terraform-docs/terraform-docs
config="$ROOT/.terraform-docs.yml"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rc=0 n=0
for d in $(tf_roots); do
  n=$((n + 1))
  rel=${d#"$ROOT"/}
  if [ $check -eq 0 ]; then
    [ -f "$d/README.md" ] || printf '# %s\n' "$(basename "$d")" >"$d/README.md"
    terraform-docs -c "$config" "$d" >/dev/null
    say "tf-docs: $rel/README.md"
    continue
  fi
  if [ ! -f "$d/README.md" ]; then
    say "tf-docs: $rel/README.md is missing (run: go tool task tf:docs)"
    rc=1
    continue
  fi
  if ! grep -q '<!-- BEGIN_TF_DOCS -->' "$d/README.md" || ! grep -q '<!-- END_TF_DOCS -->' "$d/README.md"; then
    say "tf-docs: $rel/README.md has no BEGIN_TF_DOCS/END_TF_DOCS markers (run: go tool task tf:docs)"
    rc=1
    continue
  fi
  work="$tmp/$n"
  mkdir -p "$work"
  cp "$d"/*.tf "$d/README.md" "$work/"
  if ! out=$(terraform-docs -c "$config" "$work" 2>&1); then
    say "tf-docs: terraform-docs failed on $rel:"
    say "$out" | sed 's/^/  /'
    rc=1
    continue
  fi
  if ! diff -u --label "$rel/README.md" --label "$rel/README.md (generated)" "$d/README.md" "$work/README.md" >"$tmp/diff" 2>&1; then
    say "tf-docs: $rel/README.md is stale (run: go tool task tf:docs):"
    sed 's/^/  /' "$tmp/diff" | head -40
    rc=1
  fi
done

if [ $n -eq 0 ]; then
  say "tf-docs: no Terraform roots"
elif [ $check -eq 1 ] && [ $rc -eq 0 ]; then
  say "tf-docs: $n READMEs up to date"
fi
exit $rc
