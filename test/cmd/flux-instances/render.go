package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/big"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"sigs.k8s.io/yaml"

	"github.com/sre-platform/platform/provider/fluxinstance"
)

// The evaluation below covers the Terraform language that the roots and
// modules/flux-bootstrap use to compute the platform_flux_instance
// arguments: variables (type constraints with optional() defaults, defaults,
// tfvars), locals, module arguments, conditionals and the functions listed in
// functions. A value it cannot know offline (another module's output, a
// function it lacks) stays unknown; Render fails if such a value reaches the
// FluxInstance.

// placeholders stand for the secrets an operator sets: only their presence
// matters to the FluxInstance. They are not secrets, only well-formed enough
// for the provider's validation (an age key is checked by its shape).
var placeholders = map[string]string{
	"sops_age_key": "AGE-SECRET-KEY-1" + strings.Repeat("Q", 58),
}

func placeholder(name string) string {
	if p, ok := placeholders[name]; ok {
		return p
	}
	return "placeholder-" + name
}

// relevant are the platform_flux_instance arguments the FluxInstance (and the
// presence of its Secrets) is rendered from; they must be known.
var relevant = []string{"distribution", "components", "cluster", "sync", "kustomize_patches", "storage", "git_credentials", "ghcr_credentials", "sops_age_key"}

var nonsensitive = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowNull: true, AllowUnknown: true, AllowDynamicType: true}},
	Type:   func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl:   func(args []cty.Value, _ cty.Type) (cty.Value, error) { return args[0], nil },
})

var functions = map[string]function.Function{
	"coalesce": stdlib.CoalesceFunc, "concat": stdlib.ConcatFunc, "length": stdlib.LengthFunc,
	"merge": stdlib.MergeFunc, "lookup": stdlib.LookupFunc, "contains": stdlib.ContainsFunc,
	"keys": stdlib.KeysFunc, "values": stdlib.ValuesFunc, "lower": stdlib.LowerFunc, "upper": stdlib.UpperFunc,
	"format": stdlib.FormatFunc, "join": stdlib.JoinFunc, "split": stdlib.SplitFunc, "trimsuffix": stdlib.TrimSuffixFunc,
	"trimprefix": stdlib.TrimPrefixFunc, "replace": stdlib.ReplaceFunc, "compact": stdlib.CompactFunc,
	"distinct": stdlib.DistinctFunc, "flatten": stdlib.FlattenFunc, "max": stdlib.MaxFunc, "min": stdlib.MinFunc,
	"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number), "tobool": stdlib.MakeToFunc(cty.Bool),
	"tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)), "toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
	"tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)), "try": tryfunc.TryFunc, "can": tryfunc.CanFunc,
	"nonsensitive": nonsensitive, "sensitive": nonsensitive,
}

// tfModule is the parsed .tf files of one folder.
type tfModule struct {
	dir   string
	files []*hcl.File
}

func parseModule(dir string) (*tfModule, error) {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	sort.Strings(paths)
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no .tf files", dir)
	}
	p := hclparse.NewParser()
	m := &tfModule{dir: dir}
	for _, path := range paths {
		f, diags := p.ParseHCLFile(path)
		if diags.HasErrors() {
			return nil, diags
		}
		m.files = append(m.files, f)
	}
	return m, nil
}

var topSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "variable", LabelNames: []string{"name"}}, {Type: "locals"},
	{Type: "module", LabelNames: []string{"name"}}, {Type: "resource", LabelNames: []string{"type", "name"}},
}}

func (m *tfModule) blocks(typ string) []*hcl.Block {
	var out []*hcl.Block
	for _, f := range m.files {
		c, _, _ := f.Body.PartialContent(topSchema)
		for _, b := range c.Blocks {
			if b.Type == typ {
				out = append(out, b)
			}
		}
	}
	return out
}

var varSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "nullable"}, {Name: "sensitive"}, {Name: "ephemeral"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

// variables returns the module's variable values: given ones (converted to
// the declared type, optional() defaults applied) or the defaults; a required
// variable that is not given is unknown.
func (m *tfModule) variables(given map[string]cty.Value) (map[string]cty.Value, error) {
	out := map[string]cty.Value{}
	for _, b := range m.blocks("variable") {
		name := b.Labels[0]
		c, diags := b.Body.Content(varSchema)
		if diags.HasErrors() {
			return nil, diags
		}
		ty, defaults := cty.DynamicPseudoType, (*typeexpr.Defaults)(nil)
		if a, ok := c.Attributes["type"]; ok {
			if ty, defaults, diags = typeexpr.TypeConstraintWithDefaults(a.Expr); diags.HasErrors() {
				return nil, diags
			}
		}
		v, ok := given[name]
		// As in Terraform, a null given to a variable with nullable = false
		// takes its default (a root passes null for an input it leaves unset).
		if ok && v.IsKnown() && v.IsNull() && !nullable(c.Attributes) {
			ok = false
		}
		if !ok {
			if a, has := c.Attributes["default"]; has {
				if v, diags = a.Expr.Value(nil); diags.HasErrors() {
					return nil, diags
				}
			} else {
				v = cty.UnknownVal(ty)
			}
		}
		if defaults != nil && v.IsWhollyKnown() && !v.IsNull() {
			v = defaults.Apply(v)
		}
		cv, err := convert.Convert(v, ty)
		if err != nil {
			return nil, fmt.Errorf("%s: variable %q: %w", m.dir, name, err)
		}
		out[name] = cv
	}
	return out, nil
}

// nullable reports a variable's nullable argument (true when absent).
func nullable(attrs hcl.Attributes) bool {
	a, ok := attrs["nullable"]
	if !ok {
		return true
	}
	v, diags := a.Expr.Value(nil)
	return diags.HasErrors() || !v.Type().Equals(cty.Bool) || v.IsNull() || v.True()
}

func evalContext(vars, locals map[string]cty.Value, dir string) *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var": cty.ObjectVal(vars), "local": cty.ObjectVal(locals), "module": cty.DynamicVal,
			"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(dir), "root": cty.StringVal(dir), "cwd": cty.StringVal(dir)}),
		},
		Functions: functions,
	}
}

// locals evaluates the module's locals in dependency order; one that cannot
// be evaluated offline is unknown.
func (m *tfModule) locals(vars map[string]cty.Value) map[string]cty.Value {
	exprs := map[string]hcl.Expression{}
	for _, b := range m.blocks("locals") {
		attrs, _ := b.Body.JustAttributes()
		for n, a := range attrs {
			exprs[n] = a.Expr
		}
	}
	done := map[string]cty.Value{}
	for progress := true; progress && len(done) < len(exprs); {
		progress = false
		for n, e := range exprs {
			if _, ok := done[n]; ok {
				continue
			}
			ready := true
			for _, t := range e.Variables() {
				if t.RootName() == "local" && len(t) > 1 {
					if a, ok := t[1].(hcl.TraverseAttr); ok {
						if _, ok := done[a.Name]; !ok {
							ready = false
						}
					}
				}
			}
			if !ready {
				continue
			}
			v, diags := e.Value(evalContext(vars, done, m.dir))
			if diags.HasErrors() {
				v = cty.DynamicVal
			}
			done[n] = v
			progress = true
		}
	}
	for n := range exprs {
		if _, ok := done[n]; !ok {
			done[n] = cty.DynamicVal // a cycle, or a local that needs another unknown
		}
	}
	return done
}

// attributes evaluates a block's arguments (those named in names, or all).
func attributes(b *hcl.Block, names []string, ctx *hcl.EvalContext) (map[string]cty.Value, error) {
	var attrs hcl.Attributes
	if names == nil {
		var diags hcl.Diagnostics
		if attrs, diags = b.Body.JustAttributes(); diags.HasErrors() {
			return nil, diags
		}
	} else {
		s := &hcl.BodySchema{}
		for _, n := range names {
			s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n})
		}
		c, _, diags := b.Body.PartialContent(s)
		if diags.HasErrors() {
			return nil, diags
		}
		attrs = c.Attributes
	}
	return evalAttrs(attrs, ctx)
}

// evalAttrs evaluates arguments in ctx (nil: constants only, as in tfvars).
func evalAttrs(attrs hcl.Attributes, ctx *hcl.EvalContext) (map[string]cty.Value, error) {
	out := map[string]cty.Value{}
	for n, a := range attrs {
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() {
			return nil, diags
		}
		out[n] = v
	}
	return out, nil
}

func tfvars(path string) (map[string]cty.Value, error) {
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() {
		return nil, diags
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, diags
	}
	return evalAttrs(attrs, nil)
}

// fluxModule is modules/flux-bootstrap as one source calls it: its parsed
// files, folder and variable values.
type fluxModule struct {
	m    *tfModule
	dir  string
	vars map[string]cty.Value
}

