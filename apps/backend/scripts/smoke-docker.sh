#!/usr/bin/env bash
# Container smoke test of the backend: builds Dockerfile.local (FROM scratch +
# the host-built static binary), runs it, checks /healthz, /readyz, /metrics
# and the HEALTHCHECK inside the container, then removes container and image.
# Without a running Docker engine it prints SKIP and the reason, and exits 0.
set -euo pipefail

bin=${1:?usage: smoke-docker.sh path/to/static/backend}
here=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v docker >/dev/null 2>&1; then
  echo "SKIP: docker CLI not installed (apt-get install -y docker.io)"; exit 0
fi
if ! docker info >/dev/null 2>&1; then
  echo "SKIP: no Docker engine is running (start dockerd from Debian's docker.io)"; exit 0
fi
if ldd "$bin" >/dev/null 2>&1; then
  echo "FAIL: $bin is not a static binary"; exit 1
fi

tag="backend-smoke:$$"
name="backend-smoke-$$"
ctx=$(mktemp -d)
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker rmi -f "$tag" >/dev/null 2>&1 || true
  rm -rf "$ctx"
}
trap cleanup EXIT

cp "$bin" "$ctx/backend"
cp "$here/Dockerfile.local" "$ctx/Dockerfile"
docker build -q -t "$tag" "$ctx" >/dev/null
echo "built $tag ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"

docker run -d --name "$name" -p 127.0.0.1::8080 -e ENVIRONMENT=smoke "$tag" >/dev/null
port=$(docker port "$name" 8080/tcp | head -n1 | sed 's/.*://')
base="http://127.0.0.1:$port"

for _ in $(seq 1 50); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

fail=0
check() { # path expected-status expected-substring
  local code
  code=$(curl -sS -o "$ctx/body" -w '%{http_code}' "$base$1" || true)
  if [[ "$code" == "$2" ]] && grep -q -- "$3" "$ctx/body"; then
    echo "ok   $1 -> $code"
  else
    echo "FAIL $1 -> $code (want $2 containing '$3'): $(head -c 300 "$ctx/body")"; fail=1
  fi
}
check /healthz 200 '"status":"ok"'
check /readyz 200 '"status":"ready"'
check /metrics 200 'build_info{'
check /api/info 200 '"environment":"smoke"'

user=$(docker inspect -f '{{.Config.User}}' "$name")
[[ "$user" == "65532:65532" ]] && echo "ok   runs as $user" || { echo "FAIL user $user"; fail=1; }

# The HEALTHCHECK (the binary's own healthcheck subcommand) turns healthy.
for _ in $(seq 1 30); do
  status=$(docker inspect -f '{{.State.Health.Status}}' "$name")
  [[ "$status" == healthy ]] && break
  sleep 0.5
done
[[ "$status" == healthy ]] && echo "ok   HEALTHCHECK healthy" || { echo "FAIL HEALTHCHECK $status"; fail=1; }

# Graceful stop: SIGTERM, drain, exit 0.
docker stop -t 20 "$name" >/dev/null
rc=$(docker inspect -f '{{.State.ExitCode}}' "$name")
[[ "$rc" == 0 ]] && echo "ok   stopped cleanly" || { echo "FAIL exit code $rc"; docker logs "$name" | tail -5; fail=1; }

exit $fail
