# The sandbox: the same modules as the Hetzner environments, against the
# local Hetzner emulator and its k3s sandbox (docs/k3s-sandbox.md). With real
# nodes (`go tool task up`'s default) Flux installs itself from the images
# built here, syncs the checkout `up` publishes to the sandbox's Git server,
# and the apps answer on the load balancer below; with API-only nodes no pod
# runs, so `flux_wait = false`.
module "cluster" {
  source = "../../modules/hcloud-k3s-cluster"

  name         = var.cluster_name
  k3s_version  = var.k3s_version
  location     = "fsn1"
  network_zone = "eu-central"
  server_type  = "cx22"
  server_count = var.server_count

  agent_pools = {
    workers = {
      server_type = "cx22"
      count       = var.agent_count
    }
  }

  load_balancer = { enabled = false }
  labels        = { environment = "sandbox" }
  timeouts      = { create = "5m", delete = "5m" }

  # The module asks for the API's CIDRs and an explicit opt-in for an open
  # range; the sandbox's servers listen on loopback, so it keeps one.
  api_allowed_cidrs = var.api_allowed_cidrs
  allow_public_api  = true

  # No cloud-controller-manager runs here, but the Secret kube-system/hcloud
  # (the emulator's token, the network ID) is created as on Hetzner whenever
  # the token is passed (go tool task up, the e2e suites), so every sandbox
  # run exercises it.
  hcloud_token = var.hcloud_token
}

module "flux" {
  source = "../../modules/flux-bootstrap"

  kubeconfig             = module.cluster.kubeconfig
  cluster_name           = "sandbox"
  cluster_path           = var.flux_cluster_path
  operator_manifest_path = var.operator_manifest_path
  cluster_size           = "small"

  # Images built here from the controllers' Go modules (docs/images.md),
  # under the tags the operator resolves for 2.9.x; notification-,
  # image-reflector- and image-automation-controller cannot be built here.
  distribution_registry = "ghcr.io/sre-platform/fluxcd"
  components            = ["source-controller", "kustomize-controller", "helm-controller"]

  git_url      = var.flux_git_url
  git_ref      = var.flux_git_ref
  sops_age_key = var.sops_age_key

  wait     = var.flux_wait
  timeouts = { create = "5m", update = "5m", delete = "3m" }
}

# The apps' public entry, as Traefik's load balancer is on Hetzner: port 80
# of an emulated load balancer (a loopback IPv4 here) to the frontend's
# NodePort on every agent.
resource "hcloud_load_balancer" "apps" {
  name               = "${var.cluster_name}-apps"
  load_balancer_type = "lb11"
  location           = "fsn1"
  labels             = { environment = "sandbox", cluster = var.cluster_name, role = "apps" }
}

resource "hcloud_load_balancer_target" "agents" {
  type             = "label_selector"
  load_balancer_id = hcloud_load_balancer.apps.id
  label_selector   = "cluster=${var.cluster_name},role=agent"
}

resource "hcloud_load_balancer_service" "http" {
  load_balancer_id = hcloud_load_balancer.apps.id
  protocol         = "tcp"
  listen_port      = 80
  destination_port = var.frontend_node_port

  health_check {
    protocol = "tcp"
    port     = var.frontend_node_port
    interval = 5
    timeout  = 3
    retries  = 2
  }
}
