locals {
  # etcd snapshot upload: the bucket settings with their credentials (the
  # provider's etcd_s3 block; sensitive as a whole through the credentials).
  etcd_s3 = var.etcd_s3 == null ? null : {
    endpoint   = var.etcd_s3.endpoint
    bucket     = var.etcd_s3.bucket
    folder     = var.etcd_s3.folder
    region     = var.etcd_s3.region
    access_key = try(var.etcd_s3_credentials.access_key, null)
    secret_key = try(var.etcd_s3_credentials.secret_key, null)
  }

  # Network zone of each Hetzner location (a location not listed here is
  # accepted as it is).
  location_zones = {
    fsn1 = "eu-central"
    nbg1 = "eu-central"
    hel1 = "eu-central"
    ash  = "us-east"
    hil  = "us-west"
    sin  = "ap-southeast"
  }

  # Hetzner labels: the module's keys win over var.labels (whose validation
  # refuses them anyway), so the load balancer's selector always matches.
  base_labels          = merge(var.labels, { cluster = var.name, "managed-by" = "terraform" })
  control_plane_labels = merge(local.base_labels, { role = "control-plane" })
  control_plane_select = "cluster=${var.name},role=control-plane"

  # The API load balancer takes the subnet's last usable address (the
  # broadcast address is reserved), control-plane servers the ones below it,
  # downward. Hetzner hands out addresses for agents from the bottom, so
  # agents can be created alongside the servers and a later server_count
  # change cannot collide with an agent's address.
  server_names       = [for i in range(var.server_count) : format("%s-cp-%d", var.name, i + 1)]
  server_private_ips = [for i in range(var.server_count) : cidrhost(var.subnet_cidr, -3 - i)]
  lb_private_ip      = cidrhost(var.subnet_cidr, -2)

  # Joining servers and agents reach the API through the load balancer when
  # there is one, otherwise through the first server.
  join_host = var.load_balancer.enabled ? local.lb_private_ip : local.server_private_ips[0]
  join_url  = "https://${local.join_host}:6443"

  # The API server certificate also names the load balancer's public and
  # private addresses.
  tls_san = concat(
    var.load_balancer.enabled ? [hcloud_load_balancer.api[0].ipv4, local.lb_private_ip] : [],
    var.tls_san,
  )

  # One entry per agent, keyed "<pool>-<n>" (n from 1): removing the last
  # agent of a pool leaves the others untouched.
  # Autoscaled pools are the cluster autoscaler's: Terraform creates none of
  # their agents.
  agent_list = flatten([
    for pool in sort(keys(var.agent_pools)) : var.agent_pools[pool].autoscaling != null ? [] : [
      for i in range(var.agent_pools[pool].count) : {
        key         = format("%s-%d", pool, i + 1)
        pool        = pool
        server_type = var.agent_pools[pool].server_type
        location    = coalesce(var.agent_pools[pool].location, var.location)
        labels      = var.agent_pools[pool].labels
        taints      = var.agent_pools[pool].taints
      }
    ]
  ])
  agents      = { for a in local.agent_list : a.key => a }
  agent_names = [for a in local.agent_list : format("%s-%s", var.name, a.key)]

  # Pools the cluster autoscaler sizes, and its node group for each: named
  # <name>-<pool>, so its servers (<group>-<random>) carry the cluster's name
  # like Terraform's agents.
  autoscaled_pools = { for k, p in var.agent_pools : k => p if p.autoscaling != null }
  autoscaler_groups = { for k, p in local.autoscaled_pools : k => {
    name        = format("%s-%s", var.name, k)
    min         = p.autoscaling.min
    max         = p.autoscaling.max
    server_type = p.server_type
    location    = coalesce(p.location, var.location)
    labels      = merge(p.labels, { "platform.sre/pool" = k })
    taints      = p.taints
    # key[=value]:Effect as key, value ("" when absent), effect.
    taint_parts = [for t in p.taints : regex("^([^=:]+)(?:=([^:]*))?:(.+)$", t)]
  } }
  # --nodes=<min>:<max>:<server type>:<location>:<group>, one per group.
  autoscaler_node_groups = [for k in sort(keys(local.autoscaler_groups)) : format("%d:%d:%s:%s:%s",
    local.autoscaler_groups[k].min, local.autoscaler_groups[k].max, local.autoscaler_groups[k].server_type,
  local.autoscaler_groups[k].location, local.autoscaler_groups[k].name)]

  # HCLOUD_CLUSTER_CONFIG of cluster-autoscaler's Hetzner provider (base64
  # JSON): the image per architecture and, per node group, the cloud-init and
  # the labels and taints its nodes register with (which the autoscaler also
  # assumes when it scales a group up from zero).
  autoscaler_cluster_config = base64encode(jsonencode({
    imagesForArch = { amd64 = var.image, arm64 = var.image }
    nodeConfigs = { for k, g in local.autoscaler_groups : g.name => {
      cloudInit = data.platform_k3s_agent_cloudinit.autoscaled[k].user_data
      labels    = g.labels
      taints    = [for t in g.taint_parts : { key = t[0], value = t[1] == null ? "" : t[1], effect = t[2] }]
    } }
  }))

  # By ID: Hetzner's server create takes SSH key IDs.
  ssh_keys = var.ssh_public_key == null ? null : [hcloud_ssh_key.this[0].id]

  api_host = var.load_balancer.enabled ? hcloud_load_balancer.api[0].ipv4 : platform_k3s_server.first.ipv4_address
  # With a load balancer the cluster resource renders the kubeconfig for it;
  # without one the first server's kubeconfig points at that server.
  kubeconfig = var.load_balancer.enabled ? platform_k3s_cluster.this.kubeconfig : platform_k3s_server.first.kubeconfig

  # The cloud Secret follows hcloud_token unless cloud_secret.enabled says
  # otherwise (true without a token fails validation). Whether a token was
  # given is no secret, so the count may depend on it.
  cloud_secret = coalesce(var.cloud_secret.enabled, nonsensitive(var.hcloud_token != null))
}

