#!/usr/bin/env bash
# deps.sh [--check] [GROUP ...]: the Debian packages each test tier needs.
# On Debian as root: installs what is missing (apt-get update only when
# something is missing), so a second run takes well under a second.
# Elsewhere, or with --check: prints what is missing and how to get it.
source "$(dirname "$0")/lib.sh"

# group → "package:command" pairs (command proves the package is usable; a
# command given as an absolute path must be an executable file there).
# nodes: what the sandbox's real-node mode runs per k3s node.
declare -A GROUPS_PKGS=(
  [static]="shellcheck:shellcheck"
  [e2e]="nginx:nginx chromium:chromium"
  [nodes]="containerd:containerd runc:runc containernetworking-plugins:/usr/lib/cni/bridge iptables:iptables iproute2:ip util-linux:nsenter"
  [bench]="wrk:wrk"
  [docker]="docker.io:dockerd"
  [images]="nginx:nginx gettext-base:envsubst busybox-static:busybox"
)
ALL_HERMETIC=(static e2e nodes)

check=0
groups=()
for a in "$@"; do
  case "$a" in
    --check) check=1 ;;
    all) groups+=("${ALL_HERMETIC[@]}") ;;
    *) [ -n "${GROUPS_PKGS[$a]+x}" ] || die "deps: unknown group '$a' (known: ${!GROUPS_PKGS[*]})"; groups+=("$a") ;;
  esac
done
[ ${#groups[@]} -gt 0 ] || groups=("${ALL_HERMETIC[@]}")

missing_pkgs=()
missing_cmds=()
for g in "${groups[@]}"; do
  for pair in ${GROUPS_PKGS[$g]}; do
    pkg=${pair%%:*} cmd=${pair#*:}
    if [[ "$cmd" == /* ]]; then
      [ -x "$cmd" ] && continue
    elif command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ]; then
      continue
    fi
    missing_pkgs+=("$pkg"); missing_cmds+=("$cmd")
  done
done
# go (this script runs under it) and node/npm for the front end
for cmd in node npm; do
  command -v "$cmd" >/dev/null 2>&1 || missing_cmds+=("$cmd")
done

if [ ${#missing_pkgs[@]} -eq 0 ] && [ ${#missing_cmds[@]} -eq 0 ]; then
  say "deps: all present for: ${groups[*]}"
  exit 0
fi

is_debian=0
[ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1 && is_debian=1
if [ ${#missing_pkgs[@]} -gt 0 ] && [ $check -eq 0 ] && [ $is_debian -eq 1 ] && [ "$(id -u)" = 0 ]; then
  say "deps: installing ${missing_pkgs[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p "$CACHE"
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}"; } >"$CACHE/apt.log" 2>&1 ||
    { tail -20 "$CACHE/apt.log" >&2; die "deps: apt-get install ${missing_pkgs[*]} failed (log: $CACHE/apt.log)"; }
  missing_pkgs=()
fi
for cmd in node npm; do
  command -v "$cmd" >/dev/null 2>&1 || die "deps: $cmd is missing: install Node.js 20 with npm (https://nodejs.org or your OS packages)"
done
if [ ${#missing_pkgs[@]} -gt 0 ]; then
  if [ $is_debian -eq 1 ]; then
    die "deps: missing ${missing_pkgs[*]}: run as root: apt-get install -y ${missing_pkgs[*]}"
  fi
  die "deps: missing commands ${missing_cmds[*]} (Debian packages: ${missing_pkgs[*]}): install them with your OS package manager"
fi
say "deps: all present for: ${groups[*]}"
