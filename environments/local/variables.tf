variable "cluster_name" {
  description = "kind cluster name (node containers <cluster_name>-control-plane, -worker, ...)."
  type        = string
  default     = "platform-local"
  nullable    = false
}

variable "node_image" {
  description = "kindest/node image (with digest); null takes kind v0.33.0's default."
  type        = string
  default     = null
}

variable "workers" {
  description = "Number of worker nodes."
  type        = number
  default     = 1
  nullable    = false
}

variable "ingress_http_port" {
  description = "Host port on 127.0.0.1 for the ingress controller's HTTP port."
  type        = number
  default     = 80
  nullable    = false
}

variable "ingress_https_port" {
  description = "Host port on 127.0.0.1 for the ingress controller's HTTPS port."
  type        = number
  default     = 443
  nullable    = false
}

variable "git_url" {
  description = "URL of the GitOps repository."
  type        = string
  default     = "https://github.com/sre-platform/platform.git"
  nullable    = false
}

variable "git_ref" {
  description = "Git reference Flux syncs (e.g. a feature branch under test)."
  type        = string
  default     = "refs/heads/main"
  nullable    = false
}

variable "git_token" {
  description = "Read-only HTTPS token for a private repository; null for a public one. Pass it as TF_VAR_git_token."
  type        = string
  default     = null
  sensitive   = true
}

variable "operator_manifest_path" {
  description = "Local Flux Operator install.yaml (offline: go run ./test/cmd/flux-operator-manifest); null downloads the release."
  type        = string
  default     = null
}

variable "flux_wait" {
  description = "Wait until the FluxInstance is Ready (the controllers run on kind)."
  type        = bool
  default     = true
  nullable    = false
}
