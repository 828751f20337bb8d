#!/usr/bin/env bash
# build-tool.sh NAME TOOLS_MODULE_DIR PACKAGE [LDFLAGS]
# Builds PACKAGE from the pinned tools module (go.mod + committed go.sum) into
# .cache/bin/NAME. Cached by a key over go.mod, go.sum and the flags: a second
# run with nothing changed returns at once.
source "$(dirname "$0")/lib.sh"
name=$1 moddir=$2 pkg=$3 ldflags=${4:-}
key=$(printf '%s %s' "$pkg" "$ldflags" | cat - "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -c1-16)
stamp="$BIN/.$name.key"
if [ -x "$BIN/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
  exit 0
fi
say "building $name from $pkg (pinned in ${moddir#"$ROOT"/}/go.sum)"
start=$(date +%s)
go build -C "$moddir" -trimpath -ldflags "-s -w $ldflags" -o "$BIN/$name.tmp" "$pkg"
mv "$BIN/$name.tmp" "$BIN/$name"
echo "$key" >"$stamp"
say "built $BIN/$name in $(( $(date +%s) - start ))s"
