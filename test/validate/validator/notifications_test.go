package validator

import (
	"strings"
	"testing"
)

// Every Hetzner cluster (all but local, the kind cluster, and the sandbox) tells GitHub what
// it did with each commit and sends every Flux error to the webhook: an
// Alert of severity error covers each Flux object the cluster runs (the tree's
// and the sync source the FluxInstance creates), by kind and namespace, and
// every Alert's Provider exists with its Secret.
func TestFluxErrorsReachTheWebhook(t *testing.T) {
	rep := realTree(t)
	checked := 0
	for _, c := range rep.Clusters {
		if c.Name == "local" || c.Name == offlineCluster {
			continue
		}
		checked++
		providers := map[string]Object{}
		secrets := map[string]map[string]bool{} // "ns/name" -> keys (SOPS keeps key names in clear)
		var alerts []Object
		sources := map[string]bool{} // "Kind ns" of every Flux object
		for _, o := range c.Rendered {
			switch {
			case o.Kind() == "Provider" && strings.HasPrefix(o.APIVersion(), "notification.toolkit.fluxcd.io/"):
				providers[o.Namespace()+"/"+o.Name()] = o
			case o.Kind() == "Alert" && strings.HasPrefix(o.APIVersion(), "notification.toolkit.fluxcd.io/"):
				alerts = append(alerts, o)
			case o.Kind() == "Secret":
				keys := map[string]bool{}
				for _, f := range []string{"data", "stringData"} {
					m, _ := o.Map[f].(map[string]any)
					for k := range m {
						keys[k] = true
					}
				}
				secrets[o.Namespace()+"/"+o.Name()] = keys
			case o.Kind() == "FluxInstance":
				sources[str(o.Map, "spec", "sync", "kind")+" "+o.Namespace()] = true
			case strings.Contains(o.APIVersion(), ".toolkit.fluxcd.io/") && !strings.HasPrefix(o.APIVersion(), "notification."):
				sources[o.Kind()+" "+o.Namespace()] = true
			}
		}
		covered := map[string]bool{}
		statuses := false
		for _, a := range alerts {
			pname := a.Namespace() + "/" + str(a.Map, "spec", "providerRef", "name")
			p, ok := providers[pname]
			if !ok {
				t.Errorf("cluster %s: %s names Provider %s, which the cluster lacks", c.Name, a.ID(), pname)
				continue
			}
			srcs, _ := get(a.Map, "spec", "eventSources").([]any)
			for _, s := range srcs {
				sm, _ := s.(map[string]any)
				ns := str(sm, "namespace")
				if ns == "" {
					ns = a.Namespace()
				}
				if str(sm, "name") != "*" {
					continue
				}
				if str(a.Map, "spec", "eventSeverity") == "error" {
					covered[str(sm, "kind")+" "+ns] = true
				}
				if str(p.Map, "spec", "type") == "github" && str(sm, "kind") == "Kustomization" && ns == "flux-system" {
					statuses = str(p.Map, "spec", "address") == "https://github.com/sre-platform/platform"
				}
			}
		}
		for src := range sources {
			if !covered[src] {
				t.Errorf("cluster %s: no Alert of severity error covers every %s (add it to flux-errors)", c.Name, src)
			}
		}
		if !statuses {
			t.Errorf("cluster %s: no Alert sends Kustomization results as commit statuses to github.com/sre-platform/platform", c.Name)
		}
		want := map[string]string{"github": "token", "generic": "address"}
		for _, p := range providers {
			key := want[str(p.Map, "spec", "type")]
			s := p.Namespace() + "/" + str(p.Map, "spec", "secretRef", "name")
			if key != "" && !secrets[s][key] {
				t.Errorf("cluster %s: %s needs Secret %s with key %q", c.Name, p.ID(), s, key)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no Hetzner cluster found")
	}
}
