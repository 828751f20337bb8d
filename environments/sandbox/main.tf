# The sandbox: the same modules as the Hetzner environments, against the
# local Hetzner emulator and k3s boot simulation (docs/sandbox.md). Nodes
# register and turn Ready, but no kubelet runs pods, so the FluxInstance is
# applied without waiting for Ready.
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
  wait                   = false
  timeouts               = { create = "3m", update = "3m", delete = "3m" }
}
