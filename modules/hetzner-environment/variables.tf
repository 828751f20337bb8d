# ---------------------------------------------------------------- environment

variable "environment" {
  description = "The environment this cluster hosts: develop, staging or production. It becomes the label environment=<name> on every Hetzner resource, the FluxInstance's cluster name and the default entry point flux/clusters/<environment>."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["develop", "staging", "production"], var.environment)
    error_message = "The environment must be develop, staging or production (the namespaces and flux/clusters/ entry points the GitOps tree defines)."
  }
}

# ---------------------------------------------------------------- Hetzner API

variable "hcloud_token" {
  description = "Hetzner Cloud API token (read/write) of the environment's project: the cluster's Secret kube-system/hcloud (cloud-controller-manager, CSI driver) holds it, so it is required (a null token fails the plan). The root passes the token its providers use; never put it in a tfvars file."
  type        = string
  default     = null
  sensitive   = true
}

variable "hcloud_endpoint" {
  description = "Hetzner Cloud API endpoint the root's providers use: at Hetzner's own (the default), api_allowed_cidrs refuses documentation placeholders; any other endpoint (the sandbox's emulator) accepts them."
  type        = string
  default     = "https://api.hetzner.cloud/v1"
  nullable    = false
}

# ---------------------------------------------------------------- cluster

variable "cluster_name" {
  description = "Cluster name: prefix of every Hetzner resource and node name."
  type        = string
  nullable    = false
}

variable "k3s_version" {
  description = "k3s release of every node, e.g. v1.34.4+k3s1: what new nodes boot and, with upgrade_strategy = \"in-place\", the release the system-upgrade-controller moves the running nodes to (written into the Secret flux-system/cluster-variables as K3S_VERSION). See docs/runbooks/k3s-upgrade.md."
  type        = string
  default     = "v1.34.4+k3s1"
  nullable    = false
}

variable "upgrade_strategy" {
  description = "How a k3s_version change reaches running nodes: \"in-place\" (the default here) keeps the servers and lets the system-upgrade-controller upgrade them, servers first, one at a time; \"replace\" replaces every node (the first server's replacement starts an empty etcd)."
  type        = string
  default     = "in-place"
  nullable    = false
}

variable "location" {
  description = "Hetzner location of the control plane, the load balancer and pools without their own location."
  type        = string
  default     = "fsn1"
  nullable    = false
}

variable "network_zone" {
  description = "Network zone of the private network; every location used must lie in it."
  type        = string
  default     = "eu-central"
  nullable    = false
}

variable "network_cidr" {
  description = "IP range of the private network."
  type        = string
  default     = "10.0.0.0/16"
  nullable    = false
}

variable "subnet_cidr" {
  description = "IP range of the nodes' subnet inside network_cidr."
  type        = string
  default     = "10.0.1.0/24"
  nullable    = false
}

variable "image" {
  description = "Hetzner image of every node."
  type        = string
  default     = "ubuntu-24.04"
  nullable    = false
}

variable "server_type" {
  description = "Hetzner server type of the control-plane servers."
  type        = string
  default     = "cx22"
  nullable    = false
}

variable "server_count" {
  description = "Number of control-plane servers: 1, or an odd number >= 3 for etcd quorum."
  type        = number
  default     = 1
  nullable    = false
}

variable "agent_pools" {
  description = "Agent pools by name: server_type, count, optional labels, taints and location, or instead of count autoscaling = { min, max } for a pool the cluster autoscaler sizes (needs hcloud_cloud_controller; see modules/hcloud-k3s-cluster and docs/runbooks/autoscaling.md)."
  type = map(object({
    server_type = string
    count       = optional(number, 0)
    labels      = optional(map(string), {})
    taints      = optional(list(string), [])
    location    = optional(string)
    autoscaling = optional(object({
      min = number
      max = number
    }))
  }))
  default  = {}
  nullable = false
}

variable "load_balancer" {
  description = "API load balancer in front of the control plane: enabled and type (lb11, lb21, lb31)."
  type = object({
    enabled = bool
    type    = optional(string, "lb11")
  })
  default  = { enabled = false }
  nullable = false
}

variable "api_allowed_cidrs" {
  description = "Source CIDRs allowed to reach the Kubernetes API on the servers; must include where Terraform and kubectl run (the provider checks readiness and drains through it). Required: each <env>.tfvars holds a documentation placeholder (RFC 5737 / RFC 3849) to replace with your own, and against Hetzner's API a placeholder fails the plan. Ranges wider than /8 (IPv4) or /16 (IPv6) also need allow_public_api."
  type        = list(string)
  nullable    = false

  validation {
    condition = var.hcloud_endpoint != "https://api.hetzner.cloud/v1" || !anytrue([for c in var.api_allowed_cidrs : try(
      (!strcontains(c, ":") && tonumber(split("/", c)[1]) >= 24 &&
      contains(["192.0.2.0", "198.51.100.0", "203.0.113.0"], cidrhost("${cidrhost(c, 0)}/24", 0))) ||
      (strcontains(c, ":") && tonumber(split("/", c)[1]) >= 32 && cidrhost("${cidrhost(c, 0)}/32", 0) == "2001:db8::"),
    false)])
    error_message = "api_allowed_cidrs still holds a documentation placeholder (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 or 2001:db8::/32 are never real sources): replace it in <env>.tfvars with the CIDRs of the machines that run Terraform and kubectl, e.g. your office's or CI runner's public address as a /32."
  }
}

