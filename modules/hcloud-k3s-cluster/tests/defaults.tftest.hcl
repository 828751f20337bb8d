# Plans of the module with its defaults and a few single-setting changes:
# names, labels, network layout, outputs.

mock_provider "hcloud" {
  override_during = plan
  source          = "./tests/mocks/hcloud"
}

mock_provider "platform" {
  override_during = plan
  source          = "./tests/mocks/platform"
}

variables {
  name              = "demo"
  k3s_version       = "v1.31.4+k3s1"
  api_allowed_cidrs = ["198.51.100.7/32"]
}

run "single_server_defaults" {
  command = plan

  assert {
    condition     = hcloud_network.this.name == "demo-network" && hcloud_network.this.ip_range == "10.0.0.0/16"
    error_message = "The network is <name>-network over network_cidr."
  }
  assert {
    condition     = hcloud_network.this.labels == tomap({ cluster = "demo", "managed-by" = "terraform" })
    error_message = "The network carries exactly the cluster and managed-by labels."
  }
  assert {
    condition = (hcloud_network_subnet.nodes.type == "cloud" && hcloud_network_subnet.nodes.network_zone == "eu-central" &&
    hcloud_network_subnet.nodes.ip_range == "10.0.1.0/24" && hcloud_network_subnet.nodes.network_id == 1001)
    error_message = "The subnet is a cloud subnet of the network in eu-central over subnet_cidr."
  }
  assert {
    condition = (hcloud_placement_group.control_plane.name == "demo-cp" && hcloud_placement_group.control_plane.type == "spread" &&
    hcloud_placement_group.control_plane.labels == tomap({ cluster = "demo", "managed-by" = "terraform", role = "control-plane" }))
    error_message = "The control plane has a spread placement group with the control-plane labels."
  }
  assert {
    condition     = hcloud_firewall.this.name == "demo-nodes" && hcloud_firewall.this.labels == tomap({ cluster = "demo", "managed-by" = "terraform" })
    error_message = "The firewall is <name>-nodes with the base labels."
  }
  assert {
    condition     = length(hcloud_load_balancer.api) == 0 && length(hcloud_load_balancer_network.api) == 0 && length(hcloud_load_balancer_service.api) == 0 && length(hcloud_load_balancer_target.api) == 0
    error_message = "No load balancer by default."
  }
  assert {
    condition     = length(hcloud_ssh_key.this) == 0 && platform_k3s_server.first.ssh_keys == null
    error_message = "No SSH key without ssh_public_key."
  }
  assert {
    condition     = length(platform_k3s_server.joining) == 0 && length(platform_k3s_agent.this) == 0
    error_message = "One server and no agents by default."
  }

  # The first server.
  assert {
    condition     = platform_k3s_server.first.name == "demo-cp-1" && platform_k3s_server.first.cluster_init == true && platform_k3s_server.first.server_url == null
    error_message = "The first server is <name>-cp-1 and starts the cluster."
  }
  assert {
    condition = (platform_k3s_server.first.server_type == "cx22" && platform_k3s_server.first.location == "fsn1" &&
    platform_k3s_server.first.image == "ubuntu-24.04" && platform_k3s_server.first.k3s_version == "v1.31.4+k3s1")
    error_message = "The first server uses server_type, location, image and k3s_version."
  }
  assert {
    condition = (platform_k3s_server.first.network_id == 1001 && platform_k3s_server.first.private_ip == "10.0.1.253" &&
    platform_k3s_server.first.firewall_ids == toset([2002]) && platform_k3s_server.first.placement_group_id == 3003)
    error_message = "The first server is on the network at cidrhost(subnet, -3), behind the firewall, in the placement group."
  }
  assert {
    condition     = platform_k3s_server.first.labels == tomap({ cluster = "demo", "managed-by" = "terraform", role = "control-plane" })
    error_message = "The first server carries the control-plane labels."
  }
  assert {
    condition     = platform_k3s_server.first.disable == tolist(["traefik"]) && length(platform_k3s_server.first.tls_san) == 0
    error_message = "Traefik is disabled; no extra TLS SANs without a load balancer."
  }
  assert {
    condition     = platform_k3s_server.first.cluster_bundle == platform_k3s_cluster.this.server_bundle
    error_message = "The first server takes the cluster's server bundle."
  }
  assert {
    condition     = platform_k3s_server.first.node_taints == tolist(["CriticalAddonsOnly=true:NoExecute"])
    error_message = "Servers carry CriticalAddonsOnly=true:NoExecute by default: workloads stay off the nodes that hold the CA keys."
  }
  assert {
    condition     = platform_k3s_server.first.external_cloud_provider == false
    error_message = "k3s keeps its own cloud controller unless hcloud_cloud_controller is set."
  }
  assert {
    condition     = platform_k3s_cluster.this.name == "demo" && platform_k3s_cluster.this.api_endpoint == null
    error_message = "Without a load balancer the cluster resource has no endpoint (the first server's kubeconfig is used)."
  }

  # Outputs.
  assert {
    condition     = output.cluster_name == "demo" && output.node_names == ["demo-cp-1"]
    error_message = "cluster_name and node_names."
  }
  assert {
    condition     = output.api_host == "198.51.100.2" && output.api_endpoint == "https://198.51.100.2:6443"
    error_message = "Without a load balancer the API is the first server's public address."
  }
  assert {
    condition     = output.kubeconfig == platform_k3s_server.first.kubeconfig
    error_message = "Without a load balancer the kubeconfig is the first server's."
  }
  assert {
    condition     = output.server_ipv4 == { "demo-cp-1" = "198.51.100.2" } && output.server_private_ips == { "demo-cp-1" = "10.0.1.253" }
    error_message = "server_ipv4 and server_private_ips map the server name to its addresses."
  }
  assert {
    condition     = output.agent_ipv4 == {} && output.load_balancer_ipv4 == null && output.load_balancer_private_ip == null
    error_message = "No agents and no load balancer addresses by default."
  }
  assert {
    condition     = output.network_id == "1001" && output.firewall_id == "2002" && output.subnet_id == "1001-10.0.1.0/24"
    error_message = "network_id, subnet_id and firewall_id come from the hcloud resources."
  }
}

