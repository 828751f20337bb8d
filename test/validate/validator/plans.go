package validator

import (
	"fmt"
	"regexp"
	"strings"
)

// system-upgrade-controller Plans (upgrade.cattle.io/v1). A Plan that runs
// rancher/k3s-upgrade moves nodes to spec.version, which the upgrade image
// takes as its tag ('+' becomes '-'): anything but a k3s release (a variable
// Flux left unsubstituted, an empty value from a missing one, a Kubernetes
// version without the k3s suffix) fails on every node, or worse, resolves to
// an image nobody meant.

// reK3sRelease is a k3s release as k3s_version spells it (v1.34.4+k3s1).
var reK3sRelease = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-rc[0-9]+)?\+k3s[0-9]+$`)

// reVariable finds a Flux post-build variable left in a value.
var reVariable = regexp.MustCompile(`\$\{?[_a-zA-Z][_a-zA-Z0-9]*`)

// upgradesK3s reports whether a Plan's upgrade container is k3s-upgrade.
func upgradesK3s(o Object) bool {
	repo := imageRepo(str(o.Map, "spec", "upgrade", "image"))
	return repo == "rancher/k3s-upgrade" || strings.HasSuffix(repo, "/rancher/k3s-upgrade")
}

// checkPlan: the version of a k3s Plan is a k3s release.
func checkPlan(o Object) []Finding {
	if o.Kind() != "Plan" || groupOf(o.APIVersion()) != "upgrade.cattle.io" || !upgradesK3s(o) {
		return nil
	}
	add := func(field, msg string, a ...any) []Finding {
		return []Finding{{File: o.File, Object: o.ID(), Field: field, Msg: fmt.Sprintf(msg, a...)}}
	}
	version := str(o.Map, "spec", "version")
	switch {
	case reVariable.MatchString(version):
		return add("spec.version", "%q holds a variable no Flux post-build substitution replaced: the Kustomization that applies it needs postBuild.substituteFrom the Secret or ConfigMap that defines it (flux-system/cluster-variables for K3S_VERSION)", version)
	case version == "" && str(o.Map, "spec", "channel") == "":
		return add("spec.version", "empty and no channel: the variable it came from is undefined where the Plan is applied (K3S_VERSION in flux-system/cluster-variables)")
	case version != "" && !reK3sRelease.MatchString(version):
		return add("spec.version", "%q is not a k3s release such as v1.34.4+k3s1 (v<major>.<minor>.<patch>+k3s<n>)", version)
	}
	return nil
}

// checkPlanPrepare: a Plan whose prepare step waits for another one
// (k3s-upgrade's "prepare <plan>") names a Plan of its namespace in the same
// cluster; otherwise its Jobs wait forever.
func checkPlanPrepare(objs []Object) []Finding {
	plans := map[string]bool{}
	for _, o := range objs {
		if o.Kind() == "Plan" && groupOf(o.APIVersion()) == "upgrade.cattle.io" {
			plans[o.Namespace()+"/"+o.Name()] = true
		}
	}
	var out []Finding
	for _, o := range objs {
		if o.Kind() != "Plan" || groupOf(o.APIVersion()) != "upgrade.cattle.io" {
			continue
		}
		args, _ := get(o.Map, "spec", "prepare", "args").([]any)
		if len(args) != 2 || args[0] != "prepare" {
			continue
		}
		if name, _ := args[1].(string); !plans[o.Namespace()+"/"+name] {
			out = append(out, Finding{File: o.File, Object: o.ID(), Field: "spec.prepare.args[1]",
				Msg: fmt.Sprintf("waits for Plan %s/%s, which this cluster does not apply", o.Namespace(), name)})
		}
	}
	return out
}
