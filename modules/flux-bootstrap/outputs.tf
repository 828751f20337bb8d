output "id" {
  description = "ID of the FluxInstance (`flux-system/flux`)."
  value       = platform_flux_instance.this.id
}

output "namespace" {
  description = "Namespace of the Flux installation and its Secrets."
  value       = "flux-system"
}

output "cluster_path" {
  description = "Path in the repository the cluster syncs from."
  value       = local.cluster_path
}

output "sync" {
  description = "The Git source the cluster syncs: kind, url, ref and path."
  value = {
    kind = "GitRepository"
    url  = var.git_url
    ref  = var.git_ref
    path = local.cluster_path
  }
}

output "components" {
  description = "Flux controllers the FluxInstance runs."
  value       = var.components
}

output "operator_version" {
  description = "Flux Operator release whose manifest is downloaded (with `operator_manifest_path` the local manifest decides)."
  value       = platform_flux_instance.this.operator_version
}

output "operator_manifest_sha256" {
  description = "SHA-256 of the applied operator install manifest."
  value       = platform_flux_instance.this.operator_manifest_sha256
}

output "sops_secret_name" {
  description = "Name of the Secret holding the SOPS age key (`sops-age`), or null without a key."
  value       = local.sops_enabled ? "sops-age" : null
}

output "git_secret_name" {
  description = "Name of the Secret with the Git credentials the sync pulls with (`flux-system`), or null for a public repository."
  value       = local.git_auth ? "flux-system" : null
}

output "ghcr_secret_name" {
  description = "Name of the ghcr.io pull Secret in flux-system, or null when `ghcr.enabled` is false."
  value       = local.ghcr_enabled ? local.ghcr_secret : null
}

output "cluster_variables_secret" {
  description = "`flux-system/cluster-variables`, the Secret with `cluster_variables` that Flux Kustomizations substitute from; null when there are none."
  value       = length(var.cluster_variables) > 0 ? "flux-system/cluster-variables" : null

  depends_on = [platform_cluster_secret.variables]
}
