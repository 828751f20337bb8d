# production: three servers (etcd quorum) behind an API load balancer in fsn1,
# three agents spread over two locations of the eu-central zone (fsn1, nbg1).
# Secrets come from TF_VAR_* (see ../README.md).
cluster_name = "production"
location     = "fsn1"
network_zone = "eu-central"
server_type  = "cx32"
server_count = 3

agent_pools = {
  fsn1 = {
    server_type = "cx42"
    count       = 2
    labels      = { "platform.sre/location" = "fsn1" }
  }
  nbg1 = {
    server_type = "cx42"
    count       = 1
    location    = "nbg1"
    labels      = { "platform.sre/location" = "nbg1" }
  }
}

load_balancer = {
  enabled = true
  type    = "lb11"
}

flux_cluster_size = "large"

# Who may reach the Kubernetes API (6443/tcp) on the servers: the machines that
# run Terraform (it waits for readiness and drains through it) and kubectl.
# REPLACE the placeholder (a documentation range, RFC 5737, that matches no
# real address) with your own CIDRs, e.g. ["<your public IPv4>/32"];
# against Hetzner's API the plan refuses it. 0.0.0.0/0 needs
# allow_public_api = true as well.
api_allowed_cidrs = ["203.0.113.0/24"]