run "ha_without_load_balancer" {
  command = plan

  variables {
    server_count = 3
  }

  assert {
    condition     = [for s in platform_k3s_server.joining : s.name] == ["demo-cp-2", "demo-cp-3"]
    error_message = "Joining servers are <name>-cp-2 and <name>-cp-3."
  }
  assert {
    condition     = alltrue([for s in platform_k3s_server.joining : s.server_url == "https://10.0.1.253:6443" && s.cluster_init == false])
    error_message = "Without a load balancer, servers join through the first server's private address."
  }
  assert {
    condition     = [for s in platform_k3s_server.joining : s.private_ip] == ["10.0.1.252", "10.0.1.251"]
    error_message = "Joining servers take the next fixed private addresses."
  }
  assert {
    condition = alltrue([for s in platform_k3s_server.joining : (
      s.placement_group_id == 3003 && s.firewall_ids == toset([2002]) && s.network_id == 1001 &&
      s.labels == tomap({ cluster = "demo", "managed-by" = "terraform", role = "control-plane" }) &&
      s.cluster_bundle == platform_k3s_cluster.this.server_bundle
    )])
    error_message = "Joining servers share the placement group, firewall, network, labels and bundle of the first."
  }
  assert {
    condition     = output.node_names == ["demo-cp-1", "demo-cp-2", "demo-cp-3"]
    error_message = "node_names lists the three servers in order."
  }
  assert {
    condition     = output.server_private_ips == { "demo-cp-1" = "10.0.1.253", "demo-cp-2" = "10.0.1.252", "demo-cp-3" = "10.0.1.251" }
    error_message = "server_private_ips maps each server to its fixed address."
  }
  assert {
    condition     = keys(output.server_ipv4) == ["demo-cp-1", "demo-cp-2", "demo-cp-3"]
    error_message = "server_ipv4 has every server."
  }
  assert {
    condition     = output.api_host == "198.51.100.2"
    error_message = "Without a load balancer the API stays on the first server."
  }
}

run "custom_network_labels_and_settings" {
  command = plan

  variables {
    name               = "prod-eu"
    location           = "hel1"
    network_cidr       = "10.20.0.0/16"
    subnet_cidr        = "10.20.5.0/24"
    image              = "debian-12"
    server_type        = "cpx31"
    disable            = ["traefik", "servicelb"]
    server_taints      = ["CriticalAddonsOnly=true:NoExecute"]
    etcd_snapshot_cron = "0 */6 * * *"
    labels             = { env = "production", "example.com/team" = "sre" }
    timeouts           = { create = "30m" }
  }

  assert {
    condition     = hcloud_network.this.name == "prod-eu-network" && hcloud_network.this.ip_range == "10.20.0.0/16" && hcloud_network_subnet.nodes.ip_range == "10.20.5.0/24"
    error_message = "Network and subnet follow the name and CIDRs."
  }
  assert {
    condition     = platform_k3s_server.first.private_ip == "10.20.5.253" && output.server_private_ips == { "prod-eu-cp-1" = "10.20.5.253" }
    error_message = "The first server takes cidrhost(subnet_cidr, -3)."
  }
  assert {
    condition = alltrue([for l in [hcloud_network.this.labels, hcloud_firewall.this.labels, hcloud_placement_group.control_plane.labels, platform_k3s_server.first.labels] :
    l.env == "production" && l["example.com/team"] == "sre" && l.cluster == "prod-eu" && l["managed-by"] == "terraform"])
    error_message = "var.labels are added to every labelled resource beside the module's own."
  }
  assert {
    condition = (platform_k3s_server.first.location == "hel1" && platform_k3s_server.first.image == "debian-12" &&
      platform_k3s_server.first.server_type == "cpx31" && platform_k3s_server.first.disable == tolist(["traefik", "servicelb"]) &&
      platform_k3s_server.first.node_taints == tolist(["CriticalAddonsOnly=true:NoExecute"]) &&
    platform_k3s_server.first.etcd_snapshot_cron == "0 */6 * * *")
    error_message = "Server settings are passed through."
  }
  assert {
    condition     = platform_k3s_server.first.timeouts.create == "30m" && platform_k3s_server.first.timeouts.delete == null
    error_message = "timeouts are passed through."
  }
}

run "hcloud_cloud_controller" {
  command = plan

  variables {
    server_count            = 3
    hcloud_cloud_controller = true
    agent_pools             = { general = { server_type = "cx32", count = 2 } }
  }

  assert {
    condition = alltrue(concat(
      [platform_k3s_server.first.external_cloud_provider],
      [for s in platform_k3s_server.joining : s.external_cloud_provider],
      [for a in platform_k3s_agent.this : a.external_cloud_provider],
    ))
    error_message = "One input hands every server and agent to the external cloud controller (k3s renders kubelet-arg cloud-provider=external, and on servers disable-cloud-controller and servicelb in disable)."
  }
  assert {
    condition     = platform_k3s_server.first.disable == tolist(["traefik"])
    error_message = "disable stays the user's list: the provider adds servicelb for an external cloud controller itself."
  }
}
