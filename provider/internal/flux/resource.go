// Package flux implements platform_flux_instance: the Flux Operator installed
// by server-side apply from its release manifest, and a FluxInstance that
// makes it install and sync Flux. The connection comes from the resource's own
// kubeconfig attribute, built only when an operation runs, so plans never
// need the cluster.
package flux

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sre-platform/platform/provider/internal/tfval"
)

// Default operation timeouts.
const (
	DefaultCreateTimeout = 10 * time.Minute
	DefaultUpdateTimeout = 10 * time.Minute
	DefaultDeleteTimeout = 5 * time.Minute
	// namespaceWaitMax bounds the wait for flux-system to disappear;
	// noNamespaceControllerAfter ends it early when nothing processes the
	// namespace.
	namespaceWaitMax           = 2 * time.Minute
	noNamespaceControllerAfter = 15 * time.Second
)

type fluxResource struct {
	http *http.Client
}

// NewResource is the factory the provider registers.
func NewResource() resource.Resource {
	return &fluxResource{http: &http.Client{Timeout: 2 * time.Minute}}
}

var (
	_ resource.Resource                   = &fluxResource{}
	_ resource.ResourceWithValidateConfig = &fluxResource{}
	_ resource.ResourceWithModifyPlan     = &fluxResource{}
)

func (r *fluxResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_flux_instance"
}

func stringList(vals []string) types.List {
	l := make([]attr.Value, len(vals))
	for i, v := range vals {
		l[i] = types.StringValue(v)
	}
	return types.ListValueMust(types.StringType, l)
}

var (
	distributionTypes = map[string]attr.Type{"version": types.StringType, "registry": types.StringType, "image_pull_secret": types.StringType}
	clusterTypes      = map[string]attr.Type{
		"type": types.StringType, "size": types.StringType, "multitenant": types.BoolType,
		"network_policy": types.BoolType, "domain": types.StringType,
	}
)

