# Plan-level tests with a mocked provider: the node list the module renders.
# No Docker is needed.
mock_provider "platform" {}

run "defaults" {
  command = plan

  assert {
    condition     = platform_kind_cluster.this.name == "platform-local" && length(platform_kind_cluster.this.nodes) == 2
    error_message = "Default: platform-local with one control plane and one worker."
  }
  assert {
    condition     = platform_kind_cluster.this.nodes[0].role == "control-plane" && platform_kind_cluster.this.nodes[1].role == "worker"
    error_message = "The control-plane node must come first."
  }
  assert {
    condition     = platform_kind_cluster.this.nodes[0].labels["ingress-ready"] == "true"
    error_message = "With ingress the control-plane node must be labelled ingress-ready."
  }
  assert {
    condition = [for m in platform_kind_cluster.this.nodes[0].extra_port_mappings : "${m.listen_address}:${m.host_port}->${m.container_port}"] == [
      "127.0.0.1:80->80", "127.0.0.1:443->443",
    ]
    error_message = "Ingress ports 80 and 443 must be published on loopback."
  }
  assert {
    condition     = length(platform_kind_cluster.this.nodes[1].extra_port_mappings) == 0
    error_message = "Workers publish no ports."
  }
  assert {
    condition     = platform_kind_cluster.this.wait_for_ready == "5m"
    error_message = "Default wait is 5m."
  }
  assert {
    condition     = output.ingress_http_url == "http://127.0.0.1" && output.ingress_https_url == "https://127.0.0.1"
    error_message = "Ingress URLs on loopback."
  }
}

run "workers_labels_image_ports" {
  command = plan

  variables {
    name       = "dev"
    workers    = 3
    node_image = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
    labels     = { "platform.sre/pool" = "local" }
    ingress    = { http_port = 8080, https_port = 8443, node_http_port = 30080, node_https_port = 30443 }
  }

  assert {
    condition = [for m in platform_kind_cluster.this.nodes[0].extra_port_mappings : "${m.listen_address}:${m.host_port}->${m.container_port}"] == [
      "127.0.0.1:8080->30080", "127.0.0.1:8443->30443",
    ]
    error_message = "Host ports map to the node ports of the ingress controller."
  }

  assert {
    condition     = length(platform_kind_cluster.this.nodes) == 4 && output.node_count == 4
    error_message = "Three workers plus the control plane."
  }
  assert {
    condition     = alltrue([for n in platform_kind_cluster.this.nodes : n.labels["platform.sre/pool"] == "local"])
    error_message = "Labels go on every node."
  }
  assert {
    condition     = startswith(platform_kind_cluster.this.node_image, "kindest/node:v1.37.0@sha256:")
    error_message = "The node image must be passed on."
  }
  assert {
    condition     = output.ingress_http_url == "http://127.0.0.1:8080" && output.ingress_https_url == "https://127.0.0.1:8443"
    error_message = "Custom ingress ports show in the URLs."
  }
}

run "no_ingress" {
  command = plan

  variables {
    workers = 0
    ingress = { enabled = false }
  }

  assert {
    condition     = length(platform_kind_cluster.this.nodes) == 1 && length(platform_kind_cluster.this.nodes[0].extra_port_mappings) == 0
    error_message = "Without ingress no ports are published."
  }
  assert {
    condition     = !contains(keys(platform_kind_cluster.this.nodes[0].labels), "ingress-ready")
    error_message = "Without ingress the node is not labelled ingress-ready."
  }
  assert {
    condition     = output.ingress_http_url == null
    error_message = "No ingress URL without ingress."
  }
}

run "apply_with_mocks" {
  assert {
    condition     = output.name == "platform-local" && output.endpoint != null
    error_message = "Outputs must be known after apply."
  }
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "Platform_Local"
  }
  expect_failures = [var.name]
}

run "rejects_too_many_workers" {
  command = plan
  variables {
    workers = 20
  }
  expect_failures = [var.workers]
}

run "rejects_same_ports" {
  command = plan
  variables {
    ingress = { http_port = 8080, https_port = 8080 }
  }
  expect_failures = [var.ingress]
}

run "rejects_bad_listen_address" {
  command = plan
  variables {
    ingress = { listen_address = "localhost" }
  }
  expect_failures = [var.ingress]
}

run "rejects_bad_label" {
  command = plan
  variables {
    labels = { "bad key!" = "x" }
  }
  expect_failures = [var.labels]
}

run "rejects_bad_wait" {
  command = plan
  variables {
    wait_for_ready = "five minutes"
  }
  expect_failures = [var.wait_for_ready]
}
