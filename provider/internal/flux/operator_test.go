package flux_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	sigyaml "sigs.k8s.io/yaml"

	"github.com/sre-platform/platform/internal/testenv"
)

const operatorModule = "github.com/controlplaneio-fluxcd/flux-operator@v0.59.0"

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// operatorModuleDir returns the flux-operator module in the module cache,
// downloading it when absent (its go.mod needs the go1.27.3 toolchain even
// for a download; it is never part of this module's requirements).
func operatorModuleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err == nil {
		d := filepath.Join(strings.TrimSpace(string(out)), "github.com", "controlplaneio-fluxcd", "flux-operator@v0.59.0")
		if _, err := os.Stat(filepath.Join(d, "config", "crd", "bases")); err == nil {
			return d
		}
	}
	cmd := exec.Command("go", "mod", "download", "-json", operatorModule)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=go1.27.3", "GOFLAGS=")
	out, err = cmd.Output()
	var info struct{ Dir, Error string }
	_ = json.Unmarshal(out, &info)
	testenv.Require(t, err == nil && info.Dir != "", "the flux-operator v0.59.0 module (CRDs and manifests)",
		"GOTOOLCHAIN=go1.27.3 go mod download "+operatorModule)
	return info.Dir
}

// buildOperatorManifest assembles the operator's install.yaml the way its
// config/default kustomization does (namespace, RBAC, CRDs, service account,
// deployment and service, namespaced objects in flux-system, the release
// image) into a temp file.
func buildOperatorManifest(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(operatorModuleDir(t), "config")
	files := []string{
		"default/namespace.yaml", "default/rbac.yaml",
		"crd/bases/fluxcd.controlplane.io_fluxinstances.yaml", "crd/bases/fluxcd.controlplane.io_fluxreports.yaml",
		"crd/bases/fluxcd.controlplane.io_resourcesets.yaml", "crd/bases/fluxcd.controlplane.io_resourcesetinputproviders.yaml",
		"manager/account.yaml", "manager/deployment.yaml", "manager/service.yaml",
	}
	var out bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(b), "\n---") {
			var obj map[string]any
			if err := sigyaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(obj) == 0 {
				continue
			}
			switch obj["kind"] {
			case "ServiceAccount", "Deployment", "Service":
				obj["metadata"].(map[string]any)["namespace"] = "flux-system"
			}
			if obj["kind"] == "Deployment" {
				spec := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
				spec["containers"].([]any)[0].(map[string]any)["image"] = "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.59.0"
			}
			y, err := sigyaml.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			out.WriteString("---\n")
			out.Write(y)
		}
	}
	p := filepath.Join(t.TempDir(), "install.yaml")
	if err := os.WriteFile(p, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
