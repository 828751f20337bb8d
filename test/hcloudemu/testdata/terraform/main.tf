# A root exercising what our modules use from the official provider, applied
# against the emulator by terraform_test.go (HCLOUD_ENDPOINT/HCLOUD_TOKEN come
# from the environment).
terraform {
  required_version = ">= 1.5"
  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "1.59.0"
    }
  }
}

provider "hcloud" {
  poll_interval = "100ms"
}

variable "ssh_public_key" {
  type        = string
  description = "Public key installed on the servers."
}

variable "server_count" {
  type    = number
  default = 3
}

resource "hcloud_ssh_key" "admin" {
  name       = "emu-admin"
  public_key = var.ssh_public_key
  labels     = { managed_by = "terraform" }
}

resource "hcloud_network" "main" {
  name     = "emu-net"
  ip_range = "10.0.0.0/16"
  labels   = { managed_by = "terraform" }
}

resource "hcloud_network_subnet" "nodes" {
  network_id   = hcloud_network.main.id
  type         = "cloud"
  network_zone = "eu-central"
  ip_range     = "10.0.1.0/24"
}

resource "hcloud_firewall" "nodes" {
  name = "emu-fw"
  rule {
    direction  = "in"
    protocol   = "tcp"
    port       = "22"
    source_ips = ["0.0.0.0/0", "::/0"]
  }
  rule {
    direction   = "in"
    protocol    = "tcp"
    port        = "6443"
    source_ips  = ["10.0.0.0/16"]
    description = "kube-apiserver"
  }
  rule {
    direction  = "in"
    protocol   = "icmp"
    source_ips = ["0.0.0.0/0", "::/0"]
  }
}

resource "hcloud_placement_group" "spread" {
  name   = "emu-spread"
  type   = "spread"
  labels = { managed_by = "terraform" }
}

resource "hcloud_server" "node" {
  count              = var.server_count
  name               = "emu-node-${count.index}"
  server_type        = "cx22"
  image              = "debian-12"
  location           = "fsn1"
  ssh_keys           = [hcloud_ssh_key.admin.id]
  firewall_ids       = [hcloud_firewall.nodes.id]
  placement_group_id = hcloud_placement_group.spread.id
  user_data          = "#cloud-config\nhostname: emu-node-${count.index}\n"
  labels = {
    role  = "node"
    index = tostring(count.index)
  }

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  network {
    network_id = hcloud_network.main.id
    ip         = "10.0.1.${count.index + 10}"
  }

  depends_on = [hcloud_network_subnet.nodes]
}

resource "hcloud_load_balancer" "api" {
  name               = "emu-lb"
  load_balancer_type = "lb11"
  location           = "fsn1"
  algorithm {
    type = "round_robin"
  }
}

resource "hcloud_load_balancer_network" "api" {
  load_balancer_id = hcloud_load_balancer.api.id
  subnet_id        = hcloud_network_subnet.nodes.id
}

resource "hcloud_load_balancer_service" "api" {
  load_balancer_id = hcloud_load_balancer.api.id
  protocol         = "tcp"
  listen_port      = 6443
  destination_port = 6443
  health_check {
    protocol = "tcp"
    port     = 6443
    interval = 10
    timeout  = 5
    retries  = 3
  }
}

resource "hcloud_load_balancer_target" "nodes" {
  load_balancer_id = hcloud_load_balancer.api.id
  type             = "label_selector"
  label_selector   = "role=node"
  use_private_ip   = true
  depends_on       = [hcloud_load_balancer_network.api]
}

resource "hcloud_primary_ip" "ingress" {
  name          = "emu-ingress"
  type          = "ipv4"
  location      = "fsn1"
  assignee_type = "server"
  auto_delete   = false
  labels        = { purpose = "ingress" }
}

output "server_ipv4" {
  value = hcloud_server.node[*].ipv4_address
}

output "load_balancer_ipv4" {
  value = hcloud_load_balancer.api.ipv4
}

variable "tls_certificate" {
  type        = string
  description = "PEM certificate for the HTTPS service."
}

variable "tls_private_key" {
  type        = string
  sensitive   = true
  description = "PEM private key of tls_certificate."
}

resource "hcloud_volume" "data" {
  name      = "emu-data"
  size      = 10
  server_id = hcloud_server.node[0].id
  automount = false
  format    = "ext4"
  labels    = { purpose = "data" }
}

resource "hcloud_floating_ip" "ingress" {
  name          = "emu-fip"
  type          = "ipv4"
  home_location = "fsn1"
  labels        = { purpose = "ingress" }
}

resource "hcloud_floating_ip_assignment" "ingress" {
  floating_ip_id = hcloud_floating_ip.ingress.id
  server_id      = hcloud_server.node[1].id
}

resource "hcloud_rdns" "ingress" {
  floating_ip_id = hcloud_floating_ip.ingress.id
  ip_address     = hcloud_floating_ip.ingress.ip_address
  dns_ptr        = "ingress.example.com"
}

resource "hcloud_uploaded_certificate" "web" {
  name        = "emu-web"
  certificate = var.tls_certificate
  private_key = var.tls_private_key
}

resource "hcloud_load_balancer" "web" {
  name               = "emu-web"
  load_balancer_type = "lb11"
  location           = "fsn1"
}

resource "hcloud_load_balancer_service" "https" {
  load_balancer_id = hcloud_load_balancer.web.id
  protocol         = "https"
  listen_port      = 443
  destination_port = 80
  http {
    certificates  = [hcloud_uploaded_certificate.web.id]
    redirect_http = false
  }
}

output "volume_linux_device" {
  value = hcloud_volume.data.linux_device
}
