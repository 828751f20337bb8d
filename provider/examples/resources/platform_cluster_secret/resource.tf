variable "kubeconfig" {
  description = "Admin kubeconfig of the cluster, e.g. platform_k3s_cluster.this.kubeconfig."
  type        = string
  sensitive   = true
}

variable "hcloud_token" {
  description = "Hetzner Cloud API token the cloud-controller-manager and CSI driver act with."
  type        = string
  sensitive   = true
}

variable "network_id" {
  description = "ID of the cluster's private network, e.g. hcloud_network.this.id."
  type        = string
}

# The Secret the Hetzner cloud-controller-manager and CSI driver read: the
# token and network come from Terraform instead of a copy in git.
resource "platform_cluster_secret" "hcloud" {
  kubeconfig = var.kubeconfig
  namespace  = "kube-system"
  name       = "hcloud"

  data = {
    token   = var.hcloud_token
    network = var.network_id
  }

  labels = {
    "app.kubernetes.io/part-of" = "platform"
  }
}
