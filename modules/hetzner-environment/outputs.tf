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

output "autoscaler_node_groups" {
  description = "cluster-autoscaler --nodes values, one per autoscaled pool (<min>:<max>:<type>:<location>:<cluster>-<pool>), for the cluster's flux/infrastructure/controllers/<cluster> patch; empty without autoscaled pools."
  value       = module.cluster.autoscaler_node_groups
}

output "cluster_variables" {
  description = "<namespace>/<name> of the Secret with the Flux post-build variables (K3S_VERSION) that the upgrade Plans read."
  value       = module.flux.cluster_variables_secret
}

output "upgrade_strategy" {
  description = "How a k3s_version change reaches the nodes: in-place (the system-upgrade-controller) or replace."
  value       = module.cluster.upgrade_strategy
}

output "etcd_snapshots" {
  description = "Where the servers' etcd snapshots go: cron, retention and the S3 bucket (endpoint, bucket, folder, region; null without an upload)."
  value       = module.cluster.etcd_snapshots
}
