package validator

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// Flux post-build variable substitution (spec.postBuild of a Flux
// Kustomization), applied to the built objects the way kustomize-controller
// does before it applies them: ${VAR}, ${VAR:=default}, ${VAR:-default},
// ${VAR=default}, ${VAR-default} and $VAR; $$ is a literal $. Objects
// annotated kustomize.toolkit.fluxcd.io/substitute: disabled are left alone.

const substituteAnnotation = "kustomize.toolkit.fluxcd.io/substitute"

var reSubst = regexp.MustCompile(`\$\$|\$\{([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[=-])([^}]*))?\}|\$([_a-zA-Z][_a-zA-Z0-9]*)`)

// envsubst expands the variables of s from vars.
func envsubst(s string, vars map[string]string) string {
	return reSubst.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		g := reSubst.FindStringSubmatch(m)
		if g[4] != "" {
			return vars[g[4]]
		}
		v, set := vars[g[1]]
		switch g[2] {
		case ":=", ":-":
			if v == "" {
				return g[3]
			}
		case "=", "-":
			if !set {
				return g[3]
			}
		}
		return v
	})
}

// postBuildVars collects the variables of a Flux Kustomization's
// spec.postBuild: substituteFrom in order (ConfigMaps and Secrets among the
// objects the cluster applied before, Terraform's included, e.g.
// flux-system/cluster-variables), then substitute, which wins.
func postBuildVars(ks Object, pb map[string]any, known []Object) (map[string]string, []Finding) {
	vars := map[string]string{}
	var out []Finding
	from, _ := pb["substituteFrom"].([]any)
	for i, f := range from {
		fm, _ := f.(map[string]any)
		kind, _ := fm["kind"].(string)
		name, _ := fm["name"].(string)
		optional, _ := fm["optional"].(bool)
		found := false
		for _, o := range known {
			if o.Kind() != kind || groupOf(o.APIVersion()) != "" || o.Namespace() != ks.Namespace() || o.Name() != name {
				continue
			}
			found = true
			if d, ok := o.Map["data"].(map[string]any); ok {
				for k, v := range d {
					s, _ := v.(string)
					if kind == "Secret" {
						if b, err := base64.StdEncoding.DecodeString(s); err == nil {
							s = string(b)
						}
					}
					vars[k] = s
				}
			}
			if d, ok := o.Map["stringData"].(map[string]any); ok && kind == "Secret" {
				for k, v := range d {
					vars[k], _ = v.(string)
				}
			}
		}
		if !found && !optional {
			out = append(out, Finding{File: ks.File, Object: ks.ID(), Field: fmt.Sprintf("spec.postBuild.substituteFrom[%d]", i),
				Msg: fmt.Sprintf("%s %s/%s does not exist in this cluster (set optional: true if it may be absent)", kind, ks.Namespace(), name)})
		}
	}
	if sub, ok := pb["substitute"].(map[string]any); ok {
		for k, v := range sub {
			vars[k] = fmt.Sprint(v)
		}
	}
	return vars, out
}

// varsKey is a stable text of a variable set.
func varsKey(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q;", k, vars[k])
	}
	return b.String()
}

// substitute returns the objects with their variables expanded.
func substitute(ks Object, objs []Object, vars map[string]string) ([]Object, []Finding) {
	out := make([]Object, 0, len(objs))
	var fs []Finding
	for _, o := range objs {
		if str(o.Map, "metadata", "annotations", substituteAnnotation) == "disabled" {
			out = append(out, o)
			continue
		}
		b, err := yaml.Marshal(o.Map)
		if err == nil {
			var j []byte
			if j, err = yaml.YAMLToJSON([]byte(envsubst(string(b), vars))); err == nil {
				var m map[string]any
				if err = utiljson.Unmarshal(j, &m); err == nil {
					out = append(out, Object{Map: m, File: o.File, terraform: o.terraform})
					continue
				}
			}
		}
		fs = append(fs, Finding{File: o.File, Object: o.ID(), Msg: fmt.Sprintf("post-build substitution of %s: %v", ks.ID(), err)})
		out = append(out, o)
	}
	return out, fs
}
