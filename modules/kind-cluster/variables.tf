variable "name" {
  description = "Cluster name; node containers are `<name>-control-plane`, `<name>-worker`, `<name>-worker2`, ..."
  type        = string
  default     = "platform-local"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9.-]{0,46}[a-z0-9])?$", var.name))
    error_message = "The name must be lowercase letters, digits, '.' and '-', start and end with a letter or digit, at most 48 characters."
  }
}

variable "node_image" {
  description = "kindest/node image for every node (pin it with a digest); null takes kind v0.33.0's default (Kubernetes v1.37.0)."
  type        = string
  default     = null

  validation {
    condition     = var.node_image == null || can(regex("^[a-z0-9][a-z0-9./:_-]*(@sha256:[0-9a-f]{64})?$", coalesce(var.node_image, "x")))
    error_message = "The node_image must be an image reference such as kindest/node:v1.37.0@sha256:<digest>."
  }
}

variable "workers" {
  description = "Number of worker nodes beside the one control-plane node."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.workers >= 0 && var.workers <= 19 && floor(var.workers) == var.workers
    error_message = "The workers must be a whole number from 0 to 19 (kind clusters have at most 20 nodes)."
  }
}

variable "ingress" {
  description = "Publish the ingress controller's ports of the control-plane node (`node_http_port`/`node_https_port`, 80/443 for a controller with host ports; its NodePorts otherwise) on the host as `listen_address:http_port` and `:https_port` (loopback 80/443 by default), and label that node `ingress-ready=true`."
  type = object({
    enabled         = optional(bool, true)
    http_port       = optional(number, 80)
    https_port      = optional(number, 443)
    listen_address  = optional(string, "127.0.0.1")
    node_http_port  = optional(number, 80)
    node_https_port = optional(number, 443)
  })
  default  = {}
  nullable = false

  validation {
    condition = alltrue([for p in [var.ingress.http_port, var.ingress.https_port, var.ingress.node_http_port, var.ingress.node_https_port] :
      p >= 1 && p <= 65535 && floor(p) == p
    ]) && var.ingress.http_port != var.ingress.https_port && var.ingress.node_http_port != var.ingress.node_https_port
    error_message = "The ingress ports must be ports from 1 to 65535, HTTP and HTTPS different on the host and on the node."
  }

  validation {
    condition     = can(cidrhost("${var.ingress.listen_address}/32", 0))
    error_message = "The ingress listen_address must be an IPv4 address such as 127.0.0.1."
  }
}

variable "labels" {
  description = "Kubernetes labels for every node (the control-plane node also gets `ingress-ready=true` with ingress)."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition = alltrue([for k, v in var.labels :
      can(regex("^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$", k)) &&
      can(regex("^(|[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)$", v))
    ])
    error_message = "The labels must be valid Kubernetes label keys and values."
  }
}

variable "wait_for_ready" {
  description = "How long to wait for the control plane to be ready (Go duration, `0s` for no wait)."
  type        = string
  default     = "5m"
  nullable    = false

  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$", var.wait_for_ready))
    error_message = "The wait_for_ready must be a Go duration such as 5m."
  }
}
