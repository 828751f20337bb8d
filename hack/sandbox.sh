#!/usr/bin/env bash
# sandbox.sh up|down|status: the local sandbox (Hetzner emulator + k3s boot
# simulation, test/sandbox/cmd/sandbox) as a background service, and the
# environments/sandbox Terraform root applied against it. Everything lives
# under .cache/sandbox (git-ignored): pid file, log, API token, state
# (emulator + etcd data), Terraform state and data dir, the admin kubeconfig.
#
#   up      build kube-apiserver/etcd if needed, start the service (or reuse
#           the running one), write the Flux Operator manifest
#           (.cache/flux-operator/<version>/install.yaml), publish the
#           working tree to the sandbox's Git server (real nodes), terraform
#           apply environments/sandbox (one server + one agent, Flux waiting
#           for Ready with real nodes, the apps load balancer), write
#           .cache/sandbox/kubeconfig (0600), wait for the nodes and for Flux
#           to deliver the published commit, print the app URL
#   down    terraform destroy (when there is state and the service runs),
#           then stop the service and its control planes by PID (SIGTERM,
#           then SIGKILL) and remove .cache/sandbox (--keep or
#           PLATFORM_SANDBOX_KEEP=1 skips the destroy and keeps everything
#           for the next `up`)
#   status  running or not, endpoints, clusters, kubeconfig path; nodes,
#           FluxInstance, Kustomizations and Deployments
#
# Environment: PLATFORM_SANDBOX_LISTEN (default 127.0.0.1:8480),
# PLATFORM_SANDBOX_ADMIN_LISTEN (127.0.0.1:8481), PLATFORM_SANDBOX_SPEED (10),
# PLATFORM_SANDBOX_IPV4_POOL (127.0.0.0/8: servers get 127.0.1.1 upward),
# PLATFORM_SANDBOX_NODES (real, the default: kubelet + containerd per node; needs
# root, `go tool task deps -- nodes` and the images, built here when missing;
# api: Nodes registered through the API only, no pod runs),
# PLATFORM_KUBE_BIN_DIR / KUBEBUILDER_ASSETS (prebuilt kube-apiserver + etcd:
# no build), PLATFORM_FLUX_OPERATOR_VERSION (v0.59.0).
source "$(dirname "$0")/lib.sh"
dir="$CACHE/sandbox"
pidfile="$dir/sandbox.pid"
log="$dir/sandbox.log"
bindir="$dir/bin"
listen="${PLATFORM_SANDBOX_LISTEN:-127.0.0.1:8480}"
admin_listen="${PLATFORM_SANDBOX_ADMIN_LISTEN:-127.0.0.1:8481}"
speed="${PLATFORM_SANDBOX_SPEED:-10}"
nodes_mode="${PLATFORM_SANDBOX_NODES:-real}"
pool="${PLATFORM_SANDBOX_IPV4_POOL:-127.0.0.0/8}"
operator_version="${PLATFORM_FLUX_OPERATOR_VERSION:-v0.59.0}"
tfroot="$ROOT/environments/sandbox"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

# pid of the running sandbox, or nothing (a stale pid file, or a pid now
# used by another program, does not count).
live_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # A rebuilt binary leaves the running one as "<path> (deleted)".
  local exe
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "${exe% (deleted)}" = "$bindir/sandbox" ] || return 1
  echo "$pid"
}

children_of() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true; }

# stop_pid PID TIMEOUT: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local pid=$1 timeout=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    # A zombie (reaped late by init) counts as gone.
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.1
  done
  say "sandbox: pid $pid did not stop within ${timeout}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

