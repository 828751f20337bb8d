package flux

import (
	"encoding/json"
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// model is platform_flux_instance's Terraform data. Nested objects are
// pointers (nil = null); CRUD only sees fully known plans, and plan-time code
// reads single attributes by path instead.
type model struct {
	ID                     types.String         `tfsdk:"id"`
	Kubeconfig             types.String         `tfsdk:"kubeconfig"`
	OperatorVersion        types.String         `tfsdk:"operator_version"`
	OperatorManifestPath   types.String         `tfsdk:"operator_manifest_path"`
	OperatorManifestURL    types.String         `tfsdk:"operator_manifest_url"`
	OperatorManifestSHA256 types.String         `tfsdk:"operator_manifest_sha256"`
	OperatorObjects        types.List           `tfsdk:"operator_objects"`
	Distribution           *distributionModel   `tfsdk:"distribution"`
	Components             types.List           `tfsdk:"components"`
	Cluster                *clusterModel        `tfsdk:"cluster"`
	Sync                   *syncModel           `tfsdk:"sync"`
	KustomizePatches       []patchModel         `tfsdk:"kustomize_patches"`
	Storage                *storageModel        `tfsdk:"storage"`
	SopsAgeKey             types.String         `tfsdk:"sops_age_key"`
	GitCredentials         *gitCredentialsModel `tfsdk:"git_credentials"`
	GHCRCredentials        *ghcrModel           `tfsdk:"ghcr_credentials"`
	ForceConflicts         types.Bool           `tfsdk:"force_conflicts"`
	Wait                   types.Bool           `tfsdk:"wait"`
	Timeouts               *timeoutsModel       `tfsdk:"timeouts"`
}

type distributionModel struct {
	Version         types.String `tfsdk:"version"`
	Registry        types.String `tfsdk:"registry"`
	ImagePullSecret types.String `tfsdk:"image_pull_secret"`
}

type clusterModel struct {
	Type          types.String `tfsdk:"type"`
	Size          types.String `tfsdk:"size"`
	Multitenant   types.Bool   `tfsdk:"multitenant"`
	NetworkPolicy types.Bool   `tfsdk:"network_policy"`
	Domain        types.String `tfsdk:"domain"`
}

type syncModel struct {
	Kind       types.String `tfsdk:"kind"`
	URL        types.String `tfsdk:"url"`
	Ref        types.String `tfsdk:"ref"`
	Path       types.String `tfsdk:"path"`
	PullSecret types.String `tfsdk:"pull_secret"`
}

type patchModel struct {
	Target *targetModel `tfsdk:"target"`
	Patch  types.String `tfsdk:"patch"`
}

type targetModel struct {
	Group              types.String `tfsdk:"group"`
	Version            types.String `tfsdk:"version"`
	Kind               types.String `tfsdk:"kind"`
	Name               types.String `tfsdk:"name"`
	Namespace          types.String `tfsdk:"namespace"`
	LabelSelector      types.String `tfsdk:"label_selector"`
	AnnotationSelector types.String `tfsdk:"annotation_selector"`
}

type storageModel struct {
	Class types.String `tfsdk:"class"`
	Size  types.String `tfsdk:"size"`
}

type gitCredentialsModel struct {
	Username   types.String `tfsdk:"username"`
	Password   types.String `tfsdk:"password"`
	Token      types.String `tfsdk:"token"`
	SecretName types.String `tfsdk:"secret_name"`
}

type ghcrModel struct {
	Username   types.String `tfsdk:"username"`
	Password   types.String `tfsdk:"password"`
	SecretName types.String `tfsdk:"secret_name"`
}

type timeoutsModel struct {
	Create types.String `tfsdk:"create"`
	Update types.String `tfsdk:"update"`
	Delete types.String `tfsdk:"delete"`
}

// targetFields maps the Terraform names of a patch target to the CRD's.
var targetFields = []struct {
	tf, k8s string
	get     func(*targetModel) *types.String
}{
	{"group", "group", func(t *targetModel) *types.String { return &t.Group }},
	{"version", "version", func(t *targetModel) *types.String { return &t.Version }},
	{"kind", "kind", func(t *targetModel) *types.String { return &t.Kind }},
	{"name", "name", func(t *targetModel) *types.String { return &t.Name }},
	{"namespace", "namespace", func(t *targetModel) *types.String { return &t.Namespace }},
	{"label_selector", "labelSelector", func(t *targetModel) *types.String { return &t.LabelSelector }},
	{"annotation_selector", "annotationSelector", func(t *targetModel) *types.String { return &t.AnnotationSelector }},
}

// known reports whether a value is set in a fully known plan.
func known(v attr.Value) bool { return v != nil && !v.IsNull() && !v.IsUnknown() }

func setStr(m map[string]any, key string, v types.String) {
	if known(v) {
		m[key] = v.ValueString()
	}
}

func setBool(m map[string]any, key string, v types.Bool) {
	if known(v) {
		m[key] = v.ValueBool()
	}
}

// gitSecretName is the Secret the git credentials go to (nil: none).
func (m *model) gitSecretName() string {
	if m.GitCredentials == nil {
		return ""
	}
	if known(m.GitCredentials.SecretName) {
		return m.GitCredentials.SecretName.ValueString()
	}
	return DefaultGitSecret
}

func (m *model) ghcrSecretName() string {
	if m.GHCRCredentials == nil {
		return ""
	}
	if known(m.GHCRCredentials.SecretName) {
		return m.GHCRCredentials.SecretName.ValueString()
	}
	return DefaultGHCRSecret
}

// syncPullSecret is spec.sync.pullSecret: the explicit value, else the git
// credentials' Secret.
func (m *model) syncPullSecret() string {
	if m.Sync == nil {
		return ""
	}
	if known(m.Sync.PullSecret) {
		return m.Sync.PullSecret.ValueString()
	}
	return m.gitSecretName()
}

func (m *model) components() []string {
	var out []string
	if !known(m.Components) {
		return nil
	}
	for _, e := range m.Components.Elements() {
		if s, ok := e.(types.String); ok && known(s) {
			out = append(out, s.ValueString())
		}
	}
	return out
}

// renderSpec is the FluxInstance spec the model asks for: only the fields this
// resource manages, so server-side apply leaves every other field alone.
func (m *model) renderSpec() map[string]any {
	spec := map[string]any{}
	dist := map[string]any{"version": DefaultDistributionVersion, "registry": DefaultRegistry}
	if d := m.Distribution; d != nil {
		setStr(dist, "version", d.Version)
		setStr(dist, "registry", d.Registry)
		setStr(dist, "imagePullSecret", d.ImagePullSecret)
	}
	spec["distribution"] = dist
	if comps := m.components(); comps != nil {
		l := make([]any, len(comps))
		for i, c := range comps {
			l[i] = c
		}
		spec["components"] = l
	}
	if c := m.Cluster; c != nil {
		cl := map[string]any{}
		setStr(cl, "type", c.Type)
		setStr(cl, "size", c.Size)
		setBool(cl, "multitenant", c.Multitenant)
		setBool(cl, "networkPolicy", c.NetworkPolicy)
		setStr(cl, "domain", c.Domain)
		if len(cl) > 0 {
			spec["cluster"] = cl
		}
	}
	if s := m.Sync; s != nil {
		sy := map[string]any{}
		setStr(sy, "kind", s.Kind)
		setStr(sy, "url", s.URL)
		setStr(sy, "ref", s.Ref)
		setStr(sy, "path", s.Path)
		if ps := m.syncPullSecret(); ps != "" {
			sy["pullSecret"] = ps
		}
		spec["sync"] = sy
	}
	if len(m.KustomizePatches) > 0 {
		spec["kustomize"] = map[string]any{"patches": renderPatches(m.KustomizePatches)}
	}
	if s := m.Storage; s != nil {
		st := map[string]any{}
		setStr(st, "class", s.Class)
		setStr(st, "size", s.Size)
		spec["storage"] = st
	}
	return spec
}

func renderPatches(ps []patchModel) []any {
	out := make([]any, 0, len(ps))
	for _, p := range ps {
		e := map[string]any{"patch": p.Patch.ValueString()}
		if p.Target != nil {
			t := map[string]any{}
			for _, f := range targetFields {
				setStr(t, f.k8s, *f.get(p.Target))
			}
			if len(t) > 0 {
				e["target"] = t
			}
		}
		out = append(out, e)
	}
	return out
}

// fluxInstance is the whole object server-side apply sends.
func (m *model) fluxInstance() map[string]any {
	return map[string]any{
		"apiVersion": FluxInstanceAPIVersion,
		"kind":       FluxInstanceKind,
		"metadata": map[string]any{
			"name":      InstanceName,
			"namespace": Namespace,
			"labels":    map[string]any{"app.kubernetes.io/managed-by": FieldManager},
		},
		"spec": m.renderSpec(),
	}
}

// reflectLive folds the cluster's FluxInstance spec into the model: every
// managed field whose live value differs from what the model renders takes
// the live value, so drift shows up as a plan diff. Fields that agree keep
// their model value (null stays null where a default renders the same).
func (m *model) reflectLive(live map[string]any) {
	want := m.renderSpec()

	// distribution
	if !sameAt(want, live, "distribution") {
		if m.Distribution == nil {
			m.Distribution = &distributionModel{}
		}
		d := m.Distribution
		d.Version = liveStr(live, d.Version, want, "distribution", "version")
		d.Registry = liveStr(live, d.Registry, want, "distribution", "registry")
		d.ImagePullSecret = liveStr(live, d.ImagePullSecret, want, "distribution", "imagePullSecret")
	}

	// components
	if !sameAt(want, live, "components") {
		lc, ok := live["components"].([]any)
		if !ok {
			m.Components = types.ListNull(types.StringType)
		} else {
			vals := make([]attr.Value, 0, len(lc))
			for _, c := range lc {
				s, _ := c.(string)
				vals = append(vals, types.StringValue(s))
			}
			m.Components = types.ListValueMust(types.StringType, vals)
		}
	}

	// cluster
	if managed(want, "cluster") && !sameAt(want, live, "cluster") {
		if _, ok := live["cluster"].(map[string]any); !ok {
			m.Cluster = nil
		} else {
			if m.Cluster == nil {
				m.Cluster = &clusterModel{}
			}
			c := m.Cluster
			c.Type = liveStr(live, c.Type, want, "cluster", "type")
			c.Size = liveStr(live, c.Size, want, "cluster", "size")
			c.Domain = liveStr(live, c.Domain, want, "cluster", "domain")
			c.Multitenant = liveBool(live, c.Multitenant, want, "cluster", "multitenant")
			c.NetworkPolicy = liveBool(live, c.NetworkPolicy, want, "cluster", "networkPolicy")
		}
	}

	// sync
	if managed(want, "sync") && !sameAt(want, live, "sync") {
		if _, ok := live["sync"].(map[string]any); !ok {
			m.Sync = nil
		} else {
			if m.Sync == nil {
				m.Sync = &syncModel{}
			}
			s := m.Sync
			s.Kind = liveStr(live, s.Kind, want, "sync", "kind")
			s.URL = liveStr(live, s.URL, want, "sync", "url")
			s.Ref = liveStr(live, s.Ref, want, "sync", "ref")
			s.Path = liveStr(live, s.Path, want, "sync", "path")
			s.PullSecret = liveStr(live, s.PullSecret, want, "sync", "pullSecret")
		}
	}

	// kustomize patches
	if managed(want, "kustomize", "patches") && !sameAt(want, live, "kustomize", "patches") {
		m.KustomizePatches = patchesFromLive(live)
	}

	// storage
	if managed(want, "storage") && !sameAt(want, live, "storage") {
		if _, ok := live["storage"].(map[string]any); !ok {
			m.Storage = nil
		} else {
			if m.Storage == nil {
				m.Storage = &storageModel{}
			}
			m.Storage.Class = liveStr(live, m.Storage.Class, want, "storage", "class")
			m.Storage.Size = liveStr(live, m.Storage.Size, want, "storage", "size")
		}
	}
}

func patchesFromLive(live map[string]any) []patchModel {
	lp, _ := lookup(live, "kustomize", "patches").([]any)
	if len(lp) == 0 {
		return nil
	}
	out := make([]patchModel, 0, len(lp))
	for _, e := range lp {
		em, _ := e.(map[string]any)
		p := patchModel{Patch: types.StringNull()}
		if s, ok := em["patch"].(string); ok {
			p.Patch = types.StringValue(s)
		}
		if tm, ok := em["target"].(map[string]any); ok {
			t := &targetModel{}
			for _, f := range targetFields {
				if s, ok := tm[f.k8s].(string); ok {
					*f.get(t) = types.StringValue(s)
				} else {
					*f.get(t) = types.StringNull()
				}
			}
			p.Target = t
		}
		out = append(out, p)
	}
	return out
}

// lookup walks nested maps; nil when absent.
func lookup(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur, ok = mm[k]
		if !ok {
			return nil
		}
	}
	return cur
}