func (r *fluxResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	optStr := func(desc string, v ...validator.String) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Description: desc, Validators: v}
	}
	reqStr := func(desc string, v ...validator.String) schema.StringAttribute {
		return schema.StringAttribute{Required: true, Description: desc, Validators: v}
	}
	nonEmpty := stringvalidator.LengthAtLeast(1)
	targetAttrs := map[string]schema.Attribute{}
	for _, f := range targetFields {
		targetAttrs[f.tf] = optStr(fmt.Sprintf("Select objects by %s (`%s` in the FluxInstance).", f.tf, f.k8s))
	}

	resp.Schema = schema.Schema{
		Description: "The Flux Operator, installed by server-side apply from its release manifest, and the " +
			"FluxInstance `flux-system/flux` that makes it install Flux and sync the cluster from Git, OCI or a bucket. " +
			"Optional Secrets: the SOPS age key (`sops-age`), Git credentials for the sync source and GHCR pull " +
			"credentials. The connection comes from `kubeconfig` when an operation runs, so plans work while the " +
			"cluster does not exist yet.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "`flux-system/flux`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"kubeconfig": schema.StringAttribute{
				Required: true, Sensitive: true,
				Description: "Kubeconfig (YAML) of the cluster, e.g. `platform_k3s_cluster.this.kubeconfig`. Used only when " +
					"the resource is created, read, updated or deleted; its current context is used. Validated at plan time when known.",
				Validators: []validator.String{tfval.Kubeconfig},
			},
			"operator_version": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(DefaultOperatorVersion),
				Description: "Flux Operator release (default `" + DefaultOperatorVersion + "`); the manifest is fetched from " +
					"`https://github.com/controlplaneio-fluxcd/flux-operator/releases/download/<version>/install.yaml` " +
					"unless `operator_manifest_path` or `operator_manifest_url` is set.",
				Validators: []validator.String{validOperatorVersion},
			},
			"operator_manifest_path": optStr("Local file with the operator's install manifest (air-gapped installs). Conflicts with `operator_manifest_url`.",
				validManifestPath),
			"operator_manifest_url": optStr("URL of the operator's install manifest (a mirror). Conflicts with `operator_manifest_path`.",
				validManifestURL),
			"operator_manifest_sha256": schema.StringAttribute{Computed: true,
				Description: "SHA-256 of the applied operator manifest. For `operator_manifest_path`, a changed file shows as an update."},
			"operator_objects": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				Description: "Objects the operator manifest installed (`apiVersion kind [namespace/]name`), removed on destroy in reverse order, CRDs and namespaces last."},
			"distribution": schema.SingleNestedAttribute{
				Optional: true, Computed: true,
				Default: objectdefault.StaticValue(types.ObjectValueMust(distributionTypes, map[string]attr.Value{
					"version": types.StringValue(DefaultDistributionVersion), "registry": types.StringValue(DefaultRegistry),
					"image_pull_secret": types.StringNull(),
				})),
				Description: "Flux distribution the operator installs.",
				Attributes: map[string]schema.Attribute{
					"version": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(DefaultDistributionVersion),
						Description: "Flux version or semver range, e.g. `2.x` (default) or `2.9.x`.", Validators: []validator.String{validDistributionVersion}},
					"registry": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(DefaultRegistry),
						Description: "Registry of the Flux controller images (default `" + DefaultRegistry + "`).", Validators: []validator.String{validRegistry}},
					"image_pull_secret": optStr("Secret in flux-system to pull the controller images with (e.g. the `ghcr_credentials` Secret).", validSecretName),
				},
			},
			"components": schema.ListAttribute{
				Optional: true, Computed: true, ElementType: types.StringType,
				Default: listdefault.StaticValue(stringList(DefaultComponents)),
				Description: "Flux controllers to run. Default: source-, kustomize-, helm-, notification-, image-reflector- and " +
					"image-automation-controller. Known: " + fmt.Sprint(KnownComponents) + ". Unique values; with `sync` it must " +
					"include source-controller and kustomize-controller.",
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.OneOf(KnownComponents...)),
				},
			},
			"cluster": schema.SingleNestedAttribute{
				Optional: true, Computed: true,
				Default: objectdefault.StaticValue(types.ObjectValueMust(clusterTypes, map[string]attr.Value{
					"type": types.StringValue("kubernetes"), "size": types.StringNull(), "multitenant": types.BoolValue(false),
					"network_policy": types.BoolValue(true), "domain": types.StringValue("cluster.local"),
				})),
				Description: "What the cluster is, so the operator tunes Flux for it.",
				Attributes: map[string]schema.Attribute{
					"type": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("kubernetes"),
						Description: "`kubernetes` (default), `openshift`, `aws`, `azure` or `gcp`.",
						Validators:  []validator.String{stringvalidator.OneOf("kubernetes", "openshift", "aws", "azure", "gcp")}},
					"size": optStr("Vertical scaling profile of the controllers: `small`, `medium` or `large`.",
						stringvalidator.OneOf("small", "medium", "large")),
					"multitenant": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
						Description: "Enable Flux multi-tenancy lockdown (default false)."},
					"network_policy": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						Description: "Restrict flux-system traffic with network policies (default true)."},
					"domain": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("cluster.local"),
						Description: "Cluster DNS domain (default `cluster.local`).", Validators: []validator.String{validDomain}},
				},
			},
			"sync": schema.SingleNestedAttribute{
				Optional:    true,
				Description: "The source Flux syncs the cluster from (the FluxInstance creates the source and a Kustomization `flux-system`).",
				Attributes: map[string]schema.Attribute{
					"kind": reqStr("`GitRepository`, `OCIRepository` or `Bucket`.",
						stringvalidator.OneOf("GitRepository", "OCIRepository", "Bucket")),
					"url":  reqStr("Source URL: https:// or ssh:// for Git, oci:// for OCI, the endpoint host for a bucket.", nonEmpty),
					"ref":  reqStr("Git reference (e.g. `refs/heads/main`), OCI tag or bucket name.", nonEmpty),
					"path": reqStr("Path in the source to the cluster's entry point, e.g. `flux/clusters/develop`.", nonEmpty),
					"pull_secret": optStr("Secret in flux-system with the source's credentials. Defaults to the `git_credentials` Secret when those are set.",
						validSecretName),
				},
			},
			"kustomize_patches": schema.ListNestedAttribute{
				Optional: true,
				Description: "Kustomize patches the operator applies to the Flux manifests, e.g. to make the sync " +
					"Kustomization decrypt SOPS secrets with the `sops-age` Secret.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"target": schema.SingleNestedAttribute{Optional: true, Attributes: targetAttrs,
						Description: "Objects the patch applies to (all Flux objects when unset)."},
					"patch": reqStr("Strategic merge patch or JSON6902 operations, in YAML.", validPatch),
				}},
			},
			"storage": schema.SingleNestedAttribute{
				Optional:    true,
				Description: "Persistent storage for source-controller's artifacts.",
				Attributes: map[string]schema.Attribute{
					"class": reqStr("StorageClass name.", nonEmpty),
					"size":  reqStr("Volume size, e.g. `10Gi`.", validQuantity),
				},
			},
			"sops_age_key": schema.StringAttribute{
				Optional: true, Sensitive: true,
				Description: "SOPS age private key (`AGE-SECRET-KEY-1...`), stored as Secret `flux-system/sops-age` under `age.agekey`.",
				Validators:  []validator.String{validAgeKey},
			},
			"git_credentials": schema.SingleNestedAttribute{
				Optional: true, Sensitive: true,
				Description: "HTTPS credentials for a GitRepository sync source: `username` + `password`, or a `token` " +
					"(user name `git` unless `username` is set). Stored as the Secret the sync's pullSecret names. Needs `sync` " +
					"with kind `GitRepository`.",
				Attributes: map[string]schema.Attribute{
					"username":    schema.StringAttribute{Optional: true, Sensitive: true, Description: "User name."},
					"password":    schema.StringAttribute{Optional: true, Sensitive: true, Description: "Password."},
					"token":       schema.StringAttribute{Optional: true, Sensitive: true, Description: "Access token (used as the password)."},
					"secret_name": optStr("Secret name (default `"+DefaultGitSecret+"`).", validSecretName),
				},
			},
			"ghcr_credentials": schema.SingleNestedAttribute{
				Optional: true, Sensitive: true,
				Description: "Pull credentials for ghcr.io, stored as a `kubernetes.io/dockerconfigjson` Secret (only when set). " +
					"Reference it from `distribution.image_pull_secret` or `sync.pull_secret`.",
				Attributes: map[string]schema.Attribute{
					"username":    schema.StringAttribute{Required: true, Sensitive: true, Description: "GitHub user name."},
					"password":    schema.StringAttribute{Required: true, Sensitive: true, Description: "Token with read:packages."},
					"secret_name": optStr("Secret name (default `"+DefaultGHCRSecret+"`).", validSecretName),
				},
			},
			"force_conflicts": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Server-side apply takes over fields another manager changed (default true, so apply corrects drift). " +
					"With false such a conflict fails the apply and names the fields.",
			},
			"wait": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Wait for the FluxInstance to be Ready (default true). With false, create and update return right after applying.",
			},
			"timeouts": schema.SingleNestedAttribute{
				Optional:    true,
				Description: "Operation timeouts as Go durations between 1s and 24h: create and update default 10m, delete 5m.",
				Attributes: map[string]schema.Attribute{
					"create": optStr("Create timeout (default 10m).", validTimeout),
					"update": optStr("Update timeout (default 10m).", validTimeout),
					"delete": optStr("Delete timeout (default 5m).", validTimeout),
				},
			},
		},
	}
}

