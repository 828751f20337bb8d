# Inputs of the root: each passes straight to modules/hetzner-environment,
# which holds the defaults and the validation. An optional input left null
# takes the module's default (see its README); the provider settings
# (hcloud_endpoint, poll_interval) are the root's own.

variable "hcloud_token" {
  description = "Hetzner Cloud API token (read/write) of the environment's project: both providers use it, and the cluster's Secret kube-system/hcloud holds it, so it is required. Pass it as TF_VAR_hcloud_token (hack/tf-env.sh sets it from HCLOUD_TOKEN), never in a tfvars file."
  type        = string
  default     = null
  sensitive   = true
}

variable "hcloud_endpoint" {
  description = "Hetzner Cloud API endpoint of both providers (the sandbox's emulator in tests)."
  type        = string
  default     = "https://api.hetzner.cloud/v1"
  nullable    = false
}

variable "poll_interval" {
  description = "How often both providers poll running Hetzner actions (Go duration)."
  type        = string
  default     = "1s"
  nullable    = false
}

variable "cluster_name" {
  description = "Cluster name: prefix of every Hetzner resource and node name."
  type        = string
  nullable    = false
}

variable "k3s_version" {
  description = "k3s release of every node, e.g. v1.34.4+k3s1. Changing it rolls the nodes (see docs/runbooks/k3s-upgrade.md). Null: the module's default."
  type        = string
  default     = null
}

variable "location" {
  description = "Hetzner location of the control plane, the load balancer and pools without their own location. Null: the module's default."
  type        = string
  default     = null
}

variable "network_zone" {
  description = "Network zone of the private network; every location used must lie in it. Null: the module's default."
  type        = string
  default     = null
}

variable "network_cidr" {
  description = "IP range of the private network. Null: the module's default."
  type        = string
  default     = null
}

variable "subnet_cidr" {
  description = "IP range of the nodes' subnet inside network_cidr. Null: the module's default."
  type        = string
  default     = null
}

variable "image" {
  description = "Hetzner image of every node. Null: the module's default."
  type        = string
  default     = null
}

variable "server_type" {
  description = "Hetzner server type of the control-plane servers. Null: the module's default."
  type        = string
  default     = null
}

variable "server_count" {
  description = "Number of control-plane servers: 1, or an odd number >= 3 for etcd quorum. Null: the module's default."
  type        = number
  default     = null
}

variable "agent_pools" {
  description = "Agent pools by name: server_type, count, optional labels, taints and location, or autoscaling = { min, max } instead of count for a pool the cluster autoscaler sizes (needs hcloud_cloud_controller; docs/runbooks/autoscaling.md). Null: the module's default."
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
  default = null
}

variable "load_balancer" {
  description = "API load balancer in front of the control plane: enabled and type (lb11, lb21, lb31). Null: the module's default."
  type = object({
    enabled = bool
    type    = optional(string, "lb11")
  })
  default = null
}

variable "api_allowed_cidrs" {
  description = "Source CIDRs allowed to reach the Kubernetes API on the servers; must include where Terraform and kubectl run (the provider checks readiness and drains through it). Required: each <env>.tfvars holds a documentation placeholder (RFC 5737 / RFC 3849) to replace with your own, and against Hetzner's API a placeholder fails the plan. Ranges wider than /8 (IPv4) or /16 (IPv6) also need allow_public_api."
  type        = list(string)
  nullable    = false
}

variable "allow_public_api" {
  description = "Accept api_allowed_cidrs wider than /8 (IPv4) or /16 (IPv6), such as 0.0.0.0/0: the API port open to the internet, guarded by client certificates only. Null: the module's default."
  type        = bool
  default     = null
}

variable "ssh_allowed_cidrs" {
  description = "Source CIDRs allowed to reach SSH; empty keeps SSH closed. Null: the module's default."
  type        = list(string)
  default     = null
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
  description = "Snapshots each server keeps, on its disk and, with etcd_s3, in the bucket folder. Null: k3s' default (5)."
  type        = number
  default     = null
}

variable "etcd_s3" {
  description = "Upload of every etcd snapshot to S3-compatible object storage (endpoint, bucket, optional folder and region); null uploads nothing. Needs etcd_s3_credentials (docs/runbooks/etcd-restore.md)."
  type = object({
    endpoint = string
    bucket   = string
    folder   = optional(string)
    region   = optional(string)
  })
  default = null
}

variable "etcd_s3_credentials" {
  description = "Access key and secret key of the etcd snapshot bucket, required with etcd_s3. Pass them as TF_VAR_etcd_s3_credentials='{access_key=\"…\",secret_key=\"…\"}', never in a tfvars file."
  type = object({
    access_key = string
    secret_key = string
  })
  default   = null
  sensitive = true
}

variable "upgrade_strategy" {
  description = "How a k3s_version change reaches the running nodes: in-place (the system-upgrade-controller upgrades them, servers first) or replace (new servers). Null: the module's default, in-place."
  type        = string
  default     = null
}

variable "hcloud_cloud_controller" {
  description = "The Hetzner cloud-controller-manager owns node initialisation (needed by autoscaled pools); changing it replaces every node. Null: the module's default (false)."
  type        = bool
  default     = null
}

variable "labels" {
  description = "Extra Hetzner labels on every resource (beside environment). Null: the module's default."
  type        = map(string)
  default     = null
}

variable "flux_cluster_path" {
  description = "Entry point Flux syncs. Null: flux/clusters/<environment>; flux/clusters/shared runs all three environments on this cluster."
  type        = string
  default     = null
}

variable "git_url" {
  description = "URL of the GitOps repository. Null: the module's default."
  type        = string
  default     = null
}

variable "git_ref" {
  description = "Git reference Flux syncs. Null: the module's default."
  type        = string
  default     = null
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
  description = "Flux Operator release whose install manifest is downloaded from GitHub, unless flux_operator_manifest_path is set. Null: the module's default."
  type        = string
  default     = null
}

variable "flux_operator_manifest_path" {
  description = "Local copy of the Flux Operator install manifest, for air-gapped runs (`go run ./test/cmd/flux-operator-manifest` writes one). Null: download the flux_operator_version release from GitHub."
  type        = string
  default     = null
}

variable "flux_cluster_size" {
  description = "Flux controllers' size class: small, medium or large. Null: the module's default."
  type        = string
  default     = null
}

variable "flux_wait" {
  description = "Wait until the FluxInstance is Ready. Null: the module's default."
  type        = bool
  default     = null
}
