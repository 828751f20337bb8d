variable "kubeconfig" {
  description = "Admin kubeconfig (YAML) of the cluster, e.g. the `kubeconfig` output of modules/hcloud-k3s-cluster or modules/kind-cluster. Only used when the resource is applied, so it may be unknown at plan time."
  type        = string
  sensitive   = true
  nullable    = false
}

variable "cluster_name" {
  description = "Name of the Flux cluster entry point under flux/clusters/ (local, shared, develop, staging, production); used to derive `cluster_path`."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.cluster_name))
    error_message = "The cluster_name must be a DNS label: lowercase letters, digits and '-', at most 63 characters."
  }
}

variable "cluster_path" {
  description = "Path in the Git repository Flux syncs (the cluster's entry point). Default: `flux/clusters/<cluster_name>`; set it to e.g. `flux/clusters/shared` to run the shared topology."
  type        = string
  default     = null

  validation {
    condition     = var.cluster_path == null || can(regex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.cluster_path)) && !can(regex("(^|/)\\.\\.?(/|$)", coalesce(var.cluster_path, "x")))
    error_message = "The cluster_path must be a relative path inside the repository (no leading '/', no '.' or '..' segments), e.g. flux/clusters/develop."
  }
}

variable "git_url" {
  description = "URL of the GitOps repository (`https://`, `http://` or `ssh://`)."
  type        = string
  default     = "https://github.com/sre-platform/platform.git"
  nullable    = false

  validation {
    condition     = can(regex("^(https?|ssh)://[^\\s]+$", var.git_url))
    error_message = "The git_url must start with https://, http:// or ssh://."
  }
}

variable "git_ref" {
  description = "Git reference to sync, e.g. `refs/heads/main` or `refs/tags/v1.2.3`."
  type        = string
  default     = "refs/heads/main"
  nullable    = false

  validation {
    condition     = can(regex("^refs/(heads|tags)/[^\\s]+$", var.git_ref))
    error_message = "The git_ref must be a full reference: refs/heads/<branch> or refs/tags/<tag>."
  }
}

variable "git_token" {
  description = "Token for HTTPS access to the repository (sent as the password of user `git`); creates the `flux-system` Secret the sync pulls with. Write access is needed where image automation pushes. Null for a public repository."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.git_token == null || length(trimspace(coalesce(var.git_token, "x"))) > 0
    error_message = "The git_token must not be empty: leave it null for a public repository."
  }
}

variable "operator_version" {
  description = "Flux Operator release (`vX.Y.Z`) whose install manifest is downloaded; null takes the provider's default (v0.59.0). Leave it null with `operator_manifest_path`: the local manifest decides the version."
  type        = string
  default     = null

  validation {
    condition     = var.operator_version == null || can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+$", coalesce(var.operator_version, "x")))
    error_message = "The operator_version must be a release tag such as v0.59.0."
  }
}

variable "operator_manifest_path" {
  description = "Local copy of the operator's install.yaml (air-gapped installs and the sandbox: `go run ./test/cmd/flux-operator-manifest` writes one). Null downloads the release asset of `operator_version`. Set only one of the two."
  type        = string
  default     = null
}

variable "distribution_version" {
  description = "Flux version or semver range the operator installs, e.g. `2.9.x`."
  type        = string
  default     = "2.9.x"
  nullable    = false

  validation {
    condition     = can(regex("^v?[0-9]+(\\.([0-9]+|x))?(\\.([0-9]+|x))?$", var.distribution_version))
    error_message = "The distribution_version must be a version or range such as 2.x, 2.9.x or 2.9.6."
  }
}

variable "distribution_registry" {
  description = "Registry of the Flux controller images (host and path, no scheme); change it for a registry mirror."
  type        = string
  default     = "ghcr.io/fluxcd"
  nullable    = false
}

variable "components" {
  description = "Flux controllers to run. The default includes image-reflector-controller and image-automation-controller for image automation; source- and kustomize-controller are required."
  type        = list(string)
  default = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
  ]
  nullable = false

  validation {
    condition = alltrue([for c in var.components : contains([
      "source-controller", "kustomize-controller", "helm-controller", "notification-controller",
      "image-reflector-controller", "image-automation-controller", "source-watcher",
    ], c)])
    error_message = "Unknown component: use source-controller, kustomize-controller, helm-controller, notification-controller, image-reflector-controller, image-automation-controller or source-watcher."
  }

  validation {
    condition     = length(distinct(var.components)) == length(var.components)
    error_message = "The components must be unique."
  }

  validation {
    condition     = contains(var.components, "source-controller") && contains(var.components, "kustomize-controller")
    error_message = "The components must include source-controller and kustomize-controller (the Git sync needs them)."
  }

  validation {
    condition     = !contains(var.components, "image-automation-controller") || contains(var.components, "image-reflector-controller")
    error_message = "image-automation-controller needs image-reflector-controller."
  }
}