// ValidateConfig checks what involves several attributes, at plan time.
func (r *fluxResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	str := func(p path.Path) types.String {
		var v types.String
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, p, &v)...)
		return v
	}
	obj := func(p path.Path) types.Object {
		var v types.Object
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, p, &v)...)
		return v
	}
	set := func(v attr.Value) bool { return !v.IsNull() }
	// For warnings: an unknown value (a module input during validate) is
	// judged at plan, when it is known.
	setKnown := func(v attr.Value) bool { return !v.IsNull() && !v.IsUnknown() }
	if resp.Diagnostics.HasError() {
		return
	}

	mPath, mURL := str(path.Root("operator_manifest_path")), str(path.Root("operator_manifest_url"))
	if set(mPath) && set(mURL) {
		resp.Diagnostics.AddAttributeError(path.Root("operator_manifest_url"), "Conflicting operator manifest sources",
			"Set either operator_manifest_path (a local file) or operator_manifest_url (a mirror), not both.")
	}
	if setKnown(str(path.Root("operator_version"))) && (setKnown(mPath) || setKnown(mURL)) {
		resp.Diagnostics.AddAttributeWarning(path.Root("operator_version"), "operator_version is not used",
			"With operator_manifest_path or operator_manifest_url the manifest decides the operator version; operator_version only picks the default release URL.")
	}

	sync := obj(path.Root("sync"))
	syncKind := str(path.Root("sync").AtName("kind"))
	syncURL := str(path.Root("sync").AtName("url"))
	if known(syncKind) && known(syncURL) {
		if err := syncURLCheck(syncKind.ValueString(), syncURL.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("sync").AtName("url"), "Invalid sync URL", err.Error())
		}
	}

	git := obj(path.Root("git_credentials"))
	gitSecret := DefaultGitSecret
	if set(git) && !git.IsUnknown() {
		gp := path.Root("git_credentials")
		user, pass, token := str(gp.AtName("username")), str(gp.AtName("password")), str(gp.AtName("token"))
		if sn := str(gp.AtName("secret_name")); known(sn) {
			gitSecret = sn.ValueString()
		}
		switch {
		case set(token) && set(pass):
			resp.Diagnostics.AddAttributeError(gp, "Conflicting Git credentials",
				"Set git_credentials.token or git_credentials.password, not both.")
		case !set(token) && !(set(user) && set(pass)):
			resp.Diagnostics.AddAttributeError(gp, "Incomplete Git credentials",
				"git_credentials needs username and password, or a token.")
		}
		switch {
		case sync.IsNull():
			resp.Diagnostics.AddAttributeError(gp, "Git credentials without a sync source",
				"git_credentials are used by the sync source only; set sync { kind = \"GitRepository\" ... } or remove them.")
		case known(syncKind) && syncKind.ValueString() != "GitRepository":
			resp.Diagnostics.AddAttributeError(gp, "Git credentials need a GitRepository sync",
				fmt.Sprintf("git_credentials apply to sync.kind GitRepository, not %s; for OCI use ghcr_credentials and sync.pull_secret.", syncKind.ValueString()))
		}
		if ps := str(path.Root("sync").AtName("pull_secret")); known(ps) && ps.ValueString() != gitSecret {
			resp.Diagnostics.AddAttributeError(path.Root("sync").AtName("pull_secret"), "Conflicting pull secret",
				fmt.Sprintf("sync.pull_secret is %q but the git_credentials Secret is %q; omit sync.pull_secret or make them equal.",
					ps.ValueString(), gitSecret))
		}
	}

	ghcr := obj(path.Root("ghcr_credentials"))
	if set(ghcr) && !ghcr.IsUnknown() {
		ghcrSecret := DefaultGHCRSecret
		if sn := str(path.Root("ghcr_credentials").AtName("secret_name")); known(sn) {
			ghcrSecret = sn.ValueString()
		}
		if set(git) && ghcrSecret == gitSecret {
			resp.Diagnostics.AddAttributeError(path.Root("ghcr_credentials").AtName("secret_name"), "Secret name used twice",
				fmt.Sprintf("git_credentials and ghcr_credentials would both write Secret %q; give them different secret_name values.", ghcrSecret))
		}
		if ghcrSecret == SopsSecret {
			resp.Diagnostics.AddAttributeError(path.Root("ghcr_credentials").AtName("secret_name"), "Reserved Secret name",
				"sops-age holds the SOPS age key; choose another secret_name.")
		}
	}
	if set(git) && gitSecret == SopsSecret {
		resp.Diagnostics.AddAttributeError(path.Root("git_credentials").AtName("secret_name"), "Reserved Secret name",
			"sops-age holds the SOPS age key; choose another secret_name.")
	}

	var comps types.List
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("components"), &comps)...)
	if set(sync) && known(comps) {
		var have []string
		for _, e := range comps.Elements() {
			if s, ok := e.(types.String); ok && known(s) {
				have = append(have, s.ValueString())
			} else {
				return // unknown elements: checked at apply
			}
		}
		for _, need := range []string{"source-controller", "kustomize-controller"} {
			if !slices.Contains(have, need) {
				resp.Diagnostics.AddAttributeError(path.Root("components"), "Sync needs "+need,
					"sync makes Flux fetch a source and apply it; components must include source-controller and kustomize-controller.")
			}
		}
	}
}

