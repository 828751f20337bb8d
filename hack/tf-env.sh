#!/usr/bin/env bash
# tf-env.sh plan|apply|destroy ENV [terraform args...]: run terraform for one
# environment root with its var file and backend config, through the
# project's CLI config (local provider mirror + in-repo provider).
source "$(dirname "$0")/lib.sh"
action=${1:-} env=${2:-}
shift 2 || true
envs="sandbox local develop staging production"
case "$action" in plan | apply | destroy) ;; *) die "usage: go tool task plan|apply|destroy ENV=<$envs>" ;; esac
[ -n "$env" ] || die "$action: set ENV, one of: $envs (e.g. go tool task $action ENV=develop)"
case " $envs " in *" $env "*) ;; *) die "$action: unknown ENV '$env'; one of: $envs" ;; esac
dir="$ROOT/environments/$env"
if ! ls "$dir"/*.tf >/dev/null 2>&1; then
  die "$action: environments/$env has no Terraform root in this checkout"
fi

"$ROOT/hack/tf-mirror.sh" >/dev/null
cd "$dir"
init=(init -input=false)
[ -f backend.hcl ] && init+=(-backend-config=backend.hcl)
terraform "${init[@]}" >/dev/null
vars=()
[ -f "$env.tfvars" ] && vars+=(-var-file="$env.tfvars")
case "$action" in
plan) terraform plan -input=false "${vars[@]}" "$@" ;;
apply) terraform apply -input=false "${vars[@]}" "$@" ;;
destroy) terraform destroy -input=false "${vars[@]}" "$@" ;;
esac
