output "name" {
  description = "Cluster name (`kind get clusters`)."
  value       = platform_kind_cluster.this.name
}

output "kubeconfig" {
  description = "Admin kubeconfig; the API server is on the host's loopback. Store it like a password."
  value       = platform_kind_cluster.this.kubeconfig
  sensitive   = true
}

output "endpoint" {
  description = "API server URL, e.g. `https://127.0.0.1:41235`."
  value       = platform_kind_cluster.this.endpoint
}

output "cluster_ca_certificate" {
  description = "PEM of the cluster CA (what clients trust)."
  value       = platform_kind_cluster.this.cluster_ca_certificate
  sensitive   = true
}

output "ingress_http_url" {
  description = "Base URL of the ingress on the host (HTTP), or null without ingress."
  value       = var.ingress.enabled ? "http://${var.ingress.listen_address}${var.ingress.http_port == 80 ? "" : ":${var.ingress.http_port}"}" : null
}

output "ingress_https_url" {
  description = "Base URL of the ingress on the host (HTTPS), or null without ingress."
  value       = var.ingress.enabled ? "https://${var.ingress.listen_address}${var.ingress.https_port == 443 ? "" : ":${var.ingress.https_port}"}" : null
}

output "node_count" {
  description = "Number of nodes: one control plane plus the workers."
  value       = 1 + var.workers
}
