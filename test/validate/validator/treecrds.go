package validator

import (
	"encoding/json"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CustomResourceDefinitions the tree applies itself (a controller whose
// upstream CRD is not in a served Go module): each is decoded strictly, its
// name must be <plural>.<group>, one served version stores, and every
// version's schema must be structural (what the API server demands of a v1
// CRD; the server-side dry-run installs it on a real one, which checks the
// rest). A valid one teaches the run its kinds (Schemas.AddTreeCRD), so their
// objects are checked against it like any other custom kind.

var crdScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	install.Install(s)
	return s
}()

var crdDecoder = serializer.NewCodecFactory(crdScheme, serializer.EnableStrict).UniversalDeserializer()

func isCRD(o Object) bool {
	return o.Kind() == "CustomResourceDefinition" && o.APIVersion() == "apiextensions.k8s.io/v1"
}

// decodeCRD strictly decodes and validates a CustomResourceDefinition object.
func decodeCRD(o Object) (*apiextv1.CustomResourceDefinition, []Finding) {
	b, err := json.Marshal(o.Map)
	if err != nil {
		return nil, []Finding{{File: o.File, Object: o.ID(), Msg: err.Error()}}
	}
	obj, _, err := crdDecoder.Decode(b, nil, nil)
	if err != nil {
		return nil, decodeFindings(o, err)
	}
	crd, ok := obj.(*apiextv1.CustomResourceDefinition)
	if !ok {
		return nil, []Finding{{File: o.File, Object: o.ID(), Field: "apiVersion", Msg: fmt.Sprintf("decodes to %T", obj)}}
	}
	crdScheme.Default(crd)
	var out []Finding
	add := func(field, msg string, a ...any) {
		out = append(out, Finding{File: o.File, Object: o.ID(), Field: field, Msg: fmt.Sprintf(msg, a...)})
	}
	if want := crd.Spec.Names.Plural + "." + crd.Spec.Group; crd.Name != want {
		add("metadata.name", "is %q, want %q (<spec.names.plural>.<spec.group>)", crd.Name, want)
	}
	storage := 0
	for i, v := range crd.Spec.Versions {
		at := field.NewPath("spec", "versions").Index(i).Child("schema", "openAPIV3Schema")
		if v.Storage {
			storage++
		}
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			add(at.String(), "missing: a v1 CRD needs a schema for every version")
			continue
		}
		var internal apiextensions.JSONSchemaProps
		if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
			add(at.String(), "%v", err)
			continue
		}
		ss, err := structuralschema.NewStructural(&internal)
		if err != nil {
			add(at.String(), "not structural: %v", err)
			continue
		}
		for _, e := range structuralschema.ValidateStructural(at, ss) {
			add(e.Field, "%s", e.ErrorBody())
		}
	}
	if storage != 1 {
		add("spec.versions", "%d versions are the storage version, want exactly 1", storage)
	}
	if len(out) > 0 {
		return nil, out
	}
	return crd, nil
}

// learnCRDs registers the valid CustomResourceDefinitions among a built
// path's objects (their findings are reported when the path is checked).
func (r *runner) learnCRDs(objs []Object) {
	for _, o := range objs {
		if !isCRD(o) {
			continue
		}
		if crd, fs := decodeCRD(o); len(fs) == 0 {
			if err := r.schemas.AddTreeCRD(crd, o.File); err != nil {
				r.add(Finding{File: o.File, Object: o.ID(), Msg: "schema: " + err.Error()})
			}
		}
	}
}

// crdKinds lists "group/Kind" of every CustomResourceDefinition among objs.
func crdKinds(objs []Object) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		if isCRD(o) {
			out[str(o.Map, "spec", "group")+"/"+str(o.Map, "spec", "names", "kind")] = true
		}
	}
	return out
}

// checkTreeKinds: an object whose kind only the tree's own CRD defines needs
// that CRD in the same cluster (the API server of another cluster's CRD does
// not serve it here).
func (r *runner) checkTreeKinds(cluster string, objs []Object) []Finding {
	have := crdKinds(objs)
	var out []Finding
	for _, o := range objs {
		g := groupOf(o.APIVersion())
		file := r.schemas.TreeCRD(g, o.Kind())
		if file == "" || have[g+"/"+o.Kind()] {
			continue
		}
		out = append(out, Finding{File: o.File, Object: o.ID(), Field: "apiVersion",
			Msg: fmt.Sprintf("no path of cluster %s applies the CustomResourceDefinition of %s/%s (%s)", cluster, g, o.Kind(), file)})
	}
	return out
}