// evalFlux evaluates the module call chain of a source: root variables →
// module "flux" arguments (through any composition module) →
// modules/flux-bootstrap's variables.
func evalFlux(root string, src source) (*fluxModule, error) {
	rootDir := filepath.Join(root, src.Root)
	rm, err := parseModule(rootDir)
	if err != nil {
		return nil, err
	}
	given := map[string]cty.Value{}
	if src.VarFile != "" {
		if given, err = tfvars(filepath.Join(rootDir, src.VarFile)); err != nil {
			return nil, err
		}
	}
	for k, v := range src.Vars {
		given[k] = cty.StringVal(v)
	}
	for _, k := range src.Secrets {
		given[k] = cty.StringVal(placeholder(k))
	}
	vars, err := rm.variables(given)
	if err != nil {
		return nil, err
	}
	for k := range given {
		if _, ok := vars[k]; !ok {
			return nil, fmt.Errorf("%s declares no variable %q", src.Root, k)
		}
	}
	// Follow the module calls from the root down to modules/flux-bootstrap
	// (a root may call it through a composition module such as
	// modules/hetzner-environment), evaluating each call's arguments in its
	// caller's variables and locals.
	dir, m := rootDir, rm
	for depth := 0; ; depth++ {
		call, next := fluxCall(m)
		if call == nil || depth > 4 {
			return nil, fmt.Errorf("%s calls no modules/flux-bootstrap", src.Root)
		}
		args, err := attributes(call, nil, evalContext(vars, m.locals(vars), dir))
		if err != nil {
			return nil, err
		}
		for _, k := range []string{"source", "version", "providers", "depends_on", "count", "for_each"} {
			delete(args, k)
		}
		dir = filepath.Join(dir, next)
		if m, err = parseModule(dir); err != nil {
			return nil, err
		}
		if vars, err = m.variables(args); err != nil {
			return nil, err
		}
		if filepath.Base(next) == "flux-bootstrap" {
			return &fluxModule{m: m, dir: dir, vars: vars}, nil
		}
	}
}

// Config evaluates the platform_flux_instance arguments Terraform would pass
// for a source: root variables → module "flux" arguments → module variables
// and locals → the resource's arguments.
func Config(root string, src source) (map[string]cty.Value, string, error) {
	fm, err := evalFlux(root, src)
	if err != nil {
		return nil, "", err
	}
	modDir, mm, mvars := fm.dir, fm.m, fm.vars
	var res *hcl.Block
	for _, b := range mm.blocks("resource") {
		if b.Labels[0] == fluxinstance.TypeName {
			res = b
		}
	}
	if res == nil {
		return nil, "", fmt.Errorf("modules/flux-bootstrap has no %s", fluxinstance.TypeName)
	}
	typ, err := fluxinstance.ConfigType(context.Background())
	if err != nil {
		return nil, "", err
	}
	var names []string
	for n := range typ.AttributeTypes {
		names = append(names, n)
	}
	cfg, err := attributes(res, names, evalContext(mvars, mm.locals(mvars), modDir))
	if err != nil {
		return nil, "", err
	}
	for _, n := range relevant {
		if v, ok := cfg[n]; ok && !v.IsWhollyKnown() {
			return nil, "", fmt.Errorf("%s.%s depends on values unknown before apply", fluxinstance.TypeName, n)
		}
	}
	return cfg, modDir, nil
}

// fluxCall returns the module call of m that leads to modules/flux-bootstrap
// (the call itself, or a local module that calls it, at any depth) and its
// source path; nil when none does.
func fluxCall(m *tfModule) (*hcl.Block, string) {
	for _, b := range m.blocks("module") {
		attrs, _ := b.Body.JustAttributes()
		a, ok := attrs["source"]
		if !ok {
			continue
		}
		s, diags := a.Expr.Value(nil)
		if diags.HasErrors() || s.Type() != cty.String || !strings.HasPrefix(s.AsString(), ".") {
			continue
		}
		src := s.AsString()
		if filepath.Base(src) == "flux-bootstrap" {
			return b, src
		}
		if sub, err := parseModule(filepath.Join(m.dir, src)); err == nil {
			if c, _ := fluxCall(sub); c != nil {
				return b, src
			}
		}
	}
	return nil, ""
}

// secretType is the resource modules/flux-bootstrap writes the cluster's
// post-build variables with.
const secretType = "platform_cluster_secret"

// secretArgs are the platform_cluster_secret arguments the Secret is made of.
var secretArgs = []string{"count", "namespace", "name", "type", "data", "labels"}

