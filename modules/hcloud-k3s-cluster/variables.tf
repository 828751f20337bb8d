variable "name" {
  description = "Cluster name: a lowercase DNS label of at most 30 characters. Prefixes every resource name (`<name>-cp-1`, `<name>-<pool>-1`, `<name>-network`, ...) and is the `cluster` label on every Hetzner resource. Changing it replaces the cluster."
  type        = string
  nullable    = false

  validation {
    condition     = length(var.name) <= 30 && can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.name))
    error_message = "name must be a lowercase DNS label (a-z, 0-9 and '-', starting and ending with a letter or digit) of at most 30 characters."
  }
}

variable "k3s_version" {
  description = "k3s release of every node, e.g. `v1.31.4+k3s1`. What a change does depends on `upgrade_strategy`: `replace` replaces every node; `in-place` keeps them and the system-upgrade-controller upgrades them (docs/runbooks/k3s-upgrade.md). New nodes (scale-ups, autoscaled agents, replacements) always boot this release."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+\\+k3s[0-9]+$", var.k3s_version))
    error_message = "k3s_version must be a k3s release of the form vX.Y.Z+k3sN, e.g. v1.31.4+k3s1."
  }
}

variable "upgrade_strategy" {
  description = <<-EOT
    How a `k3s_version` change reaches running nodes. `replace` (the default): the release is baked into every node's
    cloud-init, so a change replaces every server and agent (the first server's replacement starts an empty etcd: only
    for clusters that can be rebuilt). `in-place`: the nodes stay; their cloud-init keeps the release they booted
    (`installed_k3s_version`), and the system-upgrade-controller in the cluster (docs/runbooks/k3s-upgrade.md) upgrades
    them, servers first, one at a time, from the release Terraform writes into the cluster (modules/flux-bootstrap
    `cluster_variables`). Each node's `running_k3s_version` and a plan warning show a node whose kubelet runs another
    release. Changing the strategy changes nothing on the servers, but switching to `replace` replaces every node whose
    `installed_k3s_version` differs from `k3s_version`.
  EOT
  type        = string
  default     = "replace"
  nullable    = false

  validation {
    condition     = contains(["replace", "in-place"], var.upgrade_strategy)
    error_message = "upgrade_strategy must be \"replace\" (a k3s_version change replaces the nodes) or \"in-place\" (the system-upgrade-controller upgrades them)."
  }
}

variable "location" {
  description = "Hetzner location of the control plane, the API load balancer and (unless a pool sets its own) the agents, e.g. `fsn1`, `nbg1`, `hel1`. Must lie in `network_zone`."
  type        = string
  default     = "fsn1"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]+[0-9]+$", var.location))
    error_message = "location must be a Hetzner location name such as fsn1, nbg1, hel1, ash, hil or sin."
  }

  validation {
    condition     = lookup(local.location_zones, var.location, var.network_zone) == var.network_zone
    error_message = "location must lie in network_zone: fsn1, nbg1 and hel1 are in eu-central, ash in us-east, hil in us-west, sin in ap-southeast."
  }
}

variable "network_zone" {
  description = "Network zone of the subnet (and so of every location used): `eu-central` (fsn1, nbg1, hel1), `us-east` (ash), `us-west` (hil) or `ap-southeast` (sin)."
  type        = string
  default     = "eu-central"
  nullable    = false

  validation {
    condition     = contains(["eu-central", "us-east", "us-west", "ap-southeast"], var.network_zone)
    error_message = "network_zone must be one of eu-central, us-east, us-west, ap-southeast."
  }
}

variable "network_cidr" {
  description = "IPv4 range of the private network (RFC 1918)."
  type        = string
  default     = "10.0.0.0/16"
  nullable    = false

  validation {
    condition     = can(cidrhost(var.network_cidr, 0)) && !strcontains(var.network_cidr, ":")
    error_message = "network_cidr must be an IPv4 CIDR such as 10.0.0.0/16."
  }
}

