output "kubeconfig" {
  description = "Admin kubeconfig of the cluster: terraform output -raw kubeconfig > ~/.kube/develop (chmod 600)."
  value       = module.environment.kubeconfig
  sensitive   = true
}

output "api_endpoint" {
  description = "URL of the Kubernetes API."
  value       = module.environment.api_endpoint
}

output "node_names" {
  description = "Every node's name, control plane first."
  value       = module.environment.node_names
}

output "server_ipv4" {
  description = "Public IPv4 of each control-plane server."
  value       = module.environment.server_ipv4
}

output "agent_ipv4" {
  description = "Public IPv4 of each agent."
  value       = module.environment.agent_ipv4
}

output "network_id" {
  description = "ID of the private network."
  value       = module.environment.network_id
}

output "load_balancer_ipv4" {
  description = "Public IPv4 of the API load balancer, or null without one."
  value       = module.environment.load_balancer_ipv4
}

output "flux_cluster_path" {
  description = "Entry point Flux syncs."
  value       = module.environment.flux_cluster_path
}

output "upgrade_strategy" {
  description = "How a k3s_version change reaches the nodes: in-place or replace."
  value       = module.environment.upgrade_strategy
}

output "etcd_snapshots" {
  description = "Where the servers' etcd snapshots go: cron, retention and the S3 bucket (null without an upload)."
  value       = module.environment.etcd_snapshots
}

output "autoscaler_node_groups" {
  description = "cluster-autoscaler --nodes values of the autoscaled pools, for flux/infrastructure/controllers/<cluster>."
  value       = module.environment.autoscaler_node_groups
}