up() {
  mkdir -p "$dir" "$bindir"
  chmod 700 "$dir"
  local start kube
  start=$(date +%s)
  kube=""
  for d in "${PLATFORM_KUBE_BIN_DIR:-}" "${KUBEBUILDER_ASSETS:-}"; do
    if [ -n "$d" ] && [ -x "$d/kube-apiserver" ] && [ -x "$d/etcd" ]; then kube=$d && break; fi
  done
  [ -n "$kube" ] || kube=$(bash "$ROOT/test/tools/kube/build.sh" | tail -n1)
  if [ "$nodes_mode" = real ]; then
    bash "$ROOT/hack/deps.sh" nodes >/dev/null
    [ -d "$CACHE/registry" ] || (cd "$ROOT" && go tool task images:build)
  fi
  go build -C "$ROOT" -o "$bindir/" ./test/sandbox/cmd/sandbox ./test/sandbox/cmd/sandbox-up ./test/cmd/flux-operator-manifest
  if [ ! -s "$dir/token" ]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/token")
  fi
  local pid
  if pid=$(live_pid); then
    say "sandbox: already running (pid $pid)"
  else
    rm -f "$pidfile" "$dir/state/endpoints.json"
    # setsid: its own session, so a closing terminal does not stop it.
    setsid "$bindir/sandbox" --state-dir "$dir/state" --listen "$listen" --admin-listen "$admin_listen" \
      --speed "$speed" --ipv4-pool "$pool" --kube-bin-dir "$kube" --token "sandbox:$(cat "$dir/token")" \
      --nodes "$nodes_mode" --git-dir "$dir/git" >>"$log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$pidfile"
    local i
    for ((i = 0; i < 100; i++)); do
      [ -f "$dir/state/endpoints.json" ] && break
      kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "sandbox: failed to start (log: $log)"; }
      sleep 0.1
    done
    [ -f "$dir/state/endpoints.json" ] || die "sandbox: no endpoints after 10s (log: $log)"
    say "sandbox: started (pid $pid), Hetzner API http://$listen/v1, log $log"
  fi
  local manifest commit="" flux_wait=false
  manifest=$("$bindir/flux-operator-manifest" -version "$operator_version" -cache "$CACHE")
  if [ "$nodes_mode" = real ]; then
    # What Flux syncs: the working tree as it is now, uncommitted edits too.
    commit=$("$bindir/sandbox-up" publish --checkout "$ROOT" --repo "$dir/git/platform.git" | tail -n1)
    flux_wait=true
  fi
  "$ROOT/hack/tf-mirror.sh" >"$dir/tf-mirror.log" || { cat "$dir/tf-mirror.log" >&2; die "sandbox: tf-mirror failed"; }
  tf_init
  say "sandbox: terraform apply environments/sandbox (log: $dir/terraform.log)"
  tf_run apply "$manifest" -var "flux_wait=$flux_wait" || die "sandbox: terraform apply failed (log: $dir/terraform.log; retry: go tool task up)"
  (umask 077 && terraform -chdir="$tfroot" output -raw kubeconfig >"$dir/kubeconfig.tmp")
  mv "$dir/kubeconfig.tmp" "$dir/kubeconfig"
  chmod 600 "$dir/kubeconfig"
  local nodes app_url=""
  nodes=$(terraform -chdir="$tfroot" output -json node_names | tr -d '[]" \n')
  if [ -n "$commit" ]; then
    app_url=$(terraform -chdir="$tfroot" output -raw app_url)
    "$bindir/sandbox-up" wait --kubeconfig "$dir/kubeconfig" --nodes "$nodes" --commit "$commit" --app-url "$app_url" ||
      die "sandbox: Flux did not deliver $commit (go tool task status shows every Kustomization)"
  else
    "$bindir/sandbox-up" wait --kubeconfig "$dir/kubeconfig" --nodes "$nodes"
    say "sandbox: API-only nodes run no pod: Flux is installed but does not reconcile"
  fi
  say "sandbox: up in $(($(date +%s) - start))s"
  say ""
  [ -n "$app_url" ] && say "  app:  $app_url   (the frontend; /api/ reaches the backend through nginx in the cluster)"
  say "  export KUBECONFIG=$dir/kubeconfig"
  say "  kubectl get nodes -o wide; kubectl -n flux-system get fluxinstance flux"
  say "  export HCLOUD_ENDPOINT=http://$listen/v1 HCLOUD_TOKEN=\$(cat $dir/token)   # hcloud CLI / Terraform by hand"
  say "  go tool task plan ENV=sandbox | go tool task status | go tool task down"
}

# tf_init: terraform init of environments/sandbox with its data dir and state
# inside the sandbox folder (so `down` removes them and another
# PLATFORM_CACHE gets its own).
# tf_run apply|destroy MANIFEST [ARG...]: terraform against the running sandbox; the
# full output goes to terraform.log, progress lines to the terminal.
tf_run() {
  local rc
  set +e
  TF_VAR_hcloud_token=$(cat "$dir/token") terraform -chdir="$tfroot" "$1" -input=false -auto-approve -no-color \
    -var-file=sandbox.tfvars -var "hcloud_endpoint=http://$listen/v1" -var "operator_manifest_path=$2" "${@:3}" 2>&1 |
    tee "$dir/terraform.log" |
    grep --line-buffered -E '^(Apply complete|Destroy complete|No changes)|(Creation|Modifications|Destruction) complete after'
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ]; then
    grep -A 12 '^Error' "$dir/terraform.log" >&2 || tail -n 30 "$dir/terraform.log" >&2
  fi
  return "$rc"
}