variable "allow_public_api" {
  description = "Accept api_allowed_cidrs wider than /8 (IPv4) or /16 (IPv6), such as 0.0.0.0/0: the API port open to the internet, guarded by client certificates only."
  type        = bool
  default     = false
  nullable    = false
}

variable "ssh_allowed_cidrs" {
  description = "Source CIDRs allowed to reach SSH; empty keeps SSH closed."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "ssh_public_key" {
  description = "OpenSSH public key for the nodes; null installs none."
  type        = string
  default     = null
}

variable "etcd_snapshot_cron" {
  description = "Schedule of k3s etcd snapshots on the servers (five-field cron); null keeps k3s' default (every 12 hours)."
  type        = string
  default     = "0 */6 * * *"
}

variable "etcd_snapshot_retention" {
  description = "Snapshots each server keeps (k3s etcd-snapshot-retention), on its disk and, with etcd_s3, in the bucket folder; null keeps k3s' default (5)."
  type        = number
  default     = null
}

variable "etcd_s3" {
  description = "Upload of every etcd snapshot to S3-compatible object storage (Hetzner Object Storage or any S3): endpoint (host[:port], HTTPS), bucket (must exist), optional folder and region; null uploads nothing. Needs etcd_s3_credentials. Part of every server's cloud-init: changing it replaces the servers. See docs/runbooks/etcd-restore.md."
  type = object({
    endpoint = string
    bucket   = string
    folder   = optional(string)
    region   = optional(string)
  })
  default = null
}

variable "etcd_s3_credentials" {
  description = "Access key and secret key for etcd_s3 (required with it). Pass them as TF_VAR_etcd_s3_credentials='{access_key=\"…\",secret_key=\"…\"}', never in a tfvars file."
  type = object({
    access_key = string
    secret_key = string
  })
  default   = null
  sensitive = true
}

variable "hcloud_cloud_controller" {
  description = "The Hetzner cloud-controller-manager (flux/infrastructure/controllers/hcloud) owns node initialisation: every node runs with cloud-provider=external and k3s' own cloud controller and ServiceLB are off. Needed by autoscaled agent pools. Changing it replaces every node."
  type        = bool
  default     = false
  nullable    = false
}

variable "labels" {
  description = "Extra Hetzner labels on every resource (beside environment)."
  type        = map(string)
  default     = {}
  nullable    = false
}

# ---------------------------------------------------------------- Flux

variable "flux_cluster_path" {
  description = "Entry point Flux syncs. Null: flux/clusters/<environment>; flux/clusters/shared runs all three environments on this cluster."
  type        = string
  default     = null
}

variable "git_url" {
  description = "URL of the GitOps repository."
  type        = string
  default     = "https://github.com/sre-platform/platform.git"
  nullable    = false
}

variable "git_ref" {
  description = "Git reference Flux syncs."
  type        = string
  default     = "refs/heads/main"
  nullable    = false
}

variable "git_token" {
  description = "HTTPS token for the repository (write access where image automation pushes); null for a public repository. Pass it as TF_VAR_git_token."
  type        = string
  default     = null
  sensitive   = true
}

variable "sops_age_key" {
  description = "The environment's SOPS age private key (age-keygen output); Flux decrypts flux/secrets/<environment> with it. Pass it as TF_VAR_sops_age_key=\"$(cat .cache/sops/<environment>.agekey)\"."
  type        = string
  default     = null
  sensitive   = true
}

variable "ghcr_username" {
  description = "User of the ghcr.io pull credentials (with ghcr_token)."
  type        = string
  default     = null
}

variable "ghcr_token" {
  description = "ghcr.io token with read:packages; creates the ghcr-auth pull Secret in flux-system. Null: none. Pass it as TF_VAR_ghcr_token."
  type        = string
  default     = null
  sensitive   = true
}

variable "flux_operator_version" {
  description = "Flux Operator release whose install manifest is downloaded from GitHub, unless flux_operator_manifest_path is set."
  type        = string
  default     = "v0.59.0"
  nullable    = false
}

variable "flux_operator_manifest_path" {
  description = "Local copy of the Flux Operator install manifest, for air-gapped runs (`go run ./test/cmd/flux-operator-manifest` writes one). Null: download the flux_operator_version release from GitHub."
  type        = string
  default     = null
}

variable "flux_cluster_size" {
  description = "Flux controllers' size class: small, medium or large."
  type        = string
  default     = "medium"
  nullable    = false

  validation {
    condition     = contains(["small", "medium", "large"], var.flux_cluster_size)
    error_message = "The flux_cluster_size must be small, medium or large."
  }
}

variable "flux_wait" {
  description = "Wait until the FluxInstance is Ready."
  type        = bool
  default     = true
  nullable    = false
}
