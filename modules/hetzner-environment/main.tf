# One Hetzner environment: the private network, firewall, servers, agents and
# optional API load balancer with the cluster's Secret kube-system/hcloud
# (modules/hcloud-k3s-cluster), then Flux syncing the environment's entry
# point (modules/flux-bootstrap). The calling root configures the hcloud and
# platform providers and the state backend.
module "cluster" {
  source = "../hcloud-k3s-cluster"

  name               = var.cluster_name
  k3s_version        = var.k3s_version
  location           = var.location
  network_zone       = var.network_zone
  network_cidr       = var.network_cidr
  subnet_cidr        = var.subnet_cidr
  image              = var.image
  server_type        = var.server_type
  server_count       = var.server_count
  agent_pools        = var.agent_pools
  load_balancer      = var.load_balancer
  api_allowed_cidrs  = var.api_allowed_cidrs
  allow_public_api   = var.allow_public_api
  ssh_allowed_cidrs  = var.ssh_allowed_cidrs
  ssh_public_key     = var.ssh_public_key
  etcd_snapshot_cron = var.etcd_snapshot_cron
  labels             = merge(var.labels, { environment = var.environment })

  # k3s upgrades: in place by default (the system-upgrade-controller's Plans
  # (docs/runbooks/k3s-upgrade.md) read the release from the Secret
  # flux-system/cluster-variables that module.flux writes).
  upgrade_strategy = var.upgrade_strategy

  # etcd snapshots: schedule above, retention, and the upload to object
  # storage with its credentials.
  etcd_snapshot_retention = var.etcd_snapshot_retention
  etcd_s3                 = var.etcd_s3
  etcd_s3_credentials     = var.etcd_s3_credentials

  # The Hetzner cloud-controller-manager (flux/infrastructure/controllers/hcloud)
  # owns node initialisation; autoscaled pools need it.
  hcloud_cloud_controller = var.hcloud_cloud_controller

  # Secret kube-system/hcloud (token, network ID) for the cloud-controller-manager
  # and CSI driver that Flux installs. Always on: a null token fails the plan
  # (hack/tf-env.sh sets TF_VAR_hcloud_token from HCLOUD_TOKEN).
  hcloud_token = var.hcloud_token
  cloud_secret = { enabled = true }
}

module "flux" {
  source = "../flux-bootstrap"

  kubeconfig   = module.cluster.kubeconfig
  cluster_name = var.environment
  cluster_path = var.flux_cluster_path
  git_url      = var.git_url
  git_ref      = var.git_ref
  git_token    = var.git_token
  sops_age_key = var.sops_age_key
  # A local manifest decides the operator version itself.
  operator_version       = var.flux_operator_manifest_path == null ? var.flux_operator_version : null
  operator_manifest_path = var.flux_operator_manifest_path
  cluster_size           = var.flux_cluster_size
  wait                   = var.flux_wait

  # Post-build variables of the cluster's Flux Kustomizations: the k3s
  # release the upgrade Plans move every node to, from the same variable as
  # the nodes' k3s_version.
  cluster_variables = { K3S_VERSION = var.k3s_version }

  ghcr = {
    enabled  = var.ghcr_token != null
    username = var.ghcr_username
    token    = var.ghcr_token
  }
}
