#!/usr/bin/env bash
# build.sh COMPONENT: builds one program from its pinned tools module under
# test/tools into $PLATFORM_CACHE/<dir>/<version>/<name> (default .cache):
# static (CGO_ENABLED=0), -trimpath, stripped. The sandbox's images take them
# from there (test/oci, docs/images.md).
#   coredns               v1.15.0  test/tools/coredns, -tags grpcnotrace as CoreDNS's Makefile
#   source-controller     v1.9.6   test/tools/flux-source-controller
#                                  (pkg/artifact v0.18.3 => v0.18.0: v0.18.3 is not served)
#   kustomize-controller  v1.9.6   test/tools/flux-kustomize-controller
#   helm-controller       v1.6.4   test/tools/flux-helm-controller
#   flux-operator         v0.59.0  test/tools/flux-operator, ./cmd/operator, Go 1.27
#                                  (GOTOOLCHAIN=go1.27.3 for this build only). Its web UI
#                                  (web/dist, embedded) is built with npm in a writable
#                                  copy of the module under .cache/flux-operator/src/VERSION,
#                                  which the build uses through a generated go.mod
#                                  (-modfile) with one more replace.
# Cached by a key over the module's go.mod + go.sum and the component's
# recipe below: a second run returns at once. A lock (flock) makes concurrent
# callers wait for one build. Progress goes to stderr; the binary's path is
# the last stdout line. Cold: CoreDNS ~5 min CPU, each Flux component 5–7 min
# on 2 cores; build one at a time.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache="${PLATFORM_CACHE:-$root/.cache}"
component=${1:?usage: build.sh coredns|source-controller|kustomize-controller|helm-controller|flux-operator}
toolchain=local tags="" dir=flux/$component moddir="$here/flux-$component" ldflags="-s -w"
case $component in
  coredns)
    version=v1.15.0 pkg=github.com/coredns/coredns dir=coredns moddir="$here/coredns" tags=grpcnotrace
    ldflags="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$version" ;;
  source-controller) version=v1.9.6 pkg=github.com/fluxcd/source-controller ;;
  kustomize-controller) version=v1.9.6 pkg=github.com/fluxcd/kustomize-controller ;;
  helm-controller) version=v1.6.4 pkg=github.com/fluxcd/helm-controller ;;
  flux-operator)
    version=v0.59.0 pkg=github.com/controlplaneio-fluxcd/flux-operator/cmd/operator toolchain=go1.27.3
    moddir="$here/flux-operator"
    # As the operator's Dockerfile: its version stamped, FIPS 140 module on.
    ldflags="-s -w -X main.VERSION=${version#v}"
    export GOFIPS140=latest ;;
  *) echo "build.sh: unknown component $component" >&2; exit 2 ;;
esac
out="$cache/$dir/$version"
recipe="$component $version $pkg $toolchain tags=$tags ldflags=$ldflags"
key=$(printf '%s\n' "$recipe" | cat - "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -c1-16)
stamp="$out/.key"

fresh() {
  [ -x "$out/$component" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]
}

mkdir -p "$out"
if fresh; then echo "$out/$component"; exit 0; fi
exec 9>"$out/.lock"
if ! flock -n 9; then
  echo "build.sh: another $component build is running; waiting for it" >&2
  flock 9
fi
if fresh; then echo "$out/$component"; exit 0; fi

export GOTOOLCHAIN=$toolchain GOFLAGS=-buildvcs=false GOWORK=off CGO_ENABLED=0 GOOS=linux GOARCH=amd64
modflag=()
if [ "$component" = flux-operator ]; then
  src="$cache/flux-operator/src/$version"
  if [ ! -f "$src/web/dist/index.html" ]; then
    moddl=$(go mod download -json "github.com/controlplaneio-fluxcd/flux-operator@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    [ -d "$moddl" ] || { echo "build.sh: flux-operator $version is not in the module cache" >&2; exit 1; }
    echo "build.sh: building the operator's web UI (npm ci + vite build) in $src" >&2
    rm -rf "$src" "$src.tmp"
    mkdir -p "$(dirname "$src")"
    cp -r "$moddl" "$src.tmp"
    chmod -R u+w "$src.tmp"
    (cd "$src.tmp/web" && npm ci --no-audit --no-fund --loglevel=error >&2 && npm run --silent build >&2)
    [ -f "$src.tmp/web/dist/index.html" ] || { echo "build.sh: the web UI build left no web/dist/index.html" >&2; exit 1; }
    rm -rf "$src.tmp/web/node_modules"
    mv "$src.tmp" "$src"
  fi
  gen="$out/modfile"
  mkdir -p "$gen"
  cp "$moddir/go.mod" "$gen/go.mod"
  cp "$moddir/go.sum" "$gen/go.sum"
  echo "replace github.com/controlplaneio-fluxcd/flux-operator => $src" >>"$gen/go.mod"
  modflag=(-modfile "$gen/go.mod")
fi

echo "build.sh: building $component $version from module source (cold: minutes on 2 cores)" >&2
start=$(date +%s)
go build -C "$moddir" "${modflag[@]}" -trimpath -tags "$tags" -ldflags "$ldflags" -o "$out/$component.tmp" "$pkg"
mv "$out/$component.tmp" "$out/$component"
echo "$key" >"$stamp"
echo "build.sh: built $component in $(($(date +%s) - start))s into $out" >&2
echo "$out/$component"