variable "subnet_cidr" {
  description = "IPv4 range of the nodes' subnet, inside `network_cidr`. The API load balancer takes its last usable address (`cidrhost(subnet_cidr, -2)`), control-plane servers the ones below it (`-3`, `-4`, ...); agents get addresses Hetzner assigns from the bottom."
  type        = string
  default     = "10.0.1.0/24"
  nullable    = false

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0)) && !strcontains(var.subnet_cidr, ":")
    error_message = "subnet_cidr must be an IPv4 CIDR such as 10.0.1.0/24."
  }

  validation {
    condition = !can(cidrhost(var.subnet_cidr, 0)) || !can(cidrhost(var.network_cidr, 0)) || try(
      tonumber(split("/", var.subnet_cidr)[1]) >= tonumber(split("/", var.network_cidr)[1]) &&
      tonumber(split("/", var.subnet_cidr)[1]) <= 28 &&
      cidrhost("${cidrhost(var.subnet_cidr, 0)}/${split("/", var.network_cidr)[1]}", 0) == cidrhost(var.network_cidr, 0),
    false)
    error_message = "subnet_cidr must lie inside network_cidr and be at least a /28."
  }
}

variable "image" {
  description = "Image of every node (name or ID). Changing it replaces the nodes."
  type        = string
  default     = "ubuntu-24.04"
  nullable    = false
}

variable "server_type" {
  description = "Hetzner server type of the control-plane servers, e.g. `cx22`. Changed in place (power off, resize, power on)."
  type        = string
  default     = "cx22"
  nullable    = false

  validation {
    condition     = length(var.server_type) > 0
    error_message = "server_type must not be empty."
  }
}

variable "server_count" {
  description = "Number of control-plane servers (k3s servers with embedded etcd): 1, or an odd number from 3 to 9 for HA (etcd needs a majority: 3 servers survive the loss of 1, 5 of 2). They share a spread placement group."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.server_count == 1 || (var.server_count >= 3 && var.server_count <= 9 && var.server_count % 2 == 1)
    error_message = "server_count must be 1 or an odd number from 3 to 9: etcd needs a majority of servers, so an even count adds no fault tolerance (2 servers survive no loss, like 1), and a spread placement group holds at most 10 servers."
  }
}

variable "server_taints" {
  description = "Taints of the control-plane nodes, `key[=value]:Effect`. The default, `CriticalAddonsOnly=true:NoExecute`, keeps workloads off the servers, whose disks and user data hold the cluster's CA keys: only pods that tolerate it run there (k3s' CoreDNS, metrics-server and local-path provisioner do; an add-on that must run on every node, such as a DaemonSet, adds `tolerations: [{key: CriticalAddonsOnly, operator: Exists}]`). Needs at least one agent pool for everything else. `[]` lets workloads on the servers. Changing them replaces the servers."
  type        = list(string)
  default     = ["CriticalAddonsOnly=true:NoExecute"]
  nullable    = false

  validation {
    condition     = alltrue([for t in var.server_taints : can(regex("^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$", t))])
    error_message = "server_taints must be of the form key=value:Effect (value optional) with Effect one of NoSchedule, PreferNoSchedule, NoExecute."
  }
}