// ClusterSecrets evaluates every platform_cluster_secret of
// modules/flux-bootstrap as the source calls it and returns the Secrets
// Terraform applies (those whose count is not 0), the way the provider
// applies them: its managed-by label, type Opaque unless set, data as given.
// These are the Secrets Flux Kustomizations substitute variables from
// (cluster_variables). A value derived from one of the source's sensitive
// variables is refused: the reference file is committed.
func ClusterSecrets(root string, src source) ([]map[string]any, error) {
	fm, err := evalFlux(root, src)
	if err != nil {
		return nil, err
	}
	ctx := evalContext(fm.vars, fm.m.locals(fm.vars), fm.dir)
	var out []map[string]any
	for _, b := range fm.m.blocks("resource") {
		if b.Labels[0] != secretType {
			continue
		}
		addr := secretType + "." + b.Labels[1]
		args, err := attributes(b, secretArgs, ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
		for n, v := range args {
			if !v.IsWhollyKnown() {
				return nil, fmt.Errorf("%s.%s depends on values unknown before apply", addr, n)
			}
			args[n], _ = v.UnmarkDeep()
		}
		if c, ok := args["count"]; ok && !c.IsNull() {
			n, err := convert.Convert(c, cty.Number)
			if err != nil {
				return nil, fmt.Errorf("%s.count: %w", addr, err)
			}
			if n.Equals(cty.Zero).True() {
				continue
			}
		}
		str := func(n, def string) (string, error) {
			v, ok := args[n]
			if !ok || v.IsNull() {
				if def == "" {
					return "", fmt.Errorf("%s.%s is required", addr, n)
				}
				return def, nil
			}
			c, err := convert.Convert(v, cty.String)
			if err != nil {
				return "", fmt.Errorf("%s.%s: %w", addr, n, err)
			}
			return c.AsString(), nil
		}
		strMap := func(n string) (map[string]string, error) {
			m := map[string]string{}
			v, ok := args[n]
			if !ok || v.IsNull() {
				return m, nil
			}
			c, err := convert.Convert(v, cty.Map(cty.String))
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", addr, n, err)
			}
			for k, e := range c.AsValueMap() {
				m[k] = e.AsString()
			}
			return m, nil
		}
		namespace, err := str("namespace", "")
		if err != nil {
			return nil, err
		}
		name, err := str("name", "")
		if err != nil {
			return nil, err
		}
		typ, err := str("type", "Opaque")
		if err != nil {
			return nil, err
		}
		data, err := strMap("data")
		if err != nil {
			return nil, err
		}
		given, err := strMap("labels")
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			for _, secret := range src.Secrets {
				if strings.Contains(v, placeholder(secret)) {
					return nil, fmt.Errorf("%s.data[%q] derives from the sensitive variable %s: the reference file is committed, so it must not carry it", addr, k, secret)
				}
			}
		}
		labels := map[string]any{"app.kubernetes.io/managed-by": "terraform-provider-platform"}
		for k, v := range given {
			labels[k] = v
		}
		enc := map[string]any{}
		for k, v := range data {
			enc[k] = base64.StdEncoding.EncodeToString([]byte(v))
		}
		out = append(out, map[string]any{
			"apiVersion": "v1", "kind": "Secret", "type": typ, "data": enc,
			"metadata": map[string]any{"namespace": namespace, "name": name, "labels": labels},
		})
	}
	return out, nil
}

// Render returns the reference file of one cluster: the FluxInstance, then
// the Secrets Terraform writes beside it (ClusterSecrets).
func Render(ctx context.Context, root string, src source) ([]byte, error) {
	cfg, _, err := Config(root, src)
	if err != nil {
		return nil, err
	}
	secrets, err := ClusterSecrets(root, src)
	if err != nil {
		return nil, err
	}
	typ, err := fluxinstance.ConfigType(ctx)
	if err != nil {
		return nil, err
	}
	attrs := map[string]tftypes.Value{}
	for n, t := range typ.AttributeTypes {
		v, ok := cfg[n]
		if !ok {
			v = cty.NullVal(cty.DynamicPseudoType)
		}
		tv, err := toTF(v, t)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", fluxinstance.TypeName, n, err)
		}
		attrs[n] = tv
	}
	obj, err := fluxinstance.Render(ctx, tftypes.NewValue(typ, attrs))
	if err != nil {
		return nil, err
	}
	body, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	for _, sec := range secrets {
		b, err := yaml.Marshal(sec)
		if err != nil {
			return nil, err
		}
		body = append(body, "---\n"+secretComment(sec)...)
		body = append(body, b...)
	}
	return append([]byte(header(src, len(secrets))), body...), nil
}