// ModifyPlan: an update re-reads the operator manifest, so the computed
// operator attributes are unknown in an update plan, except for a local
// manifest file whose content is unchanged (its objects are known). A changed
// local file is itself an update.
func (r *fluxResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var stateSHA, pp, sp types.String
	var stateObjs types.List
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("operator_manifest_sha256"), &stateSHA)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("operator_objects"), &stateObjs)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("operator_manifest_path"), &pp)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("operator_manifest_path"), &sp)...)
	if resp.Diagnostics.HasError() || !known(pp) || !pp.Equal(sp) {
		return
	}
	b, err := os.ReadFile(pp.ValueString())
	if err != nil {
		return // reported at apply
	}
	if sha256Hex(b) == stateSHA.ValueString() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("operator_manifest_sha256"), stateSHA)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("operator_objects"), stateObjs)...)
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("operator_manifest_sha256"), types.StringUnknown())...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("operator_objects"), types.ListUnknown(types.StringType))...)
}

func (m *model) timeout(op string) time.Duration {
	def := map[string]time.Duration{"create": DefaultCreateTimeout, "update": DefaultUpdateTimeout, "delete": DefaultDeleteTimeout}[op]
	if m.Timeouts == nil {
		return def
	}
	v := map[string]types.String{"create": m.Timeouts.Create, "update": m.Timeouts.Update, "delete": m.Timeouts.Delete}[op]
	if !known(v) {
		return def
	}
	d, err := time.ParseDuration(v.ValueString())
	if err != nil {
		return def
	}
	return d
}

