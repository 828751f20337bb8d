output "kubeconfig" {
  description = "Admin kubeconfig of the cluster (sensitive)."
  value       = module.cluster.kubeconfig
  sensitive   = true
}

output "api_endpoint" {
  description = "URL of the Kubernetes API."
  value       = module.cluster.api_endpoint
}

output "node_names" {
  description = "Every node's name, control plane first."
  value       = module.cluster.node_names
}

output "server_ipv4" {
  description = "Public IPv4 of each control-plane server."
  value       = module.cluster.server_ipv4
}

output "agent_ipv4" {
  description = "Public IPv4 of each agent."
  value       = module.cluster.agent_ipv4
}

output "network_id" {
  description = "ID of the private network."
  value       = module.cluster.network_id
}

output "load_balancer_ipv4" {
  description = "Public IPv4 of the API load balancer, or null without one."
  value       = module.cluster.load_balancer_ipv4
}

output "flux_cluster_path" {
  description = "Entry point Flux syncs."
  value       = module.flux.cluster_path
}
