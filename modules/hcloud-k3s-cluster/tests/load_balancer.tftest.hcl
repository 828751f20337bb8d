# The API load balancer: on the network, tcp 6443 to the control plane's
# private addresses by label; joining nodes and the kubeconfig use it.

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
  server_count      = 3
  load_balancer     = { enabled = true }
  agent_pools = {
    general = { server_type = "cx32", count = 2 }
  }
}

run "ha_with_load_balancer" {
  command = plan

  assert {
    condition = (length(hcloud_load_balancer.api) == 1 && hcloud_load_balancer.api[0].name == "demo-api" &&
    hcloud_load_balancer.api[0].load_balancer_type == "lb11" && hcloud_load_balancer.api[0].location == "fsn1")
    error_message = "One load balancer <name>-api of the default type lb11 in the cluster's location."
  }
  assert {
    condition     = hcloud_load_balancer.api[0].labels == tomap({ cluster = "demo", "managed-by" = "terraform", role = "api" })
    error_message = "The load balancer carries the cluster labels."
  }
  assert {
    condition     = hcloud_load_balancer_network.api[0].subnet_id == "1001-10.0.1.0/24" && hcloud_load_balancer_network.api[0].ip == "10.0.1.254"
    error_message = "The load balancer sits in the subnet at its last usable address."
  }
  assert {
    condition = (hcloud_load_balancer_service.api[0].protocol == "tcp" && hcloud_load_balancer_service.api[0].listen_port == 6443 &&
      hcloud_load_balancer_service.api[0].destination_port == 6443 &&
    hcloud_load_balancer_service.api[0].health_check[0].protocol == "tcp" && hcloud_load_balancer_service.api[0].health_check[0].port == 6443)
    error_message = "A TCP service 6443 -> 6443 with a TCP health check."
  }
  assert {
    condition = (hcloud_load_balancer_target.api[0].type == "label_selector" &&
      hcloud_load_balancer_target.api[0].label_selector == "cluster=demo,role=control-plane" &&
    hcloud_load_balancer_target.api[0].use_private_ip == true && hcloud_load_balancer_target.api[0].load_balancer_id == 5005)
    error_message = "The target selects the control plane by label over the private network."
  }
  assert {
    condition = alltrue([for s in concat([platform_k3s_server.first], platform_k3s_server.joining) : alltrue([
      for pair in split(",", hcloud_load_balancer_target.api[0].label_selector) : lookup(s.labels, split("=", pair)[0], "") == split("=", pair)[1]
    ])])
    error_message = "The target's label selector must match every control-plane server."
  }
  assert {
    condition = length(platform_k3s_agent.this) == 2 && alltrue([for a in platform_k3s_agent.this : !alltrue([
      for pair in split(",", hcloud_load_balancer_target.api[0].label_selector) : lookup(a.labels, split("=", pair)[0], "") == split("=", pair)[1]
    ])])
    error_message = "The target's label selector must not match the agents."
  }
  assert {
    condition     = alltrue([for s in platform_k3s_server.joining : s.server_url == "https://10.0.1.254:6443"])
    error_message = "Joining servers go through the load balancer's private address."
  }
  assert {
    condition     = alltrue([for a in platform_k3s_agent.this : a.server_url == "https://10.0.1.254:6443"])
    error_message = "Agents go through the load balancer's private address."
  }
  assert {
    condition     = alltrue([for s in concat([platform_k3s_server.first], platform_k3s_server.joining) : s.tls_san == tolist(["203.0.113.10", "10.0.1.254"])])
    error_message = "Every server certificate names the load balancer's public and private addresses."
  }
  assert {
    condition     = platform_k3s_cluster.this.api_endpoint == "203.0.113.10"
    error_message = "The cluster's kubeconfig is rendered for the load balancer."
  }
  assert {
    condition     = output.kubeconfig == platform_k3s_cluster.this.kubeconfig && alltrue([for a in platform_k3s_agent.this : a.kubeconfig == platform_k3s_cluster.this.kubeconfig])
    error_message = "With a load balancer, the output and the agents use the cluster's kubeconfig."
  }
  assert {
    condition     = output.api_host == "203.0.113.10" && output.api_endpoint == "https://203.0.113.10:6443"
    error_message = "api_host and api_endpoint point at the load balancer."
  }
  assert {
    condition     = output.load_balancer_ipv4 == "203.0.113.10" && output.load_balancer_private_ip == "10.0.1.254"
    error_message = "load_balancer_ipv4 and load_balancer_private_ip."
  }
  assert {
    condition     = output.server_private_ips == { "demo-cp-1" = "10.0.1.253", "demo-cp-2" = "10.0.1.252", "demo-cp-3" = "10.0.1.251" }
    error_message = "Servers keep their fixed addresses below the load balancer's."
  }
}

run "single_server_with_load_balancer" {
  command = plan

  variables {
    server_count  = 1
    load_balancer = { enabled = true, type = "lb21" }
    tls_san       = ["api.example.com"]
  }

  assert {
    condition     = hcloud_load_balancer.api[0].load_balancer_type == "lb21"
    error_message = "load_balancer.type is passed through."
  }
  assert {
    condition     = length(platform_k3s_server.joining) == 0 && platform_k3s_server.first.cluster_init
    error_message = "One server behind the load balancer."
  }
  assert {
    condition     = platform_k3s_server.first.tls_san == tolist(["203.0.113.10", "10.0.1.254", "api.example.com"])
    error_message = "Extra tls_san follow the load balancer's addresses."
  }
  assert {
    condition     = output.api_host == "203.0.113.10"
    error_message = "The API is the load balancer's address even for one server."
  }
}

run "load_balancer_disabled" {
  command = plan

  variables {
    load_balancer = { enabled = false, type = "lb21" }
  }

  assert {
    condition     = length(hcloud_load_balancer.api) + length(hcloud_load_balancer_network.api) + length(hcloud_load_balancer_service.api) + length(hcloud_load_balancer_target.api) == 0
    error_message = "enabled = false creates no load balancer resources, whatever the type."
  }
  assert {
    condition     = alltrue([for a in platform_k3s_agent.this : a.server_url == "https://10.0.1.253:6443" && a.kubeconfig == platform_k3s_server.first.kubeconfig])
    error_message = "Without a load balancer agents join through the first server and use its kubeconfig."
  }
  assert {
    condition     = output.load_balancer_ipv4 == null && output.api_host == "198.51.100.2"
    error_message = "No load balancer address; the API is the first server's."
  }
}
