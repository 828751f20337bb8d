variable "kubeconfig" {
  description = "Admin kubeconfig of the cluster, e.g. platform_k3s_cluster.this.kubeconfig."
  type        = string
  sensitive   = true
}

variable "sops_age_key" {
  description = "SOPS age private key (age-keygen output) Flux decrypts secrets with."
  type        = string
  sensitive   = true
}

variable "git_token" {
  description = "Read-only token for the GitOps repository."
  type        = string
  sensitive   = true
}

resource "platform_flux_instance" "this" {
  kubeconfig       = var.kubeconfig
  operator_version = "v0.59.0"

  distribution = {
    version = "2.9.x"
  }

  cluster = {
    size           = "small"
    network_policy = true
  }

  sync = {
    kind = "GitRepository"
    url  = "https://github.com/sre-platform/platform.git"
    ref  = "refs/heads/main"
    path = "flux/clusters/develop"
  }

  # Make the sync Kustomization decrypt SOPS secrets with the sops-age Secret.
  kustomize_patches = [{
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
  }]

  sops_age_key    = var.sops_age_key
  git_credentials = { token = var.git_token }

  timeouts = {
    create = "10m"
    delete = "5m"
  }
}
