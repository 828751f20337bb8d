#!/usr/bin/env bash
# smoke-docker.sh [path/to/static/backend]: container smoke test of the backend.
#
# First sends the release Dockerfile's build context (apps/backend and its
# .dockerignore, as .github/workflows/images.yml does) to the engine, copies out
# what the engine received and builds the binary from that copy alone, with
# GOWORK=off: the context holds the whole Go module. Then builds
# Dockerfile.local (FROM scratch + the host-built static binary; no base
# image is pulled), runs it with --network host on a free loopback port, checks
# /healthz, /readyz, /metrics (http_requests_total, build_info) and /api/info,
# the non-root user, the HEALTHCHECK turning healthy and a clean exit on
# `docker stop`, prints the image size and timings, and removes container and
# image (always, by trap).
#
# Without an argument it builds the binary itself (CGO off, -trimpath, version
# and commit stamped), as `go tool task backend:build` does.
# Engine: DOCKER_HOST, else the project engine of hack/dockerd.sh when it runs,
# else the default one. Without an engine it prints SKIP and exits 0, or fails
# when SMOKE_DOCKER_REQUIRED=1 (the test plan starts an engine first).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
t_start=${EPOCHREALTIME/[,.]/}
ms_since() { echo $(((${EPOCHREALTIME/[,.]/} - $1) / 1000)); }

skip() {
  if [[ "${SMOKE_DOCKER_REQUIRED:-0}" == 1 ]]; then echo "FAIL: $*"; exit 1; fi
  echo "SKIP: $* (start one: bash hack/dockerd.sh start)"; exit 0
}
command -v docker >/dev/null 2>&1 || skip "docker CLI not installed (go tool task deps -- docker)"
own_sock="$root/.cache/docker/docker.sock"
if [[ -z "${DOCKER_HOST:-}" && -S "$own_sock" ]] && docker -H "unix://$own_sock" version >/dev/null 2>&1; then
  export DOCKER_HOST="unix://$own_sock"
fi
docker info >/dev/null 2>&1 || skip "no Docker engine answers (${DOCKER_HOST:-default context})"
echo "engine: ${DOCKER_HOST:-default context} (server $(docker version -f '{{.Server.Version}}'))"

ctx=$(mktemp -d)
tag="backend-smoke:$$"
name="backend-smoke-$$"
ctxtag="backend-context:$$"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker rmi -f "$tag" >/dev/null 2>&1 || true
  docker rm -f "$name-context" >/dev/null 2>&1 || true
  docker rmi -f "$ctxtag" >/dev/null 2>&1 || true
  rm -rf "$ctx"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The release build context: what `docker build apps/backend` sends.
t=${EPOCHREALTIME/[,.]/}
if ! printf 'FROM scratch\nCOPY . /src\n' | DOCKER_BUILDKIT=0 docker build -q -t "$ctxtag" -f - "$here" >"$ctx/ctx.log" 2>&1; then
  cat "$ctx/ctx.log"; echo "FAIL: sending the build context $here"; exit 1
fi
docker create --name "$name-context" "$ctxtag" /none >/dev/null
mkdir -p "$ctx/context"
docker cp "$name-context:/src/." "$ctx/context"
docker rm -f "$name-context" >/dev/null; docker rmi -f "$ctxtag" >/dev/null
for must in go.mod go.sum cmd/backend/main.go api/openapi.yaml; do
  [[ -e "$ctx/context/$must" ]] || { echo "FAIL: build context lacks $must"; exit 1; }
