# Values the in-repo provider's mock returns in place of generated PKI and
# Hetzner-assigned addresses. The kubeconfigs load (platform_cluster_secret
# validates its kubeconfig at plan time) and differ by server address.

mock_resource "platform_k3s_cluster" {
  defaults = {
    id                    = "cluster-id"
    token                 = "K10mock::server:secret"
    agent_token           = "K10mock::node:agentsecret"
    server_bundle         = "{\"mock\":true}"
    server_ca_certificate = "-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n"
    kubeconfig            = "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://203.0.113.10:6443\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
  }
}

mock_resource "platform_k3s_server" {
  defaults = {
    id           = "6006"
    ipv4_address = "198.51.100.2"
    ipv6_address = "2001:db8:1::1"
    kubeconfig   = "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://198.51.100.2:6443\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
    config_hash  = "0123456789abcdef0123456789abcdef"
    status       = "running"
  }
}

mock_resource "platform_k3s_agent" {
  defaults = {
    id           = "7007"
    ipv4_address = "198.51.100.100"
    ipv6_address = "2001:db8:2::1"
    config_hash  = "fedcba9876543210fedcba9876543210"
    status       = "running"
  }
}

mock_resource "platform_cluster_secret" {
  defaults = {
    id   = "kube-system/hcloud"
    type = "Opaque" # the provider's default
  }
}

mock_data "platform_k3s_agent_cloudinit" {
  defaults = {
    user_data = "#cloud-config\nwrite_files: []\n"
    sha256    = "4f0c52d2b0c5ec0b8b1d2b8e1f1e6d6b3c1a2b3c4d5e6f708192a3b4c5d6e7f8"
  }
}