# ---------------------------------------------------------------- network

resource "hcloud_network" "this" {
  name     = "${var.name}-network"
  ip_range = var.network_cidr
  labels   = local.base_labels
}

resource "hcloud_network_subnet" "nodes" {
  network_id   = hcloud_network.this.id
  type         = "cloud"
  network_zone = var.network_zone
  ip_range     = var.subnet_cidr
}

# Hetzner firewalls filter the public interfaces only: traffic between the
# nodes on the private network (etcd, kubelet, flannel) is not affected.
resource "hcloud_firewall" "this" {
  name   = "${var.name}-nodes"
  labels = local.base_labels

  rule {
    description = "ICMP (ping, path MTU discovery)"
    direction   = "in"
    protocol    = "icmp"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  rule {
    description = "Kubernetes API"
    direction   = "in"
    protocol    = "tcp"
    port        = "6443"
    source_ips  = var.api_allowed_cidrs
  }

  dynamic "rule" {
    for_each = length(var.ssh_allowed_cidrs) > 0 ? [var.ssh_allowed_cidrs] : []
    content {
      description = "SSH"
      direction   = "in"
      protocol    = "tcp"
      port        = "22"
      source_ips  = rule.value
    }
  }
}

resource "hcloud_placement_group" "control_plane" {
  name   = "${var.name}-cp"
  type   = "spread"
  labels = local.control_plane_labels
}

resource "hcloud_ssh_key" "this" {
  count      = var.ssh_public_key == null ? 0 : 1
  name       = var.name
  public_key = var.ssh_public_key
  labels     = local.base_labels
}

# ---------------------------------------------------------------- API load balancer

resource "hcloud_load_balancer" "api" {
  count              = var.load_balancer.enabled ? 1 : 0
  name               = "${var.name}-api"
  load_balancer_type = var.load_balancer.type
  location           = var.location
  labels             = merge(local.base_labels, { role = "api" })
}

resource "hcloud_load_balancer_network" "api" {
  count            = var.load_balancer.enabled ? 1 : 0
  load_balancer_id = hcloud_load_balancer.api[0].id
  subnet_id        = hcloud_network_subnet.nodes.id
  ip               = local.lb_private_ip
}

# Changes to one load balancer run as actions one at a time (a second one
# meanwhile is refused as `locked`): network, then service, then target.
resource "hcloud_load_balancer_service" "api" {
  count            = var.load_balancer.enabled ? 1 : 0
  load_balancer_id = hcloud_load_balancer.api[0].id
  protocol         = "tcp"
  listen_port      = 6443
  destination_port = 6443

  health_check {
    protocol = "tcp"
    port     = 6443
    interval = 5
    timeout  = 3
    retries  = 3
  }

  depends_on = [hcloud_load_balancer_network.api]
}

# Every control-plane server, present and future, by label, over the private
# network.
resource "hcloud_load_balancer_target" "api" {
  count            = var.load_balancer.enabled ? 1 : 0
  type             = "label_selector"
  load_balancer_id = hcloud_load_balancer.api[0].id
  label_selector   = local.control_plane_select
  use_private_ip   = true

  depends_on = [hcloud_load_balancer_network.api, hcloud_load_balancer_service.api]
}

# ---------------------------------------------------------------- k3s

resource "platform_k3s_cluster" "this" {
  name         = var.name
  k3s_version  = var.k3s_version
  api_endpoint = var.load_balancer.enabled ? hcloud_load_balancer.api[0].ipv4 : null
}

# The first server starts the cluster (embedded etcd).
resource "platform_k3s_server" "first" {
  name               = local.server_names[0]
  server_type        = var.server_type
  image              = var.image
  location           = var.location
  k3s_version        = var.k3s_version
  upgrade_strategy   = var.upgrade_strategy
  cluster_bundle     = platform_k3s_cluster.this.server_bundle
  cluster_init       = true
  network_id         = hcloud_network.this.id
  private_ip         = local.server_private_ips[0]
  firewall_ids       = [hcloud_firewall.this.id]
  placement_group_id = hcloud_placement_group.control_plane.id
  ssh_keys           = local.ssh_keys
  labels             = local.control_plane_labels
  tls_san            = local.tls_san
  disable            = var.disable
  node_taints        = var.server_taints
  etcd_snapshot_cron = var.etcd_snapshot_cron
  timeouts           = var.timeouts

  etcd_snapshot_retention = var.etcd_snapshot_retention
  etcd_s3                 = local.etcd_s3

  external_cloud_provider = var.hcloud_cloud_controller

  # A private IP can only be attached once the subnet exists.
  depends_on = [hcloud_network_subnet.nodes]
}

# Further servers join through the load balancer or the first server.
resource "platform_k3s_server" "joining" {
  count              = var.server_count - 1
  name               = local.server_names[count.index + 1]
  server_type        = var.server_type
  image              = var.image
  location           = var.location
  k3s_version        = var.k3s_version
  upgrade_strategy   = var.upgrade_strategy
  cluster_bundle     = platform_k3s_cluster.this.server_bundle
  server_url         = local.join_url
  network_id         = hcloud_network.this.id
  private_ip         = local.server_private_ips[count.index + 1]
  firewall_ids       = [hcloud_firewall.this.id]
  placement_group_id = hcloud_placement_group.control_plane.id
  ssh_keys           = local.ssh_keys
  labels             = local.control_plane_labels
  tls_san            = local.tls_san
  disable            = var.disable
  node_taints        = var.server_taints
  etcd_snapshot_cron = var.etcd_snapshot_cron
  timeouts           = var.timeouts

  etcd_snapshot_retention = var.etcd_snapshot_retention
  etcd_s3                 = local.etcd_s3

  external_cloud_provider = var.hcloud_cloud_controller

  depends_on = [platform_k3s_server.first, hcloud_load_balancer_service.api, hcloud_load_balancer_target.api]
}

# Agents boot alongside the servers (k3s agents retry until the API answers):
# with a load balancer they wait only for its target, without one for the
# first server, whose kubeconfig they are checked with.
resource "platform_k3s_agent" "this" {
  for_each    = local.agents
  name        = format("%s-%s", var.name, each.key)
  server_type = each.value.server_type
  image       = var.image
  location    = each.value.location
  k3s_version = var.k3s_version
  token       = platform_k3s_cluster.this.agent_token # joins agents only; never the server token

  upgrade_strategy = var.upgrade_strategy
  server_url       = local.join_url
  kubeconfig       = local.kubeconfig
  network_id       = hcloud_network.this.id
  firewall_ids     = [hcloud_firewall.this.id]
  ssh_keys         = local.ssh_keys
  labels           = merge(local.base_labels, { role = "agent", pool = each.value.pool })
  node_labels      = merge(each.value.labels, { "platform.sre/pool" = each.value.pool })
  node_taints      = each.value.taints
  timeouts         = var.timeouts

  external_cloud_provider = var.hcloud_cloud_controller

  depends_on = [hcloud_network_subnet.nodes, hcloud_load_balancer_target.api]
}

# ---------------------------------------------------------------- cloud Secret

# The Secret the Hetzner cloud-controller-manager and CSI driver read
# (flux/infrastructure/controllers/hcloud): the API token and this cluster's
# network by ID, both known here, so neither lives in git and a cluster under
# any name gets its own network. Created after every node and the API
# load balancer path (like whatever uses the kubeconfig output), deleted before
# them.
resource "platform_cluster_secret" "cloud" {
  count      = local.cloud_secret ? 1 : 0
  kubeconfig = local.kubeconfig
  namespace  = var.cloud_secret.namespace
  name       = var.cloud_secret.name

  data = {
    token   = var.hcloud_token
    network = tostring(hcloud_network.this.id)
  }

  depends_on = [
    platform_k3s_server.first,
    platform_k3s_server.joining,
    platform_k3s_agent.this,
    hcloud_load_balancer_network.api,
    hcloud_load_balancer_service.api,
    hcloud_load_balancer_target.api,
  ]
}

# ---------------------------------------------------------------- cluster autoscaler

# The cloud-init of each autoscaled pool, rendered like platform_k3s_agent's
# (same k3s version, agent token, join URL, labels, taints, cloud
# controller switch) but naming no node: every server the autoscaler creates
# joins under its own name.
data "platform_k3s_agent_cloudinit" "autoscaled" {
  for_each    = local.autoscaler_groups
  k3s_version = var.k3s_version
  token       = platform_k3s_cluster.this.agent_token # joins agents only; never the server token
  server_url  = local.join_url
  node_labels = each.value.labels
  node_taints = each.value.taints

  external_cloud_provider = var.hcloud_cloud_controller
}

# The Secret cluster-autoscaler (flux/infrastructure/controllers/cluster-autoscaler)
# takes its environment from: node group configuration with the agent token,
# and the network, firewall and SSH key its servers get. Its Hetzner token
# comes from the cloud Secret. Only with autoscaled pools.
resource "platform_cluster_secret" "autoscaler" {
  count      = length(local.autoscaler_groups) > 0 ? 1 : 0
  kubeconfig = local.kubeconfig
  namespace  = var.cloud_secret.namespace
  name       = "cluster-autoscaler"

  data = merge({
    HCLOUD_CLUSTER_CONFIG = local.autoscaler_cluster_config
    HCLOUD_NETWORK        = tostring(hcloud_network.this.id)
    HCLOUD_FIREWALL       = tostring(hcloud_firewall.this.id)
    HCLOUD_PUBLIC_IPV4    = "true"
    HCLOUD_PUBLIC_IPV6    = "true"
  }, var.ssh_public_key == null ? {} : { HCLOUD_SSH_KEY = tostring(hcloud_ssh_key.this[0].id) })

  depends_on = [
    platform_k3s_server.first,
    platform_k3s_server.joining,
    platform_k3s_agent.this,
    hcloud_load_balancer_network.api,
    hcloud_load_balancer_service.api,
    hcloud_load_balancer_target.api,
  ]
}
