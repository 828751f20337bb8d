#!/usr/bin/env bash
# build.sh: builds etcd and the Kubernetes components (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy) from this tools
# module into $PLATFORM_CACHE/kube/<version>/ (default .cache/kube/v1.34.4). Cached by the
# version and a hash of go.mod + go.sum: a second run returns at once. A lock
# (flock) makes concurrent callers wait for one build instead of running two.
# Prints the binary directory on the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache="${PLATFORM_CACHE:-$root/.cache}"
version=v1.34.4
out="$cache/kube/$version"
key=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
stamp="$out/.key"

components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

fresh() {
  [ "$(cat "$stamp" 2>/dev/null)" = "$key" ] || return 1
  local b
  for b in etcd "${components[@]}"; do [ -x "$out/$b" ] || return 1; done
}

mkdir -p "$out"
if fresh; then echo "$out"; exit 0; fi

exec 9>"$out/.lock"
if ! flock -n 9; then
  echo "kube:build: another build is running; waiting for it" >&2
  flock 9
fi
if fresh; then echo "$out"; exit 0; fi

major=${version#v}; major=${major%%.*}
minor=${version#v"$major".}; minor=${minor%%.*}
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
done

export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOWORK=off
echo "kube:build: building etcd and ${components[*]} $version (cold: ~12 min on 2 cores)" >&2
start=$(date +%s)
# Each binary is built and moved into place on its own, so an interrupted cold
# build keeps what it finished; the stamp is written only when all are there.
build() { # name package
  local t0
  t0=$(date +%s)
  echo "kube:build: $1 ..." >&2
  go build -C "$here" -trimpath -ldflags "$ldflags" -o "$out/$1.tmp" "$2"
  mv "$out/$1.tmp" "$out/$1"
  echo "kube:build: $1 done ($(($(date +%s) - t0))s)" >&2
}
build etcd ./etcd
for c in "${components[@]}"; do build "$c" "k8s.io/kubernetes/cmd/$c"; done
echo "$key" >"$stamp"
echo "kube:build: built in $(($(date +%s) - start))s into $out" >&2
echo "$out"
