# The environment this root builds: the name of its labels, its FluxInstance
# and its flux/clusters/ entry point. Everything else of the root is shared
# with the other Hetzner environments (environments/_hetzner, linked here).
locals {
  environment = "develop"
}