func (m *model) manifestSource() manifestSource {
	switch {
	case known(m.OperatorManifestPath):
		return manifestSource{Path: m.OperatorManifestPath.ValueString()}
	case known(m.OperatorManifestURL):
		return manifestSource{URL: m.OperatorManifestURL.ValueString()}
	}
	v := DefaultOperatorVersion
	if known(m.OperatorVersion) {
		v = m.OperatorVersion.ValueString()
	}
	return manifestSource{URL: OperatorManifestURL(v)}
}

func (m *model) refs() ([]objectRef, error) {
	var out []objectRef
	if !known(m.OperatorObjects) {
		return nil, nil
	}
	for _, e := range m.OperatorObjects.Elements() {
		s, ok := e.(types.String)
		if !ok || !known(s) {
			continue
		}
		ref, err := parseRef(s.ValueString())
		if err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, nil
}

func refList(refs []objectRef) types.List {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return stringList(s)
}

// install applies the operator manifest, the Secrets and the FluxInstance.
// m.OperatorObjects records what was applied even when a step fails, so the
// state (tainted on error) lets destroy remove it.
func (r *fluxResource) install(ctx context.Context, k *kube, m *model) error {
	src := m.manifestSource()
	tflog.Debug(ctx, "loading the Flux Operator manifest", map[string]any{"source": src.String()})
	b, err := src.load(ctx, r.http)
	if err != nil {
		return err
	}
	objs, err := parseManifest(b)
	if err != nil {
		return fmt.Errorf("the operator manifest %s does not parse: %w", src, err)
	}
	if err := checkOperatorManifest(objs); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	m.OperatorManifestSHA256 = types.StringValue(sha256Hex(b))

	namespaces, crds, rest := applyPhases(objs)
	hasNS := false
	for _, n := range namespaces {
		hasNS = hasNS || n.GetName() == Namespace
	}
	if !hasNS {
		ns := &unstructured.Unstructured{}
		ns.SetAPIVersion("v1")
		ns.SetKind("Namespace")
		ns.SetName(Namespace)
		namespaces = append([]*unstructured.Unstructured{ns}, namespaces...)
	}
	var applied []objectRef
	defer func() { m.OperatorObjects = refList(applied) }()
	applyAll := func(list []*unstructured.Unstructured) error {
		for _, o := range list {
			if _, err := k.resourceFor(o); err != nil { // sets the namespace the ref records
				return err
			}
			applied = append(applied, refOf(o))
			if err := k.apply(ctx, o); err != nil {
				return err
			}
		}
		return nil
	}
	if err := applyAll(namespaces); err != nil {
		return err
	}
	if err := applyAll(crds); err != nil {
		return err
	}
	names := make([]string, len(crds))
	for i, c := range crds {
		names[i] = c.GetName()
	}
	if err := k.waitEstablished(ctx, names); err != nil {
		return err
	}
	if err := applyAll(rest); err != nil {
		return err
	}
	tflog.Debug(ctx, "Flux Operator applied", map[string]any{"objects": len(applied)})

	for _, name := range m.secretNames() {
		if err := k.apply(ctx, m.secrets()[name]); err != nil {
			return err // the error names the Secret, never its data
		}
	}
	fi := &unstructured.Unstructured{Object: m.fluxInstance()}
	if err := k.apply(ctx, fi); err != nil {
		return err
	}
	return nil
}

func (r *fluxResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m model
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout("create"))
	defer cancel()
	k, err := newKube(m.Kubeconfig.ValueString(), m.ForceConflicts.ValueBool())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("kubeconfig"), "Cannot connect to the cluster", err.Error())
		return
	}
	m.ID = types.StringValue(Namespace + "/" + InstanceName)
	m.OperatorManifestSHA256 = types.StringNull()
	err = r.install(ctx, k, &m)
	if err != nil && len(m.OperatorObjects.Elements()) == 0 {
		resp.Diagnostics.AddError("Installing Flux failed", err.Error())
		return
	}
	// From here the state is saved even on error (Terraform taints it), so a
	// later apply or destroy cleans up what was installed.
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	if err != nil {
		resp.Diagnostics.AddError("Installing Flux failed", err.Error())
		return
	}
	if m.Wait.ValueBool() {
		if err := k.waitReady(ctx); err != nil {
			resp.Diagnostics.AddError("Flux did not become ready", err.Error()+
				fmt.Sprintf(" (timeouts.create is %s; check `kubectl -n %s get fluxinstance %s -o yaml` and the flux-operator logs)",
					m.timeout("create"), Namespace, InstanceName))
		}
	}
}

