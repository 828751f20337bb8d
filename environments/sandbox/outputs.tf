output "kubeconfig" {
  description = "Admin kubeconfig of the sandbox cluster (`go tool task up` writes it to .cache/sandbox/kubeconfig)."
  value       = module.cluster.kubeconfig
  sensitive   = true
}

output "api_endpoint" {
  description = "URL of the Kubernetes API (a loopback address of the sandbox)."
  value       = module.cluster.api_endpoint
}

output "node_names" {
  description = "Every node's name, control plane first."
  value       = module.cluster.node_names
}

output "network_id" {
  description = "ID of the private network in the emulator."
  value       = module.cluster.network_id
}

output "flux_cluster_path" {
  description = "Entry point the FluxInstance names."
  value       = module.flux.cluster_path
}

output "app_url" {
  description = "The frontend through the apps load balancer (its API calls reach the backend through nginx in the cluster)."
  value       = "http://${hcloud_load_balancer.apps.ipv4}/"
}
