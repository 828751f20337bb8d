variable "hcloud_endpoint" {
  description = "Hetzner API of the sandbox (`go tool task up` passes http://$PLATFORM_SANDBOX_LISTEN/v1)."
  type        = string
  default     = "http://127.0.0.1:8480/v1"
  nullable    = false
}

variable "hcloud_token" {
  description = "API token of the sandbox project (.cache/sandbox/token, 64 characters); also written to the cluster's Secret kube-system/hcloud. Null: the providers read HCLOUD_TOKEN and no such Secret is created."
  type        = string
  default     = null
  sensitive   = true
}

variable "poll_interval" {
  description = "How often both providers poll running actions; the emulator finishes them quickly."
  type        = string
  default     = "100ms"
  nullable    = false
}

variable "cluster_name" {
  description = "Cluster name: prefix of every resource and node name (the first server is <cluster_name>-cp-1)."
  type        = string
  default     = "sandbox"
  nullable    = false
}

variable "k3s_version" {
  description = "k3s release written into the nodes' cloud-init (the sandbox serves kube-apiserver v1.34.4 whatever it says)."
  type        = string
  default     = "v1.34.4+k3s1"
  nullable    = false
}

variable "server_count" {
  description = "Number of control-plane servers (1, or an odd number >= 3)."
  type        = number
  default     = 1
  nullable    = false
}

variable "agent_count" {
  description = "Number of agents in the `workers` pool (tests scale it)."
  type        = number
  default     = 1
  nullable    = false
}

variable "api_allowed_cidrs" {
  description = "Source CIDRs allowed to reach the Kubernetes API. Open by default: the emulator filters no traffic, and the servers listen on loopback addresses. The Hetzner roots have no such default."
  type        = list(string)
  default     = ["0.0.0.0/0", "::/0"]
  nullable    = false
}

variable "operator_manifest_path" {
  description = "Local Flux Operator install.yaml: the sandbox has no route to GitHub. `go tool task up` passes .cache/flux-operator/<version>/install.yaml, which it writes (as `go run ./test/cmd/flux-operator-manifest` does)."
  type        = string
  nullable    = false
}

variable "flux_cluster_path" {
  description = "Entry point the FluxInstance syncs: the sandbox's own (the develop apps, without what needs charts from the internet)."
  type        = string
  default     = "flux/clusters/sandbox"
  nullable    = false
}

variable "flux_git_url" {
  description = "Repository Flux syncs. `go tool task up` publishes the checkout's working tree to the sandbox's Git server, which every real node and pod reaches on 169.254.100.1."
  type        = string
  default     = "http://169.254.100.1/platform.git"
  nullable    = false
}

variable "flux_git_ref" {
  description = "Reference Flux syncs: the branch `up` publishes the working tree to."
  type        = string
  default     = "refs/heads/sandbox"
  nullable    = false
}

variable "flux_wait" {
  description = "Wait for the FluxInstance to be Ready (Flux installed and the first sync applied). True with real nodes; false where no pod runs (API-only nodes)."
  type        = bool
  default     = true
  nullable    = false
}

variable "sops_age_key" {
  description = "age private key kustomize-controller decrypts SOPS Secrets with (the `sops-age` Secret); `go tool task up` creates one per sandbox (.cache/sandbox/age.agekey, 0600) and publishes the Secrets of flux/secrets/sandbox encrypted to it; never in the checkout."
  type        = string
  default     = null
  sensitive   = true
}

variable "frontend_node_port" {
  description = "NodePort of the frontend Service (flux/apps/environments/sandbox) the apps load balancer forwards port 80 to."
  type        = number
  default     = 30080
  nullable    = false

  validation {
    condition     = var.frontend_node_port >= 30000 && var.frontend_node_port <= 32767
    error_message = "The frontend_node_port must be in the NodePort range 30000-32767."
  }
}