// secretComment names a Secret's variables in plain text above its base64 data.
func secretComment(sec map[string]any) string {
	data, _ := sec["data"].(map[string]any)
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by Terraform after the FluxInstance (modules/flux-bootstrap %s.variables); decoded:\n", secretType)
	for _, k := range keys {
		v, _ := base64.StdEncoding.DecodeString(data[k].(string))
		fmt.Fprintf(&b, "#   %s=%s\n", k, v)
	}
	return b.String()
}

func header(src source, secrets int) string {
	args := []string{src.Root}
	if src.VarFile != "" {
		args = append(args, "-var-file="+src.VarFile)
	}
	keys := make([]string, 0, len(src.Vars))
	for k := range src.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-var "+k+"="+src.Vars[k])
	}
	set := "none"
	if len(src.Secrets) > 0 {
		var l []string
		for _, s := range src.Secrets {
			l = append(l, "TF_VAR_"+s)
		}
		set = strings.Join(l, ", ")
	}
	owns := "Terraform owns the object, so it is not part of the synced path; the validator starts from it."
	if secrets > 0 {
		owns = "After it, the Secret Terraform writes with the cluster's post-build variables (platform_cluster_secret),\n" +
			"# which Flux Kustomizations substitute from. Terraform owns these objects, so they are not part of the\n" +
			"# synced path; the validator starts from them."
	}
	return fmt.Sprintf(`# Code generated by test/cmd/flux-instances; DO NOT EDIT.
# The FluxInstance of cluster %q exactly as Terraform applies it (modules/flux-bootstrap ->
# platform_flux_instance), rendered by the provider from:
#   %s
#   secrets set: %s
# %s
# Regenerate: go tool task flux:instances
`, src.Cluster, strings.Join(args, " "), set, owns)
}

// toTF converts a Terraform language value to the provider's type.
func toTF(v cty.Value, t tftypes.Type) (tftypes.Value, error) {
	v, _ = v.UnmarkDeep()
	if !v.IsKnown() {
		return tftypes.NewValue(t, tftypes.UnknownValue), nil
	}
	if v.IsNull() {
		return tftypes.NewValue(t, nil), nil
	}
	switch {
	case t.Is(tftypes.String):
		c, err := convert.Convert(v, cty.String)
		if err != nil {
			return tftypes.Value{}, err
		}
		return tftypes.NewValue(t, c.AsString()), nil
	case t.Is(tftypes.Bool):
		c, err := convert.Convert(v, cty.Bool)
		if err != nil {
			return tftypes.Value{}, err
		}
		return tftypes.NewValue(t, c.True()), nil
	case t.Is(tftypes.Number):
		c, err := convert.Convert(v, cty.Number)
		if err != nil {
			return tftypes.Value{}, err
		}
		return tftypes.NewValue(t, new(big.Float).Copy(c.AsBigFloat())), nil
	case t.Is(tftypes.List{}), t.Is(tftypes.Set{}):
		var elem tftypes.Type
		if l, ok := t.(tftypes.List); ok {
			elem = l.ElementType
		} else {
			elem = t.(tftypes.Set).ElementType
		}
		if !v.CanIterateElements() {
			return tftypes.Value{}, fmt.Errorf("want a list, got %s", v.Type().FriendlyName())
		}
		var out []tftypes.Value
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			te, err := toTF(e, elem)
			if err != nil {
				return tftypes.Value{}, err
			}
			out = append(out, te)
		}
		return tftypes.NewValue(t, out), nil
	case t.Is(tftypes.Map{}):
		out := map[string]tftypes.Value{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			te, err := toTF(e, t.(tftypes.Map).ElementType)
			if err != nil {
				return tftypes.Value{}, err
			}
			out[k.AsString()] = te
		}
		return tftypes.NewValue(t, out), nil
	case t.Is(tftypes.Object{}):
		ot := t.(tftypes.Object)
		if !v.Type().IsObjectType() && !v.Type().IsMapType() {
			return tftypes.Value{}, fmt.Errorf("want an object, got %s", v.Type().FriendlyName())
		}
		out := map[string]tftypes.Value{}
		for n, at := range ot.AttributeTypes {
			e := cty.NullVal(cty.DynamicPseudoType)
			if v.Type().IsObjectType() && v.Type().HasAttribute(n) {
				e = v.GetAttr(n)
			} else if v.Type().IsMapType() && v.HasIndex(cty.StringVal(n)).True() {
				e = v.Index(cty.StringVal(n))
			}
			te, err := toTF(e, at)
			if err != nil {
				return tftypes.Value{}, fmt.Errorf("%s: %w", n, err)
			}
			out[n] = te
		}
		return tftypes.NewValue(t, out), nil
	}
	return tftypes.Value{}, fmt.Errorf("unsupported type %s", t)
}
