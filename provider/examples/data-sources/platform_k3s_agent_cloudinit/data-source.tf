# The cloud-init of an autoscaled pool: every server the cluster autoscaler
# creates for node group "burst" boots from it and joins under its own name.
data "platform_k3s_agent_cloudinit" "burst" {
  k3s_version             = platform_k3s_cluster.this.k3s_version
  token                   = platform_k3s_cluster.this.agent_token
  server_url              = "https://10.0.1.2:6443"
  node_labels             = { "platform.sre/pool" = "burst" }
  node_taints             = ["dedicated=burst:NoSchedule"]
  external_cloud_provider = true
}

# cluster-autoscaler's Hetzner provider reads HCLOUD_CLUSTER_CONFIG.
locals {
  hcloud_cluster_config = base64encode(jsonencode({
    imagesForArch = { amd64 = "ubuntu-24.04", arm64 = "ubuntu-24.04" }
    nodeConfigs = {
      burst = {
        cloudInit = data.platform_k3s_agent_cloudinit.burst.user_data
        labels    = { "platform.sre/pool" = "burst" }
        taints    = [{ key = "dedicated", value = "burst", effect = "NoSchedule" }]
      }
    }
  }))
}
