#!/usr/bin/env bash
# e2e-private-clone.sh: runs the front end's end-to-end tests (nginx +
# backend + Chromium) from a fresh `git clone` of this checkout placed under
# a private parent directory (mode 0700, as a home directory or `mktemp -d`
# gives). Run as root, nginx's workers switch to an unprivileged user who
# cannot enter such a tree; the e2e must not depend on them doing so. The
# clone is of the committed HEAD; it is removed afterwards.
set -euo pipefail

src=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
parent=$(mktemp -d "${TMPDIR:-/tmp}/platform-private.XXXXXX")
trap 'rm -rf "$parent"' EXIT
chmod 0700 "$parent"
echo "clone of $src (HEAD $(git -C "$src" rev-parse --short HEAD)) under $parent (mode $(stat -c %a "$parent"), running as uid $(id -u))"
git clone --quiet --no-hardlinks "$src" "$parent/platform"
cd "$parent/platform"
go tool task frontend:e2e