tf_init() {
  export TF_DATA_DIR="$dir/terraform"
  local out
  # Lock files pin nothing here (every provider comes from the local mirror,
  # built from sources go.sum pins; they are git-ignored): start without one,
  # so a mirror rebuilt by another Go version never fails init.
  rm -f "$tfroot/.terraform.lock.hcl"
  if ! out=$(terraform -chdir="$tfroot" init -input=false -no-color -reconfigure \
    -backend-config="path=$dir/terraform.tfstate" 2>&1); then
    say "$out" | tail -n 20 >&2
    die "sandbox: terraform init failed in environments/sandbox"
  fi
}

down() {
  local keep=${PLATFORM_SANDBOX_KEEP:-0} pid kids k
  [ "${1:-}" = "--keep" ] && keep=1
  if [ "$keep" != 1 ] && [ -s "$dir/terraform.tfstate" ]; then
    if live_pid >/dev/null && [ -s "$dir/token" ]; then
      local manifest start
      start=$(date +%s)
      # The root needs an existing manifest file even to destroy.
      manifest=$("$bindir/flux-operator-manifest" -version "$operator_version" -cache "$CACHE" 2>/dev/null) ||
        manifest=/dev/null
      tf_init
      say "sandbox: terraform destroy environments/sandbox (log: $dir/terraform.log)"
      if tf_run destroy "$manifest"; then
        say "sandbox: destroyed in $(($(date +%s) - start))s"
      else
        say "sandbox: terraform destroy failed; stopping the sandbox anyway (its state goes with it)"
      fi
    else
      say "sandbox: not running, skipping terraform destroy (the emulator state is removed with it)"
    fi
  fi
  if pid=$(live_pid); then
    kids=$(children_of "$pid")
    stop_pid "$pid" 60
    # Control planes die with the sandbox (it stops them; the kernel kills
    # them if it could not); make sure, by PID.
    for k in $kids; do
      if kill -0 "$k" 2>/dev/null; then stop_pid "$k" 10; fi
    done
    say "sandbox: stopped pid $pid"
  else
    [ -f "$pidfile" ] && say "sandbox: stale pid file removed"
    say "sandbox: not running"
  fi
  rm -f "$pidfile"
  # A sandbox that had to be killed left its real nodes on the host; what it
  # created is recorded in its state, which is about to go: remove it first.
  if [ "$keep" != 1 ] && [ -s "$dir/state/clusters/host-state.json" ] && [ -x "$bindir/sandbox" ]; then
    "$bindir/sandbox" --state-dir "$dir/state" --clean-host || say "sandbox: cleaning what real nodes left failed (see above)"
  fi
  if [ "$keep" = 1 ]; then
    say "sandbox: state kept in $dir"
  elif [ -d "$dir" ]; then
    rm -rf "$dir"
    say "sandbox: removed $dir"
  fi
}

status() {
  local pid
  if pid=$(live_pid); then
    say "sandbox: running (pid $pid)"
    say "  Hetzner API: http://$listen/v1 (token in $dir/token)"
    say "  admin:       http://$admin_listen/admin"
    say "  log:         $log"
    [ -f "$dir/kubeconfig" ] && say "  kubeconfig:  $dir/kubeconfig"
    say "  clusters:"
    curl -fsS "http://$admin_listen/sandbox/clusters" 2>/dev/null |
      python3 -c 'import json,sys
for c in json.load(sys.stdin)["clusters"] or []:
    print("    %s (project %s) endpoint %s, servers %s, nodes %s, RSS apiserver %d MiB + etcd %d MiB" % (
        c["id"], c["project"], c.get("endpoint") or "-", ",".join(c["servers"] or []),
        ", ".join(c["nodes"] or []), c["apiserver_rss_mib"], c["etcd_rss_mib"]))' 2>/dev/null ||
      say "    (admin API not answering)"
    if [ -f "$dir/kubeconfig" ] && [ -x "$bindir/sandbox-up" ]; then
      say ""
      "$bindir/sandbox-up" status --kubeconfig "$dir/kubeconfig" || say "  (cluster not answering)"
    fi
  else
    [ -f "$pidfile" ] && say "sandbox: stale pid file $pidfile (process gone)"
    say "sandbox: not running"
    [ -d "$dir/state" ] && say "  state kept in $dir/state"
    exit 1
  fi
}

case "${1:-}" in
up) up ;;
down) down "${2:-}" ;;
status) status ;;
*) die "usage: sandbox.sh up|down [--keep]|status" ;;
esac