variable "agent_pools" {
  description = <<-EOT
    Agent (worker) pools by name. Each pool has `count` servers of `server_type`, named `<name>-<pool>-<n>`, with the
    Kubernetes node labels `labels` (plus `platform.sre/pool = <pool>`), the taints `taints` (`key=value:Effect`) and,
    optionally, its own `location` in the same network zone. Pool names are DNS labels of at most 20 characters
    (not `cp`). Changing `count` adds or drains and removes the highest-numbered agents.

    A pool with `autoscaling = { min, max }` is sized by the cluster autoscaler instead (node group `<name>-<pool>`,
    between `min` and `max` servers): Terraform creates none of its agents (leave `count` out or 0) and renders its
    cloud-init — the same as a Terraform agent's, with the agent token — into the autoscaler's Secret (see
    `autoscaler_secret` and `autoscaler_node_groups`). Needs `hcloud_cloud_controller = true` (the autoscaler finds a
    node's server by its `hcloud://` provider ID) and `hcloud_token`.
  EOT
  type = map(object({
    server_type = string
    count       = optional(number, 0)
    labels      = optional(map(string), {})
    taints      = optional(list(string), [])
    location    = optional(string)
    autoscaling = optional(object({
      min = number
      max = number
    }))
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for p in values(var.agent_pools) : p.count >= 0 && floor(p.count) == p.count])
    error_message = "agent_pools: every count must be a whole number >= 0."
  }

  validation {
    condition     = alltrue([for k in keys(var.agent_pools) : k != "cp" && length(k) <= 20 && can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", k))])
    error_message = "agent_pools: pool names must be lowercase DNS labels (a-z, 0-9, '-') of at most 20 characters, and not \"cp\" (the control plane's name part)."
  }

  validation {
    condition = alltrue(flatten([for p in values(var.agent_pools) : [
      for t in p.taints : can(regex("^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$", t))
    ]]))
    error_message = "agent_pools: taints must be of the form key=value:Effect (value optional) with Effect one of NoSchedule, PreferNoSchedule, NoExecute, e.g. \"dedicated=batch:NoSchedule\"."
  }

  validation {
    condition = alltrue(flatten([for p in values(var.agent_pools) : [
      for k, v in p.labels : (
        can(regex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$", k)) &&
        can(regex("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$", v)) &&
        (!can(regex("(^|\\.)(kubernetes|k8s)\\.io/", k)) || can(regex("^(node|kubelet)\\.kubernetes\\.io/", k)))
      )
    ]]))
    error_message = "agent_pools: labels must be valid Kubernetes labels, and a kubelet may not set keys under kubernetes.io or k8s.io except node.kubernetes.io/ and kubelet.kubernetes.io/ (node-role.kubernetes.io/* is refused by the API server)."
  }

  validation {
    condition     = alltrue([for p in values(var.agent_pools) : length(p.server_type) > 0 && (p.location == null || can(regex("^[a-z]+[0-9]+$", p.location)))])
    error_message = "agent_pools: server_type must not be empty and location, when set, must be a Hetzner location name such as nbg1."
  }

  validation {
    condition = alltrue([for p in values(var.agent_pools) : p.autoscaling == null || try(
      p.autoscaling.min >= 0 && floor(p.autoscaling.min) == p.autoscaling.min &&
      p.autoscaling.max >= 1 && floor(p.autoscaling.max) == p.autoscaling.max &&
    p.autoscaling.min <= p.autoscaling.max, false)])
    error_message = "agent_pools: autoscaling needs whole numbers with 0 <= min <= max and max >= 1, e.g. { min = 0, max = 5 }."
  }

  validation {
    condition     = alltrue([for k, p in var.agent_pools : p.autoscaling == null || length(var.name) + length(k) <= 46])
    error_message = "agent_pools: an autoscaled pool's node group <name>-<pool> must be at most 46 characters: the autoscaler names its servers <group>-<up to 16 hex digits>, and server names are DNS labels (at most 63)."
  }

  validation {
    condition     = alltrue([for p in values(var.agent_pools) : p.autoscaling == null || p.count == 0])
    error_message = "agent_pools: an autoscaled pool's size is the cluster autoscaler's: leave count out (or 0) when autoscaling is set."
  }

  validation {
    condition     = var.hcloud_cloud_controller || alltrue([for p in values(var.agent_pools) : p.autoscaling == null])
    error_message = "agent_pools: autoscaling needs hcloud_cloud_controller = true: the cluster autoscaler finds the server of a node by its hcloud://<id> provider ID, which the Hetzner cloud-controller-manager sets."
  }

  validation {
    condition     = alltrue([for p in values(var.agent_pools) : p.autoscaling == null]) || var.hcloud_token != null
    error_message = "agent_pools: autoscaling needs hcloud_token: the cluster autoscaler creates and deletes servers with it (it reads the token from the cloud Secret)."
  }

  validation {
    condition     = alltrue([for p in values(var.agent_pools) : p.location == null || lookup(local.location_zones, coalesce(p.location, "-"), var.network_zone) == var.network_zone])
    error_message = "agent_pools: a pool's location must lie in network_zone (fsn1, nbg1, hel1: eu-central; ash: us-east; hil: us-west; sin: ap-southeast)."
  }
}

variable "api_allowed_cidrs" {
  description = "Source CIDRs allowed to reach the Kubernetes API (6443/tcp) on the servers' public addresses; required, no default. Must include the machine running Terraform: the provider waits for readiness and drains nodes through the servers' API. Ranges wider than a /8 (IPv4) or a /16 (IPv6), `0.0.0.0/0` and `::/0` among them, also need `allow_public_api = true`. Hetzner load balancers have no firewall: with `load_balancer.enabled` the API is reachable on the balancer from anywhere (client certificates still required)."
  type        = list(string)
  nullable    = false

  validation {
    condition = length(var.api_allowed_cidrs) > 0 && alltrue([for c in var.api_allowed_cidrs :
    can(cidrhost(c, 0)) && strcontains(c, "/") && try(cidrhost(c, 0) == lower(split("/", c)[0]), false)])
    error_message = "api_allowed_cidrs must be a non-empty list of CIDRs, each written from its first address, such as 198.51.100.7/32, 198.51.100.0/24 or 2001:db8:1::/48 (not 198.51.100.7/24): the provider needs the API to check node readiness."
  }

  validation {
    condition = var.allow_public_api || alltrue([for c in var.api_allowed_cidrs : try(
      tonumber(split("/", c)[1]) >= (strcontains(c, ":") ? 16 : 8),
    true)])
    error_message = "api_allowed_cidrs opens the Kubernetes API to a large part of the internet (a range wider than /8 for IPv4 or /16 for IPv6, e.g. 0.0.0.0/0): name the CIDRs of the machines that run Terraform and kubectl, or set allow_public_api = true to accept it (every request still needs a client certificate of the cluster's CA)."
  }
}

variable "allow_public_api" {
  description = "Accept `api_allowed_cidrs` wider than a /8 (IPv4) or a /16 (IPv6), such as `0.0.0.0/0`: the API port open to (much of) the internet, guarded only by client certificates. Default false."
  type        = bool
  default     = false
  nullable    = false
}

variable "hcloud_cloud_controller" {
  description = <<-EOT
    The Hetzner cloud-controller-manager runs in the cluster (flux/infrastructure/controllers/hcloud) and owns node
    initialisation, routes and load balancers. Every server and agent then gets `external_cloud_provider`: k3s' config
    carries `kubelet-arg: [cloud-provider=external]` on every node and, on servers, `disable-cloud-controller: true` and
    `servicelb` in `disable`, so k3s' own cloud controller and ServiceLB never compete with it. Nodes register with an
    empty `spec.providerID` and the taint `node.cloudprovider.kubernetes.io/uninitialized=true:NoSchedule`; the
    controller sets `hcloud://<server id>` and lifts the taint. Until it runs only pods that tolerate that taint are
    scheduled, so it must be deployed in a way that does not depend on other pods. Default false: k3s' own cloud
    controller (`k3s://<node>` provider IDs) and ServiceLB. Changing it replaces every node.
  EOT
  type        = bool
  default     = false
  nullable    = false
}

variable "ssh_allowed_cidrs" {
  description = "Source CIDRs allowed to reach SSH (22/tcp). Empty (the default) keeps SSH closed."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for c in var.ssh_allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "ssh_allowed_cidrs must be CIDRs such as 203.0.113.7/32 or 2001:db8::/48."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key installed on every node (as the Hetzner SSH key `<name>`). Null: no key; Hetzner then mails a root password per server. Changing it replaces the nodes."
  type        = string
  default     = null

  validation {
    condition     = var.ssh_public_key == null || can(regex("^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\\.com) [A-Za-z0-9+/=]+( .*)?$", var.ssh_public_key))
    error_message = "ssh_public_key must be an OpenSSH public key line such as \"ssh-ed25519 AAAA... comment\"."
  }
}

variable "load_balancer" {
  description = "API load balancer: `enabled` puts a Hetzner load balancer of `type` (lb11, lb21, lb31) on the network in front of the control plane (tcp 6443 to the servers' private IPs, selected by label). The kubeconfig, joining servers and agents then use it. Recommended with `server_count` > 1; without it everything joins and talks through the first server."
  type = object({
    enabled = bool
    type    = optional(string, "lb11")
  })
  default  = { enabled = false }
  nullable = false

  validation {
    condition     = contains(["lb11", "lb21", "lb31"], var.load_balancer.type)
    error_message = "load_balancer.type must be one of lb11, lb21, lb31."
  }
}

variable "disable" {
  description = "Packaged k3s components to disable on the servers. Traefik is installed by Flux instead (docs/adr/0002-ingress.md)."
  type        = list(string)
  default     = ["traefik"]
  nullable    = false

  validation {
    condition     = alltrue([for d in var.disable : contains(["coredns", "servicelb", "traefik", "local-storage", "metrics-server", "runtimes"], d)])
    error_message = "disable may list only coredns, servicelb, traefik, local-storage, metrics-server, runtimes."
  }
}

variable "tls_san" {
  description = "Extra host names or IPs in the API server certificate (e.g. a DNS name for the API). The load balancer's addresses are added by the module."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "etcd_snapshot_cron" {
  description = "Schedule of etcd snapshots on the servers (five-field cron). Null keeps k3s' default (every 12 hours)."
  type        = string
  default     = null

  validation {
    condition     = var.etcd_snapshot_cron == null || can(regex("^\\S+( \\S+){4}$", var.etcd_snapshot_cron))
    error_message = "etcd_snapshot_cron must be a five-field cron expression such as \"0 */6 * * *\"."
  }
}

variable "etcd_snapshot_retention" {
  description = "Snapshots each server keeps (k3s `etcd-snapshot-retention`), on its disk and, with `etcd_s3`, in the bucket folder. Null keeps k3s' default (5)."
  type        = number
  default     = null

  validation {
    condition     = var.etcd_snapshot_retention == null || try(var.etcd_snapshot_retention >= 1 && var.etcd_snapshot_retention <= 1000 && floor(var.etcd_snapshot_retention) == var.etcd_snapshot_retention, false)
    error_message = "etcd_snapshot_retention must be a whole number between 1 and 1000."
  }
}

variable "etcd_s3" {
  description = <<-EOT
    Upload every etcd snapshot to S3-compatible object storage (Hetzner Object Storage, AWS S3, MinIO) as well as the
    servers' disks, so the cluster survives the loss of its servers (docs/runbooks/etcd-restore.md). `endpoint` is the
    S3 host[:port] without a scheme (HTTPS), e.g. `fsn1.your-objectstorage.com`; `bucket` must exist; `folder` is the
    key prefix (e.g. `etcd/<cluster>`, no leading or trailing `/`); `region` e.g. `fsn1` (null: us-east-1). The keys
    come from `etcd_s3_credentials`. Part of every server's cloud-init: changing it replaces the servers.
  EOT
  type = object({
    endpoint = string
    bucket   = string
    folder   = optional(string)
    region   = optional(string)
  })
  default = null

  validation {
    condition     = var.etcd_s3 == null || can(regex("^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$", var.etcd_s3.endpoint))
    error_message = "etcd_s3.endpoint must be an S3 host[:port] without scheme or path, e.g. fsn1.your-objectstorage.com."
  }
  validation {
    condition     = var.etcd_s3 == null || (can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.etcd_s3.bucket)) && !strcontains(try(var.etcd_s3.bucket, ""), ".."))
    error_message = "etcd_s3.bucket must be an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
  validation {
    condition     = var.etcd_s3 == null || try(var.etcd_s3.folder == null, true) || can(regex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.etcd_s3.folder))
    error_message = "etcd_s3.folder must be path segments of letters, digits, '.', '_' and '-', without a leading or trailing '/'."
  }
  validation {
    condition     = var.etcd_s3 == null || try(var.etcd_s3.region == null, true) || can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.etcd_s3.region))
    error_message = "etcd_s3.region must be lower-case letters, digits and hyphens, e.g. fsn1 or eu-central-1."
  }
}

variable "etcd_s3_credentials" {
  description = "Access key and secret key for `etcd_s3` (required with it; a key limited to that bucket). Pass them as TF_VAR_etcd_s3_credentials, never in a committed tfvars file."
  type = object({
    access_key = string
    secret_key = string
  })
  default   = null
  sensitive = true

  validation {
    condition     = var.etcd_s3_credentials == null || try(length(trimspace(var.etcd_s3_credentials.access_key)) > 0 && length(trimspace(var.etcd_s3_credentials.secret_key)) > 0, false)
    error_message = "etcd_s3_credentials needs a non-empty access_key and secret_key."
  }
  validation {
    condition     = (var.etcd_s3 == null) == (var.etcd_s3_credentials == null)
    error_message = "etcd_s3 and etcd_s3_credentials go together: set both to upload etcd snapshots, or neither."
  }
}

variable "labels" {
  description = "Extra Hetzner labels on every resource. The module's own keys (`cluster`, `managed-by`, `role`, `pool`) are reserved."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition = alltrue([for k, v in var.labels :
      can(regex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$", k)) &&
      can(regex("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$", v))
    ])
    error_message = "labels must be valid Hetzner labels: keys like example.com/team or team, values of at most 63 characters of A-Z a-z 0-9 - _ . (starting and ending alphanumeric)."
  }

  validation {
    condition     = length(setintersection(keys(var.labels), ["cluster", "managed-by", "role", "pool"])) == 0
    error_message = "labels must not set cluster, managed-by, role or pool: the module sets them (the API load balancer selects servers by them)."
  }
}

variable "timeouts" {
  description = "Timeouts of each node resource as Go durations: `create` (boot and readiness, provider default 20m), `update` (20m), `delete` (15m, includes the drain)."
  type = object({
    create = optional(string)
    update = optional(string)
    delete = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for t in [var.timeouts.create, var.timeouts.update, var.timeouts.delete] : t == null || can(regex("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$", t))])
    error_message = "timeouts must be Go durations such as \"30m\" or \"1h30m\"."
  }
}

