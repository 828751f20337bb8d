# Local development: a kind cluster on this machine's Docker engine, synced by
# Flux from flux/clusters/local (Traefik, the apps; no SOPS secrets, no image
# automation).
module "cluster" {
  source = "../../modules/kind-cluster"

  name       = var.cluster_name
  node_image = var.node_image
  workers    = var.workers
  labels     = { "platform.sre/environment" = "local" }

  # Traefik's fixed NodePorts (flux/infrastructure/controllers/local).
  ingress = {
    http_port       = var.ingress_http_port
    https_port      = var.ingress_https_port
    node_http_port  = 30080
    node_https_port = 30443
  }
}

module "flux" {
  source = "../../modules/flux-bootstrap"

  kubeconfig             = module.cluster.kubeconfig
  cluster_name           = "local"
  git_url                = var.git_url
  git_ref                = var.git_ref
  git_token              = var.git_token
  operator_manifest_path = var.operator_manifest_path
  cluster_size           = "small"
  wait                   = var.flux_wait

  components = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
  ]
}
