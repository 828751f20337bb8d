package validator

// Tests of the repository's own GitOps tree (not the corpus): properties a
// cluster must have that no single policy rule can state in general.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var (
	realOnce sync.Once
	realRep  *Report
	realErr  error
)

// realTree validates the repository's tree once per test binary.
func realTree(t *testing.T) *Report {
	t.Helper()
	root := repoRoot(t)
	realOnce.Do(func() {
		realRep, realErr = Run(Options{Root: root, CacheDir: filepath.Join(root, ".cache", "validate"),
			Extra: []string{"flux/infrastructure/observability/opentelemetry-collector"}})
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	for _, f := range realRep.Findings {
		t.Errorf("finding in the repository's tree: %s", f)
	}
	return realRep
}

func hasKind(objs []Object, kind string) bool {
	for _, o := range objs {
		if o.Kind() == kind {
			return true
		}
	}
	return false
}

// ghcrSecretName is the pull Secret modules/flux-bootstrap creates in
// flux-system (the default of its ghcr.secret_name input).
func ghcrSecretName(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "modules", "flux-bootstrap", "variables.tf"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`secret_name\s*=\s*optional\(string,\s*"([^"]+)"\)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("modules/flux-bootstrap/variables.tf: no default for ghcr.secret_name")
	}
	return string(m[1])
}

const ownImages = "ghcr.io/sre-platform/"

// On every Hetzner cluster (the ones with image automation, whose Terraform
// root creates the GHCR pull Secret in flux-system) the scans read GHCR with
// that Secret and every pod of this repository's images pulls with a copy of
// it in its own namespace.
func TestGHCRPullCredentialsAreWired(t *testing.T) {
	rep := realTree(t)
	secret := ghcrSecretName(t)
	checked := 0
	for _, c := range rep.Clusters {
		if !hasKind(c.Rendered, "ImagePolicy") {
			continue
		}
		checked++
		copies := map[string]bool{} // namespaces with a ResourceSet copy of flux-system/<secret>
		saPull := map[string]bool{} // "ns/sa" that lists <secret>
		for _, o := range c.Rendered {
			switch o.Kind() {
			case "ResourceSet":
				res, _ := get(o.Map, "spec", "resources").([]any)
				for _, r := range res {
					rm, _ := r.(map[string]any)
					if rm["kind"] == "Secret" && str(rm, "metadata", "name") == secret &&
						str(rm, "metadata", "annotations", "fluxcd.controlplane.io/copyFrom") == "flux-system/"+secret &&
						str(rm, "type") == "kubernetes.io/dockerconfigjson" {
						copies[str(rm, "metadata", "namespace")] = true
					}
				}
			case "ServiceAccount":
				l, _ := o.Map["imagePullSecrets"].([]any)
				for _, e := range l {
					if str(e.(map[string]any), "name") == secret {
						saPull[o.Namespace()+"/"+o.Name()] = true
					}
				}
			case "ImageRepository":
				if strings.HasPrefix(str(o.Map, "spec", "image"), ownImages) && str(o.Map, "spec", "secretRef", "name") != secret {
					t.Errorf("cluster %s: %s scans %s without spec.secretRef.name %q", c.Name, o.ID(), str(o.Map, "spec", "image"), secret)
				}
			}
		}
		for _, o := range c.Rendered {
			ps, ok := podSpecOf(o)
			if !ok {
				continue
			}
			cs, _ := ps.spec["containers"].([]any)
			own := false
			for _, x := range cs {
				image, _ := x.(map[string]any)["image"].(string)
				own = own || strings.HasPrefix(image, ownImages)
			}
			if !own {
				continue
			}
			sa, _ := ps.spec["serviceAccountName"].(string)
			if !saPull[o.Namespace()+"/"+sa] {
				t.Errorf("cluster %s: %s runs %s* but its ServiceAccount %q does not list imagePullSecrets %q", c.Name, o.ID(), ownImages, sa, secret)
			}
			if !copies[o.Namespace()] {
				t.Errorf("cluster %s: namespace %s has no ResourceSet copying flux-system/%s", c.Name, o.Namespace(), secret)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no cluster with image automation found")
	}
}