variable "hcloud_token" {
  description = "Hetzner Cloud API token the cluster's cloud-controller-manager and CSI driver act with (usually the token Terraform uses), written to the `cloud_secret` Secret. Null: no such Secret, unless `cloud_secret.enabled` is true, which then fails validation. Never put it in a tfvars file."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.hcloud_token == null || can(regex("^[A-Za-z0-9]{64}$", var.hcloud_token))
    error_message = "hcloud_token must be a Hetzner Cloud API token: exactly 64 letters and digits."
  }
}

variable "cloud_secret" {
  description = <<-EOT
    The Secret (keys `token` = `hcloud_token`, `network` = the private network's ID) that the Hetzner
    cloud-controller-manager and CSI driver read, created in the cluster after every node. `enabled`: null (the default)
    creates it exactly when `hcloud_token` is set; true requires `hcloud_token` (a validation error names it otherwise);
    false never creates it. `namespace` and `name` default to `kube-system` / `hcloud`, what
    flux/infrastructure/controllers/hcloud expects.
  EOT
  type = object({
    enabled   = optional(bool)
    namespace = optional(string, "kube-system")
    name      = optional(string, "hcloud")
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.cloud_secret.enabled != true || var.hcloud_token != null
    error_message = "cloud_secret.enabled is true but hcloud_token is null: the cloud Secret needs the Hetzner token. Pass hcloud_token (the environments take TF_VAR_hcloud_token, which hack/tf-env.sh sets from HCLOUD_TOKEN), or set cloud_secret.enabled = false."
  }

  validation {
    condition     = length(var.cloud_secret.namespace) <= 63 && can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.cloud_secret.namespace))
    error_message = "cloud_secret.namespace must be a namespace name: a lowercase DNS label (a-z, 0-9, '-') of at most 63 characters."
  }

  validation {
    condition     = length(var.cloud_secret.name) <= 253 && can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$", var.cloud_secret.name))
    error_message = "cloud_secret.name must be a Secret name: a lowercase DNS subdomain (a-z, 0-9, '-' and '.') of at most 253 characters."
  }
}
