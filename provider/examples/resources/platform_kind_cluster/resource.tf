resource "platform_kind_cluster" "local" {
  name = "platform-local"

  nodes = [
    {
      role   = "control-plane"
      labels = { "ingress-ready" = "true" }
      # The ingress controller's ports on the host's loopback.
      extra_port_mappings = [
        { container_port = 80, host_port = 8080, listen_address = "127.0.0.1" },
        { container_port = 443, host_port = 8443, listen_address = "127.0.0.1" },
      ]
    },
    { role = "worker" },
  ]

  wait_for_ready = "5m"
}

output "kubeconfig" {
  value     = platform_kind_cluster.local.kubeconfig
  sensitive = true
}

output "endpoint" {
  value = platform_kind_cluster.local.endpoint
}
