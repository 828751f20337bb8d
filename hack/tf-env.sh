#!/usr/bin/env bash
# tf-env.sh plan|apply|destroy ENV [terraform args...]: run terraform for one
# environment root (environments/ENV) with its var file (ENV.tfvars) and
# backend config, through the project's CLI config (local provider mirror +
# in-repo provider). Extra arguments go to terraform, e.g.
#   go tool task apply ENV=sandbox -- -var agent_count=2
#
#   sandbox      needs the running sandbox (`go tool task up`): endpoint, token
#                and the Flux Operator manifest are supplied; state and data
#                dir live in .cache/sandbox
#   local        kind on this machine; local state in .cache/state/local
#   develop, staging, production
#                Hetzner: HCLOUD_TOKEN (or TF_VAR_hcloud_token; the first
#                becomes the second when only it is set), backend.hcl
#                (from backend.hcl.example) and S3 credentials
#                (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)
source "$(dirname "$0")/lib.sh"
action=${1:-} env=${2:-}
shift 2 || true
# The environments are the roots under environments/ (one list: the folders).
envs=$(for d in "$ROOT"/environments/*/; do ls "$d"*.tf >/dev/null 2>&1 && basename "$d"; done | tr '\n' ' ')
envs=${envs% }
case "$action" in plan | apply | destroy) ;; *) die "usage: go tool task plan|apply|destroy ENV=<$envs>" ;; esac
[ -n "$env" ] || die "$action: set ENV, one of: $envs (e.g. go tool task $action ENV=develop)"
case " $envs " in *" $env "*) ;; *) die "$action: unknown ENV '$env'; one of: $envs" ;; esac
dir="$ROOT/environments/$env"

init=(init -input=false -no-color)
vars=()
[ -f "$dir/$env.tfvars" ] && vars+=(-var-file="$env.tfvars")

case "$env" in
sandbox)
  sdir="$CACHE/sandbox"
  listen="${PLATFORM_SANDBOX_LISTEN:-127.0.0.1:8480}"
  [ -s "$sdir/token" ] || die "$action: the sandbox is not running (no $sdir/token): start it with go tool task up"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$sdir/token")" \
    "http://$listen/v1/locations" 2>/dev/null) || true
  [ "$code" = 200 ] || die "$action: the sandbox's Hetzner API does not answer at http://$listen/v1 (HTTP ${code:-none}): start it with go tool task up"
  manifest=$(go run -C "$ROOT" ./test/cmd/flux-operator-manifest -version "${PLATFORM_FLUX_OPERATOR_VERSION:-v0.59.0}" -cache "$CACHE") ||
    die "$action: could not write the Flux Operator manifest (go run ./test/cmd/flux-operator-manifest)"
  TF_VAR_hcloud_token=$(cat "$sdir/token")
  export TF_VAR_hcloud_token TF_VAR_hcloud_endpoint="http://$listen/v1" TF_VAR_operator_manifest_path="$manifest"
  # Same data dir and state as `go tool task up`.
  export TF_DATA_DIR="$sdir/terraform"
  init+=(-reconfigure -backend-config="path=$sdir/terraform.tfstate")
  ;;
local)
  mkdir -p "$CACHE/state/local"
  init+=(-reconfigure -backend-config="path=$CACHE/state/local/terraform.tfstate")
  ;;
*)
  [ -f "$dir/backend.hcl" ] ||
    die "$action: environments/$env/backend.hcl is missing: copy backend.hcl.example to backend.hcl and set your S3 bucket (see environments/README.md)"
  [ -n "${HCLOUD_TOKEN:-}${TF_VAR_hcloud_token:-}" ] ||
    die "$action: HCLOUD_TOKEN is not set: export the API token of the $env Hetzner project (or TF_VAR_hcloud_token)"
  # The root needs the token as a value (the cluster's Secret kube-system/hcloud
  # holds it), not only in the providers' HCLOUD_TOKEN.
  if [ -z "${TF_VAR_hcloud_token:-}" ]; then
    export TF_VAR_hcloud_token="${HCLOUD_TOKEN:-}"
  fi
  if [ -z "${AWS_ACCESS_KEY_ID:-}" ] && [ -z "${AWS_PROFILE:-}" ] && [ ! -f "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}" ]; then
    die "$action: no S3 credentials for the state backend: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
  fi
  if [ "$action" != destroy ] && [ -z "${TF_VAR_sops_age_key:-}" ]; then
    say "$action: note: TF_VAR_sops_age_key is not set, so Flux gets no sops-age key and cannot decrypt flux/secrets/$env"
  fi
  init+=(-backend-config=backend.hcl)
  ;;
esac

"$ROOT/hack/tf-mirror.sh" >/dev/null
cd "$dir"
# Lock files pin nothing here (every provider comes from the local mirror,
# built from sources go.sum pins; they are git-ignored): start without one,
# so a mirror rebuilt by another Go version never fails init.
rm -f .terraform.lock.hcl
if ! out=$(terraform "${init[@]}" 2>&1); then
  say "$out" | grep -v '^\s*$' | tail -n 25 >&2
  case "$env" in
  sandbox | local) die "$action: terraform init failed in environments/$env" ;;
  *) die "$action: terraform init failed in environments/$env (after changing backend.hcl: terraform -chdir=environments/$env init -reconfigure, or -migrate-state to move the state)" ;;
  esac
fi
case "$action" in
plan) terraform plan -input=false "${vars[@]}" "$@" ;;
apply) terraform apply -input=false "${vars[@]}" "$@" ;;
destroy) terraform destroy -input=false "${vars[@]}" "$@" ;;
esac
