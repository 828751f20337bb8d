resource "platform_k3s_cluster" "this" {
  name        = "example"
  k3s_version = "v1.31.4+k3s1"
}

# The first server starts the cluster (embedded etcd).
resource "platform_k3s_server" "first" {
  name           = "example-cp-1"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.this.k3s_version
  cluster_bundle = platform_k3s_cluster.this.server_bundle
  cluster_init   = true
  network_id     = 1234567
  private_ip     = "10.0.1.2"
  firewall_ids   = [7654321]
  disable        = ["traefik"]
  labels         = { env = "develop" }

  timeouts = {
    create = "20m"
  }
}

# Further servers join through the first one (or the API load balancer).
resource "platform_k3s_server" "more" {
  count          = 2
  name           = "example-cp-${count.index + 2}"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.this.k3s_version
  cluster_bundle = platform_k3s_cluster.this.server_bundle
  server_url     = "https://10.0.1.2:6443"
  network_id     = 1234567
  private_ip     = "10.0.1.${count.index + 3}"
}