func (r *fluxResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m model
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	k, err := newKube(m.Kubeconfig.ValueString(), m.ForceConflicts.ValueBool())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("kubeconfig"), "Cannot connect to the cluster", err.Error())
		return
	}
	u, err := k.getInstance(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Reading the FluxInstance failed", err.Error())
		return
	}
	if u == nil || u.GetDeletionTimestamp() != nil {
		tflog.Info(ctx, "the FluxInstance is gone; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	m.reflectLive(spec)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *fluxResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state model
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, plan.timeout("update"))
	defer cancel()
	k, err := newKube(plan.Kubeconfig.ValueString(), plan.ForceConflicts.ValueBool())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("kubeconfig"), "Cannot connect to the cluster", err.Error())
		return
	}
	plan.ID = types.StringValue(Namespace + "/" + InstanceName)
	oldRefs, err := state.refs()
	if err != nil {
		resp.Diagnostics.AddError("Flux instance state is damaged", err.Error())
		return
	}
	installErr := r.install(ctx, k, &plan)
	if installErr == nil {
		installErr = r.prune(ctx, k, &state, &plan, oldRefs)
	}
	if installErr != nil && (!known(plan.OperatorObjects) || len(plan.OperatorObjects.Elements()) == 0) {
		plan.OperatorObjects = state.OperatorObjects
		plan.OperatorManifestSHA256 = state.OperatorManifestSHA256
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if installErr != nil {
		resp.Diagnostics.AddError("Updating Flux failed", installErr.Error())
		return
	}
	if plan.Wait.ValueBool() {
		if err := k.waitReady(ctx); err != nil {
			resp.Diagnostics.AddError("Flux did not become ready", err.Error()+
				fmt.Sprintf(" (timeouts.update is %s)", plan.timeout("update")))
		}
	}
}

