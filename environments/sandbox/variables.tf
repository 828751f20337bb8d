variable "hcloud_endpoint" {
  description = "Hetzner API of the sandbox (hack/sandbox.sh: http://$PLATFORM_SANDBOX_LISTEN/v1)."
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
  description = "Local Flux Operator install.yaml: the sandbox has no route to GitHub. hack/sandbox.sh passes .cache/flux-operator/<version>/install.yaml, written by `go run ./test/cmd/flux-operator-manifest`."
  type        = string
  nullable    = false
}

variable "flux_cluster_path" {
  description = "Entry point the FluxInstance names. Nothing is synced in the sandbox (no pods run); the shared topology mirrors one cluster hosting every environment."
  type        = string
  default     = "flux/clusters/shared"
  nullable    = false
}