variable "cluster_size" {
  description = "Cluster size hint for the controllers' resources and concurrency: `small`, `medium` or `large`; null leaves the operator's default."
  type        = string
  default     = null

  validation {
    condition     = var.cluster_size == null || contains(["small", "medium", "large"], coalesce(var.cluster_size, "small"))
    error_message = "The cluster_size must be small, medium or large."
  }
}

variable "network_policy" {
  description = "Install network policies that restrict traffic in flux-system."
  type        = bool
  default     = true
  nullable    = false
}

variable "cluster_domain" {
  description = "The cluster's DNS domain."
  type        = string
  default     = "cluster.local"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$", var.cluster_domain))
    error_message = "The cluster_domain must be a DNS name such as cluster.local."
  }
}

variable "sops_age_key" {
  description = "SOPS age private key (age-keygen output). When set, the `sops-age` Secret is created in flux-system and the sync Kustomization decrypts SOPS secrets with it. Null: no decryption."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.sops_age_key == null || can(regex("AGE-SECRET-KEY-1[0-9A-Z]{58}", coalesce(var.sops_age_key, "x")))
    error_message = "The sops_age_key must be age-keygen output with an AGE-SECRET-KEY-1... line."
  }
}

variable "ghcr" {
  description = "Pull credentials for ghcr.io (a token with read:packages), stored as the `kubernetes.io/dockerconfigjson` Secret `secret_name` in flux-system; created only when `enabled`. The module creates only this Secret: the GitOps tree uses it by name (ImageRepository and OCIRepository `secretRef`, and ResourceSet copies into each environment namespace for the pods' imagePullSecrets)."
  type = object({
    enabled     = bool
    username    = optional(string)
    token       = optional(string)
    secret_name = optional(string, "ghcr-auth")
  })
  default   = { enabled = false }
  sensitive = true
  nullable  = false

  validation {
    condition     = !var.ghcr.enabled || (try(length(trimspace(var.ghcr.username)), 0) > 0 && try(length(trimspace(var.ghcr.token)), 0) > 0)
    error_message = "With ghcr.enabled = true, ghcr.username and ghcr.token are required."
  }

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", var.ghcr.secret_name))
    error_message = "The ghcr.secret_name must be a Kubernetes object name."
  }
}

variable "kustomize_patches" {
  description = "Further patches the operator applies to the Flux manifests (after the SOPS decryption patch)."
  type = list(object({
    patch = string
    target = optional(object({
      group               = optional(string)
      version             = optional(string)
      kind                = optional(string)
      name                = optional(string)
      namespace           = optional(string)
      label_selector      = optional(string)
      annotation_selector = optional(string)
    }))
  }))
  default  = []
  nullable = false
}

variable "wait" {
  description = "Wait until the FluxInstance is Ready. Set false where no pods run (the sandbox) or to return right after applying."
  type        = bool
  default     = true
  nullable    = false
}

variable "timeouts" {
  description = "Go durations for create, update and delete of the Flux installation."
  type = object({
    create = optional(string, "10m")
    update = optional(string, "10m")
    delete = optional(string, "5m")
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for v in [var.timeouts.create, var.timeouts.update, var.timeouts.delete] : can(regex("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$", v))])
    error_message = "The timeouts must be Go durations such as 90s, 10m or 1h30m."
  }
}

variable "cluster_variables" {
  description = <<-EOT
    Post-build variables for the cluster's Flux Kustomizations, written after the FluxInstance into the Secret
    `flux-system/cluster-variables` that a Kustomization reads with
    `spec.postBuild.substituteFrom: [{kind: Secret, name: cluster-variables}]`. Values Terraform already knows and git
    should not repeat, e.g. `{ K3S_VERSION = var.k3s_version }` for the k3s upgrade Plans (docs/runbooks/k3s-upgrade.md).
    Names are Flux variable names (letters, digits, `_`, not starting with a digit). Empty (the default): no Secret.
  EOT
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k in keys(var.cluster_variables) : can(regex("^[_a-zA-Z][_a-zA-Z0-9]*$", k))])
    error_message = "cluster_variables: names must be Flux post-build variable names: letters, digits and '_', not starting with a digit (e.g. K3S_VERSION)."
  }
}
