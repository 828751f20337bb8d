resource "platform_k3s_cluster" "example" {
  name        = "example"
  k3s_version = "v1.31.4+k3s1"

  # The API load balancer's address (or a server's IP for a single server).
  api_endpoint = "203.0.113.10"
}

output "kubeconfig" {
  value     = platform_k3s_cluster.example.kubeconfig
  sensitive = true
}
