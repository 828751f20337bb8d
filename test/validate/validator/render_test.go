package validator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestWriteRender(t *testing.T) {
	root := tree(t, "")
	rep := run(t, root)
	out := t.TempDir()
	sum, err := WriteRender(out, rep, DefaultCRDSources)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Environments["test"] != 5 || sum.CRDs != 3 {
		t.Errorf("summary %+v, want 5 objects in environment test and 3 CRDs", sum)
	}
	b, err := os.ReadFile(filepath.Join(out, RenderClusters, "test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "# environment: test\n---\n# source: flux/clusters/test/ks.yaml\n") {
		t.Errorf("clusters/test.yaml does not start with the environment and the first source:\n%s", s)
	}
	for _, want := range []string{"# source: flux/apps/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\n", "# source: flux/infra/images.yaml\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("clusters/test.yaml lacks %q", want)
		}
	}
	if n := strings.Count(s, "\n---\n"); n != 5 {
		t.Errorf("clusters/test.yaml has %d documents, want 5", n)
	}
	if strings.Contains(s, originAnnotation) {
		t.Errorf("origin annotations leaked into the render")
	}
	crds, err := os.ReadFile(filepath.Join(out, RenderCRDs))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# source: github.com/fluxcd/kustomize-controller@v1.9.6/config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml\n",
		"name: imagepolicies.image.toolkit.fluxcd.io\n", "name: imagerepositories.image.toolkit.fluxcd.io\n",
	} {
		if !strings.Contains(string(crds), want) {
			t.Errorf("crds.yaml lacks %q", want)
		}
	}
}

func TestCustomKindsAndMissingCRDs(t *testing.T) {
	objs := []Object{
		{Map: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment"}},
		{Map: map[string]any{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization"}},
		{Map: map[string]any{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization"}},
		{Map: map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}},
		{Map: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget"}},
	}
	kinds := CustomKinds(objs)
	want := []schema.GroupKind{{Group: "example.com", Kind: "Widget"}, {Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization"}}
	if len(kinds) != 2 || kinds[0] != want[0] || kinds[1] != want[1] {
		t.Fatalf("CustomKinds = %v, want %v", kinds, want)
	}
	crds, missing, err := CRDsFor(DefaultCRDSources[:2], kinds)
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 1 || crds[0].Name() != "kustomizations.kustomize.toolkit.fluxcd.io" {
		t.Errorf("CRDs %v, want the Kustomization CRD", crds)
	}
	if len(missing) != 1 || missing[0] != want[0] {
		t.Errorf("missing %v, want %v", missing, want[:1])
	}
}

// A kind whose CRD the tree applies itself takes that CRD, not a source's.
func TestTreeCRDs(t *testing.T) {
	crd := Object{File: "flux/x/crd.yaml", Map: map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "plans.upgrade.cattle.io"},
		"spec":     map[string]any{"group": "upgrade.cattle.io", "names": map[string]any{"kind": "Plan", "plural": "plans"}}}}
	objs := []Object{crd, {Map: map[string]any{"apiVersion": "upgrade.cattle.io/v1", "kind": "Plan"}},
		{Map: map[string]any{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization"}}}
	crds, rest := TreeCRDs(objs, CustomKinds(objs))
	if len(crds) != 1 || crds[0].File != "flux/x/crd.yaml" {
		t.Errorf("tree CRDs = %v, want the Plan CRD from flux/x/crd.yaml", crds)
	}
	if len(rest) != 1 || rest[0] != (schema.GroupKind{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization"}) {
		t.Errorf("left for the sources: %v, want only Kustomization", rest)
	}
}