// sameAt compares the value at a path of the wanted and the live spec,
// through JSON so numbers and nested types compare alike.
func sameAt(want, live map[string]any, keys ...string) bool {
	a, b := lookup(want, keys...), lookup(live, keys...)
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if am, ok := a.(map[string]any); ok {
		// A wanted object matches when every wanted field matches: the API
		// server's defaults for fields we leave out are not drift.
		bm, ok := b.(map[string]any)
		if !ok {
			return false
		}
		for k := range am {
			if !sameAt(am, bm, k) {
				return false
			}
		}
		return true
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var x, y any
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}

// managed reports whether the model renders a field: only those are compared,
// since server-side apply leaves fields other managers set alone.
func managed(want map[string]any, keys ...string) bool { return lookup(want, keys...) != nil }

// liveStr returns the model value when it renders the live one (or does not
// render the field at all), else the live value (null when the live spec
// lacks the field).
func liveStr(live map[string]any, cur types.String, want map[string]any, keys ...string) types.String {
	if !managed(want, keys...) || sameAt(want, live, keys...) {
		return cur
	}
	if s, ok := lookup(live, keys...).(string); ok {
		return types.StringValue(s)
	}
	return types.StringNull()
}

func liveBool(live map[string]any, cur types.Bool, want map[string]any, keys ...string) types.Bool {
	if !managed(want, keys...) || sameAt(want, live, keys...) {
		return cur
	}
	if b, ok := lookup(live, keys...).(bool); ok {
		return types.BoolValue(b)
	}
	return types.BoolNull()
}
