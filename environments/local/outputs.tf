output "kubeconfig" {
  description = "Admin kubeconfig of the kind cluster: terraform output -raw kubeconfig > ~/.kube/platform-local (chmod 600)."
  value       = module.cluster.kubeconfig
  sensitive   = true
}

output "endpoint" {
  description = "API server URL on the host's loopback."
  value       = module.cluster.endpoint
}

output "ingress_http_url" {
  description = "Where the ingress answers on this machine."
  value       = module.cluster.ingress_http_url
}

output "flux_cluster_path" {
  description = "Entry point Flux syncs."
  value       = module.flux.cluster_path
}
