package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sre-platform/platform/test/testenv"
)

// The committed reference FluxInstances are what Terraform applies.
func TestCommittedFluxInstancesMatchTerraform(t *testing.T) {
	root := testenv.RepoRoot()
	files, err := Generate(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no cluster entries")
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%s: %v (generate it: go tool task flux:instances)", name, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from what Terraform renders (regenerate: go tool task flux:instances); want:\n%s", name, want)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			if info.Name() == ".terraform" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func scratch(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"environments", "modules"} {
		copyDir(t, filepath.Join(testenv.RepoRoot(), d), filepath.Join(root, d))
	}
	return root
}

func render(t *testing.T, root string, src source) string {
	t.Helper()
	b, err := Render(context.Background(), root, src)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The render follows the Terraform code: the module's SOPS patch exists
// exactly when the key is set, the Git pull Secret exactly when the token is,
// and a changed default in the root changes the FluxInstance.
func TestRenderFollowsTheTerraformCode(t *testing.T) {
	root := scratch(t)
	develop := Sources[0]
	full := render(t, root, develop)
	for _, want := range []string{"provider: sops", "pullSecret: flux-system", "url: https://github.com/sre-platform/platform.git", "path: flux/clusters/develop", "size: small", "- image-automation-controller"} {
		if !strings.Contains(full, want) {
			t.Errorf("develop with every secret lacks %q:\n%s", want, full)
		}
	}

	bare := develop
	bare.Secrets = nil
	out := render(t, root, bare)
	for _, unwanted := range []string{"decryption", "pullSecret"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("develop without secrets has %q:\n%s", unwanted, out)
		}
	}

	// The root leaves git_url null, so the composition module's default
	// (a variable with nullable = false) decides, as in Terraform.
	vars := filepath.Join(root, "modules", "hetzner-environment", "variables.tf")
	b, err := os.ReadFile(vars)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), `"https://github.com/sre-platform/platform.git"`, `"ssh://git@github.com/sre-platform/platform.git"`, 1)
	if changed == string(b) {
		t.Fatal("modules/hetzner-environment/variables.tf: git_url default not found")
	}
	if err := os.WriteFile(vars, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := render(t, root, develop); !strings.Contains(out, "url: ssh://git@github.com/sre-platform/platform.git") {
		t.Errorf("a changed git_url default did not reach the FluxInstance:\n%s", out)
	}
}

// The provider's own validation applies, and an unknown cluster is an error.
func TestRenderRejects(t *testing.T) {
	root := scratch(t)
	bad := Sources[0]
	bad.Vars = map[string]string{"git_url": "ftp://example.com/repo.git"}
	if _, err := Render(context.Background(), root, bad); err == nil || !strings.Contains(err.Error(), "git_url") && !strings.Contains(err.Error(), "ftp") {
		t.Errorf("an ftp:// git_url rendered (err %v)", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "flux", "clusters", "nowhere"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), root); err == nil || !strings.Contains(err.Error(), "flux/clusters/nowhere: no Terraform root known") {
		t.Errorf("Generate with an unknown cluster: %v", err)
	}
}

// The Secret flux-system/cluster-variables follows the Terraform code: the
// environment's k3s_version (its tfvars, else the composition module's
// default) becomes K3S_VERSION, exactly for the roots that write it.
func TestRenderWritesClusterVariables(t *testing.T) {
	root := scratch(t)
	develop := Sources[0]
	secret := func(src source) string {
		t.Helper()
		out := render(t, root, src)
		_, after, found := strings.Cut(out, "\n---\n")
		if !found {
			return ""
		}
		return after
	}
	// v1.34.4+k3s1, base64.
	def := secret(develop)
	for _, want := range []string{"#   K3S_VERSION=v1.34.4+k3s1\n", "K3S_VERSION: djEuMzQuNCtrM3Mx\n", "kind: Secret\n", "name: cluster-variables\n",
		"namespace: flux-system\n", "reconcile.fluxcd.io/watch: Enabled\n", "app.kubernetes.io/managed-by: terraform-provider-platform\n", "type: Opaque\n"} {
		if !strings.Contains(def, want) {
			t.Errorf("develop's cluster-variables Secret lacks %q:\n%s", want, def)
		}
	}
	for _, src := range Sources {
		if src.Cluster == "sandbox" || src.Cluster == "local" {
			if s := secret(src); s != "" {
				t.Errorf("%s: its root writes no cluster variables, yet the render has:\n%s", src.Cluster, s)
			}
		}
	}

	tfvars := filepath.Join(root, develop.Root, develop.VarFile)
	b, err := os.ReadFile(tfvars)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tfvars, append(b, []byte("\nk3s_version = \"v1.35.2+k3s1\"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	// v1.35.2+k3s1, base64.
	if s := secret(develop); !strings.Contains(s, "#   K3S_VERSION=v1.35.2+k3s1\n") || !strings.Contains(s, "K3S_VERSION: djEuMzUuMitrM3Mx\n") {
		t.Errorf("k3s_version set in develop.tfvars did not reach the Secret:\n%s", s)
	}
}

// A cluster variable derived from a sensitive variable is never rendered
// into the committed reference file.
func TestClusterSecretsRefusesSensitiveValues(t *testing.T) {
	root := scratch(t)
	main := filepath.Join(root, "modules", "hetzner-environment", "main.tf")
	b, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), "cluster_variables = { K3S_VERSION = var.k3s_version }",
		"cluster_variables = { K3S_VERSION = var.k3s_version, GIT = \"x-${var.git_token}\" }", 1)
	if changed == string(b) {
		t.Fatal("modules/hetzner-environment/main.tf: cluster_variables not found")
	}
	if err := os.WriteFile(main, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ClusterSecrets(root, Sources[0])
	if err == nil || !strings.Contains(err.Error(), `platform_cluster_secret.variables.data["GIT"] derives from the sensitive variable git_token`) {
		t.Errorf("a cluster variable built from git_token: err %v", err)
	}
}
