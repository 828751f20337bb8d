locals {
  cluster_path = coalesce(var.cluster_path, "flux/clusters/${var.cluster_name}")

  # Presence of the secrets is not secret: it decides which objects exist.
  sops_enabled = nonsensitive(var.sops_age_key != null)
  git_auth     = nonsensitive(var.git_token != null)
  ghcr_enabled = nonsensitive(var.ghcr.enabled)
  ghcr_secret  = nonsensitive(var.ghcr.secret_name)

  # The FluxInstance's sync Kustomization (flux-system/flux-system) decrypts
  # SOPS-encrypted manifests with the key in the sops-age Secret.
  sops_patch = {
    target = { kind = "Kustomization", name = "flux-system" }
    patch  = <<-EOT
      apiVersion: kustomize.toolkit.fluxcd.io/v1
      kind: Kustomization
      metadata:
        name: flux-system
      spec:
        decryption:
          provider: sops
          secretRef:
            name: sops-age
    EOT
  }

  kustomize_patches = concat(local.sops_enabled ? [local.sops_patch] : [], var.kustomize_patches)
}

resource "platform_flux_instance" "this" {
  kubeconfig             = var.kubeconfig
  operator_version       = var.operator_version
  operator_manifest_path = var.operator_manifest_path

  distribution = {
    version  = var.distribution_version
    registry = var.distribution_registry
  }

  components = var.components

  cluster = {
    size           = var.cluster_size
    network_policy = var.network_policy
    domain         = var.cluster_domain
  }

  sync = {
    kind = "GitRepository"
    url  = var.git_url
    ref  = var.git_ref
    path = local.cluster_path
  }

  kustomize_patches = length(local.kustomize_patches) > 0 ? local.kustomize_patches : null

  sops_age_key    = var.sops_age_key
  git_credentials = local.git_auth ? { token = var.git_token } : null
  ghcr_credentials = local.ghcr_enabled ? {
    username    = var.ghcr.username
    password    = var.ghcr.token
    secret_name = var.ghcr.secret_name
  } : null

  wait     = var.wait
  timeouts = var.timeouts
}

# The cluster's post-build variables (cluster_variables), e.g. the k3s release
# the upgrade Plans carry. Written after the FluxInstance (its namespace exists
# then); the Kustomizations that substitute from it wait and retry until it
# does. The watch label makes kustomize-controller reconcile them as soon as a
# value changes, not only at their interval.
resource "platform_cluster_secret" "variables" {
  count      = length(var.cluster_variables) > 0 ? 1 : 0
  kubeconfig = var.kubeconfig
  namespace  = "flux-system"
  name       = "cluster-variables"
  data       = var.cluster_variables
  labels     = { "reconcile.fluxcd.io/watch" = "Enabled" }

  depends_on = [platform_flux_instance.this]
}
