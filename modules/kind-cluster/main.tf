locals {
  ingress_mappings = var.ingress.enabled ? [
    { container_port = var.ingress.node_http_port, host_port = var.ingress.http_port, listen_address = var.ingress.listen_address, protocol = "TCP" },
    { container_port = var.ingress.node_https_port, host_port = var.ingress.https_port, listen_address = var.ingress.listen_address, protocol = "TCP" },
  ] : []

  control_plane = {
    role                = "control-plane"
    labels              = merge(var.labels, var.ingress.enabled ? { "ingress-ready" = "true" } : {})
    extra_port_mappings = local.ingress_mappings
  }
  workers = [for i in range(var.workers) : {
    role                = "worker"
    labels              = var.labels
    extra_port_mappings = []
  }]
}

resource "platform_kind_cluster" "this" {
  name           = var.name
  node_image     = var.node_image
  nodes          = concat([local.control_plane], local.workers)
  wait_for_ready = var.wait_for_ready
}
