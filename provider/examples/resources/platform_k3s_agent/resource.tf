resource "platform_k3s_agent" "worker" {
  count       = 3
  name        = "example-worker-${count.index + 1}"
  server_type = "cx32"
  location    = "fsn1"
  k3s_version = platform_k3s_cluster.this.k3s_version
  token       = platform_k3s_cluster.this.agent_token
  server_url  = "https://10.0.1.2:6443"
  kubeconfig  = platform_k3s_server.first.kubeconfig
  network_id  = 1234567
  node_labels = { pool = "workers" }
  node_taints = ["dedicated=batch:NoSchedule"]

  # Replace workers one at a time on upgrades (new k3s_version, new image).
  lifecycle {
    create_before_destroy = true
  }
}