// prune deletes what the previous apply installed and this one does not:
// operator objects dropped from the manifest, Secrets no longer configured.
func (r *fluxResource) prune(ctx context.Context, k *kube, state, plan *model, oldRefs []objectRef) error {
	newRefs, err := plan.refs()
	if err != nil {
		return err
	}
	var gone []objectRef
	for _, o := range oldRefs {
		if !slices.Contains(newRefs, o) && !(o.isNamespace() && o.Name == Namespace) {
			gone = append(gone, o)
		}
	}
	rest, crds, namespaces := deleteOrder(gone)
	for _, o := range slices.Concat(rest, crds, namespaces) {
		tflog.Info(ctx, "deleting an object the operator manifest no longer has", map[string]any{"object": o.String()})
		if err := k.deleteRef(ctx, o); err != nil {
			return err
		}
	}
	keep := plan.secretNames()
	for _, name := range state.secretNames() {
		if !slices.Contains(keep, name) {
			if err := k.deleteSecret(ctx, name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *fluxResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m model
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout("delete"))
	defer cancel()
	k, err := newKube(m.Kubeconfig.ValueString(), m.ForceConflicts.ValueBool())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("kubeconfig"), "Cannot connect to the cluster", err.Error())
		return
	}
	refs, err := m.refs()
	if err != nil {
		resp.Diagnostics.AddError("Flux instance state is damaged", err.Error())
		return
	}
	var deployments []objectRef
	for _, r := range refs {
		if r.Kind == "Deployment" {
			deployments = append(deployments, r)
		}
	}

	// 1. The FluxInstance: the operator's finalizer uninstalls Flux.
	stripped, err := k.deleteInstance(ctx, deployments)
	if err != nil {
		resp.Diagnostics.AddError("Deleting the FluxInstance failed", err.Error())
		return
	}
	if stripped {
		resp.Diagnostics.AddWarning("Flux Operator not running: FluxInstance finalizer removed",
			"No Flux Operator deployment was available to uninstall Flux, so the FluxInstance's finalizer was removed to let it go. "+
				"Flux controllers the operator had installed (if any) are removed with the flux-system namespace.")
	}
	// 2. Our Secrets.
	for _, name := range m.secretNames() {
		if err := k.deleteSecret(ctx, name); err != nil {
			resp.Diagnostics.AddError("Deleting a Secret failed", err.Error())
			return
		}
	}
	// 3. The operator: workloads and RBAC, then CRDs.
	rest, crds, namespaces := deleteOrder(refs)
	for _, o := range rest {
		if err := k.deleteRef(ctx, o); err != nil {
			resp.Diagnostics.AddError("Deleting the Flux Operator failed", err.Error())
			return
		}
	}
	var crdNames []string
	for _, o := range crds {
		if err := k.deleteRef(ctx, o); err != nil {
			resp.Diagnostics.AddError("Deleting the Flux Operator CRDs failed", err.Error())
			return
		}
		crdNames = append(crdNames, o.Name)
	}
	if err := k.waitCRDsGone(ctx, crdNames); err != nil {
		resp.Diagnostics.AddError("Deleting the Flux Operator CRDs failed", err.Error())
		return
	}
	// 4. The namespace, with a bounded wait.
	for _, o := range namespaces {
		if err := k.deleteRef(ctx, o); err != nil {
			resp.Diagnostics.AddError("Deleting the namespace failed", err.Error())
			return
		}
		bound := namespaceWaitMax
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < bound {
			bound = time.Until(dl)
		}
		nctx, ncancel := context.WithTimeout(ctx, bound)
		gone, why, err := k.namespaceGone(nctx, o.Name, noNamespaceControllerAfter)
		ncancel()
		if err != nil {
			resp.Diagnostics.AddError("Deleting the namespace failed", err.Error())
			return
		}
		if !gone {
			resp.Diagnostics.AddWarning("Namespace "+o.Name+" is still terminating",
				fmt.Sprintf("Namespace %s was deleted but has not disappeared yet (%s). Kubernetes removes it once the namespace controller "+
					"(kube-controller-manager) has deleted its contents; a new Flux installation must wait until then.", o.Name, why))
		}
	}
}
