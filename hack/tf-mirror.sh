#!/usr/bin/env bash
# tf-mirror.sh: fill the local Terraform filesystem mirror.
#  - third-party providers listed in test/tools/providers/providers.tsv, built
#    from Go module sources pinned by that module's committed go.sum;
#  - the in-repo provider (provider/), as the dev-override build, plus a fixed
#    placeholder in the mirror so `terraform init` of roots passes.
# Cached by version and go.sum: a second run with nothing changed takes seconds.
source "$(dirname "$0")/lib.sh"
"$ROOT/hack/terraform-ensure.sh"

moddir="$ROOT/test/tools/providers"
os_arch="$(go env GOOS)_$(go env GOARCH)"
grep -v '^#' "$moddir/providers.tsv" | while IFS=$'\t' read -r source module flags; do
  [ -n "$source" ] || continue
  v=$(go list -C "$moddir" -m -f '{{.Version}}' "$module")
  v=${v#v}
  dir="$MIRROR/registry.terraform.io/$source/$v/$os_arch"
  out="$dir/terraform-provider-${source#*/}_v$v"
  ldflags="-s -w ${flags//\{v\}/$v}"
  key=$(printf '%s %s' "$module" "$ldflags" | cat - "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -c1-16)
  if [ -x "$out" ] && [ "$(cat "$dir/.key" 2>/dev/null)" = "$key" ]; then
    say "mirror: $source $v (cached)"
    continue
  fi
  say "mirror: building $source $v from $module (this takes a few minutes once)"
  start=$(date +%s)
  mkdir -p "$dir"
  CGO_ENABLED=0 go build -C "$moddir" -trimpath -ldflags "$ldflags" -o "$out.tmp" "$module"
  mv "$out.tmp" "$out"
  echo "$key" >"$dir/.key"
  say "mirror: $source $v built in $(( $(date +%s) - start ))s"
done

# The in-repo provider: the real build goes to the dev-override folder, which
# every terraform run through the project's CLI config uses. `terraform init`
# still has to find the provider somewhere, so the mirror holds a fixed
# placeholder (same bytes on every machine and after every rebuild: lock files
# stay valid). Run without the project's CLI config, it fails with a hint.
if [ -f "$ROOT/provider/main.go" ]; then
  pv=$(sed -n 's/^[[:space:]]*version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$ROOT/provider/main.go" | head -1)
  pv=${pv:-0.1.0}
  CGO_ENABLED=0 go build -C "$ROOT" -trimpath -o "$TF_DIR/dev/terraform-provider-platform" ./provider
  dir="$MIRROR/registry.terraform.io/sre-platform/platform/$pv/$os_arch"
  mkdir -p "$dir"
  placeholder='#!/bin/sh
echo "terraform-provider-platform: this mirror entry only satisfies terraform init; the provider runs from the dev_overrides of the project CLI config (export TF_CLI_CONFIG_FILE=.cache/terraform/terraformrc after go tool task tf:mirror)" >&2
exit 1'
  printf '%s\n' "$placeholder" >"$dir/.placeholder"
  if ! cmp -s "$dir/.placeholder" "$dir/terraform-provider-platform_v$pv"; then
    install -m 755 "$dir/.placeholder" "$dir/terraform-provider-platform_v$pv"
  fi
  rm -f "$dir/.placeholder"
  say "mirror: sre-platform/platform $pv (in-repo build, dev override at $TF_DIR/dev)"
else
  say "mirror: provider/main.go not found, the in-repo provider is not installed"
fi