done
if ! (cd "$ctx/context" && CGO_ENABLED=0 GOWORK=off GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=readonly" \
  go build -trimpath -tags nomsgpack -o "$ctx/context-backend" ./cmd/backend); then
  echo "FAIL: the backend does not build from its image build context alone"; exit 1
fi
echo "ok   release build context ($(find "$ctx/context" -type f | wc -l) files) builds the binary on its own in $(ms_since "$t") ms"
rm -rf "$ctx/context" "$ctx/context-backend"

bin=${1:-}
if [[ -z "$bin" ]]; then
  version=$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  pkg=github.com/sre-platform/platform/apps/backend/internal/buildinfo
  t=${EPOCHREALTIME/[,.]/}
  (cd "$here" && CGO_ENABLED=0 GOWORK=off GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -tags nomsgpack \
    -ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit" -o "$ctx/backend" ./cmd/backend)
  echo "binary: built in $(ms_since "$t") ms"
  bin="$ctx/backend"
else
  cp "$bin" "$ctx/backend"
fi
if ldd "$ctx/backend" >/dev/null 2>&1; then
  echo "FAIL: $bin is not a static binary"; exit 1
fi
echo "binary: $("$ctx/backend" version 2>/dev/null | head -n1)"

cp "$here/Dockerfile.local" "$ctx/Dockerfile"
t=${EPOCHREALTIME/[,.]/}
if ! DOCKER_BUILDKIT=0 docker build -t "$tag" "$ctx" >"$ctx/build.log" 2>&1; then
  cat "$ctx/build.log"; echo "FAIL: docker build"; exit 1
fi
build_ms=$(ms_since "$t")
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "image: $tag built in $build_ms ms, size $size bytes ($(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1e6 }') MB)"

# A free loopback port: nothing answers on it (host network, so the container
# binds it on the host's loopback only).
port=
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 30000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[[ -n "$port" ]] || { echo "FAIL: no free loopback port"; exit 1; }
base="http://127.0.0.1:$port"

t=${EPOCHREALTIME/[,.]/}
docker run -d --name "$name" --network host \
  -e PORT="$port" -e LISTEN_ADDR="127.0.0.1:$port" -e ENVIRONMENT=smoke -e DRAIN_DELAY=1s \
  "$tag" >/dev/null
up=0
for _ in $(seq 1 100); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then up=1; break; fi
  [[ "$(docker inspect -f '{{.State.Running}}' "$name")" == true ]] || break
  sleep 0.1
done
if [[ $up == 0 ]]; then
  echo "FAIL: /healthz did not answer on $base"; docker logs "$name" 2>&1 | tail -20; exit 1
fi
echo "ok   /healthz answered $(ms_since "$t") ms after docker run"

fail=0
check() { # path expected-status expected-substring...
  local path=$1 want=$2 code s
  shift 2
  code=$(curl -sS -o "$ctx/body" -w '%{http_code}' "$base$path" || true)
  if [[ "$code" != "$want" ]]; then
    echo "FAIL $path -> $code (want $want): $(head -c 300 "$ctx/body")"; fail=1; return
  fi
  for s in "$@"; do
    if ! grep -qF -- "$s" "$ctx/body"; then
      echo "FAIL $path -> $code but no '$s' in: $(head -c 300 "$ctx/body")"; fail=1; return
    fi
  done
  echo "ok   $path -> $code"
}
check /healthz 200 '"status":"ok"'
check /readyz 200 '"status":"ready"'
check /api/info 200 '"environment":"smoke"'
check /metrics 200 'http_requests_total{' 'build_info{'

user=$(docker inspect -f '{{.Config.User}}' "$name")
uid=${user%%:*}
if [[ -n "$uid" && "$uid" != 0 && "$uid" != root ]]; then
  echo "ok   runs as non-root user $user"
else
  echo "FAIL runs as root (User '$user')"; fail=1
fi

# The HEALTHCHECK (the binary's own `backend healthcheck`) turns healthy.
t=${EPOCHREALTIME/[,.]/}
status=
for _ in $(seq 1 75); do
  status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name")
  [[ "$status" == healthy ]] && break
  sleep 0.2
done
if [[ "$status" == healthy ]]; then
  echo "ok   HEALTHCHECK healthy after $(ms_since "$t") ms"
else
  echo "FAIL HEALTHCHECK '$status'"; docker inspect -f '{{json .State.Health}}' "$name" | head -c 600; echo; fail=1
fi

# Graceful stop: SIGTERM, drain, exit 0.
t=${EPOCHREALTIME/[,.]/}
docker stop -t 20 "$name" >/dev/null
rc=$(docker inspect -f '{{.State.ExitCode}}' "$name")
if [[ "$rc" == 0 ]]; then
  echo "ok   docker stop: exit 0 after $(ms_since "$t") ms (drain delay 1s)"
else
  echo "FAIL exit code $rc"; docker logs "$name" 2>&1 | tail -5; fail=1
fi

echo "smoke: $([[ $fail == 0 ]] && echo PASS || echo FAIL) in $(ms_since "$t_start") ms (image build $build_ms ms, size $size bytes)"
exit $fail
