output "cluster_name" {
  description = "Name of the cluster (prefix of every resource name, `cluster` label)."
  value       = platform_k3s_cluster.this.name
}

output "kubeconfig" {
  description = "Admin kubeconfig (client certificate of system:masters) for `api_endpoint`. Store it like a password. Whatever uses it is created after, and destroyed before, every node, the load balancer's service and target (the path to the API), the cloud Secret and the autoscaler Secret."
  value       = local.kubeconfig
  sensitive   = true

  depends_on = [
    platform_k3s_server.first,
    platform_k3s_server.joining,
    platform_k3s_agent.this,
    hcloud_load_balancer_network.api,
    hcloud_load_balancer_service.api,
    hcloud_load_balancer_target.api,
    platform_cluster_secret.cloud,
    platform_cluster_secret.autoscaler,
  ]
}

output "api_host" {
  description = "Public IPv4 of the Kubernetes API: the load balancer's, or the first server's without one."
  value       = local.api_host
}

output "api_endpoint" {
  description = "URL of the Kubernetes API, `https://<api_host>:6443`."
  value       = "https://${local.api_host}:6443"
}

output "server_ipv4" {
  description = "Public IPv4 of each control-plane server, by server name."
  value = merge(
    { (platform_k3s_server.first.name) = platform_k3s_server.first.ipv4_address },
    { for s in platform_k3s_server.joining : s.name => s.ipv4_address },
  )
}

output "server_private_ips" {
  description = "Private IPv4 of each control-plane server in the subnet, by server name (known at plan time)."
  value       = zipmap(local.server_names, local.server_private_ips)
}

output "agent_ipv4" {
  description = "Public IPv4 of each agent, by server name."
  value       = { for a in platform_k3s_agent.this : a.name => a.ipv4_address }
}

output "node_names" {
  description = "Every node's name: control-plane servers (`<name>-cp-<n>`) first, then agents (`<name>-<pool>-<n>`) by pool."
  value       = concat(local.server_names, local.agent_names)
}

output "network_id" {
  description = "ID of the private network (for more servers, a cloud-controller-manager, ...)."
  value       = hcloud_network.this.id
}

output "subnet_id" {
  description = "ID of the nodes' subnet."
  value       = hcloud_network_subnet.nodes.id
}

output "firewall_id" {
  description = "ID of the nodes' firewall."
  value       = hcloud_firewall.this.id
}

output "load_balancer_ipv4" {
  description = "Public IPv4 of the API load balancer; null when `load_balancer.enabled` is false."
  value       = var.load_balancer.enabled ? hcloud_load_balancer.api[0].ipv4 : null
}

output "load_balancer_private_ip" {
  description = "Private IPv4 of the API load balancer in the subnet; null when it is disabled."
  value       = var.load_balancer.enabled ? local.lb_private_ip : null
}

output "server_ca_certificate" {
  description = "PEM of the CA that signs the API server certificates (what clients trust)."
  value       = platform_k3s_cluster.this.server_ca_certificate
}

output "cloud_secret" {
  description = "`<namespace>/<name>` of the Secret with the Hetzner token and the network ID that the cloud-controller-manager and CSI driver read; null when it is not created (`cloud_secret`, `hcloud_token`)."
  value       = local.cloud_secret ? "${var.cloud_secret.namespace}/${var.cloud_secret.name}" : null

  depends_on = [platform_cluster_secret.cloud]
}

output "autoscaler_node_groups" {
  description = "cluster-autoscaler `--nodes` values, one per autoscaled pool: `<min>:<max>:<server type>:<location>:<name>-<pool>`. Each cluster's autoscaler Deployment lists them (flux/infrastructure/controllers/<cluster>); a group missing from the Secret stops the autoscaler at start. Empty without autoscaled pools."
  value       = local.autoscaler_node_groups
}

output "autoscaler_secret" {
  description = "`<namespace>/cluster-autoscaler`: the Secret with `HCLOUD_CLUSTER_CONFIG` (each autoscaled pool's cloud-init, with the agent token, labels and taints), `HCLOUD_NETWORK`, `HCLOUD_FIREWALL`, `HCLOUD_PUBLIC_IPV4/6` and, with `ssh_public_key`, `HCLOUD_SSH_KEY`; null without autoscaled pools."
  value       = length(local.autoscaler_groups) > 0 ? "${var.cloud_secret.namespace}/cluster-autoscaler" : null

  depends_on = [platform_cluster_secret.autoscaler]
}

output "upgrade_strategy" {
  description = "How a `k3s_version` change reaches the nodes: `replace` or `in-place` (the system-upgrade-controller upgrades them)."
  value       = platform_k3s_server.first.upgrade_strategy
}

output "external_cloud_provider" {
  description = "Whether the nodes leave initialisation to the Hetzner cloud-controller-manager (`hcloud_cloud_controller`)."
  value       = platform_k3s_server.first.external_cloud_provider
}

output "etcd_snapshots" {
  description = "Where the servers' etcd snapshots go: `cron` and `retention` (null: k3s' defaults) and `s3` (`endpoint`, `bucket`, `folder`, `region`; null without an upload). The credentials are not part of it. docs/runbooks/etcd-restore.md uses these values."
  value = {
    cron      = platform_k3s_server.first.etcd_snapshot_cron
    retention = platform_k3s_server.first.etcd_snapshot_retention
    s3 = var.etcd_s3 == null ? null : {
      endpoint = var.etcd_s3.endpoint
      bucket   = var.etcd_s3.bucket
      folder   = var.etcd_s3.folder
      region   = var.etcd_s3.region
    }
  }
}
