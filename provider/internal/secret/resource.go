// Package secret implements platform_cluster_secret: one Kubernetes Secret,
// server-side applied from Terraform values (a cloud token, a network ID)
// that would otherwise have to be copied into git. Like
// platform_flux_instance it connects through its own kubeconfig attribute,
// only when an operation runs, so plans never need the cluster.
package secret

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sre-platform/platform/provider/internal/kube"
	"github.com/sre-platform/platform/provider/internal/tfval"
)

// Bounds of one operation. Create and update retry while the API is
// unreachable or overloaded (a cluster whose API load balancer is still
// settling); delete gives an unreachable cluster one short try.
const (
	applyTimeout  = 3 * time.Minute
	readTimeout   = time.Minute
	deleteTimeout = time.Minute
	reachTimeout  = 30 * time.Second
)

var retry = kube.Poller{Interval: time.Second, Max: 10 * time.Second}

type secretResource struct{}

// NewResource is the factory the provider registers.
func NewResource() resource.Resource { return &secretResource{} }

var (
	_ resource.Resource                   = &secretResource{}
	_ resource.ResourceWithValidateConfig = &secretResource{}
)

func (r *secretResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster_secret"
}

func (r *secretResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "One Kubernetes Secret, server-side applied (field manager `" + kube.FieldManager + "`) from values " +
			"Terraform already has, such as a cloud API token and a network ID. The connection comes from `kubeconfig` " +
			"when an operation runs, so plans work while the cluster does not exist yet. Read reports a Secret deleted " +
			"or changed in the cluster, and apply restores it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "`<namespace>/<name>`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"kubeconfig": schema.StringAttribute{
				Required: true, Sensitive: true,
				Description: "Kubeconfig (YAML) of the cluster, e.g. `platform_k3s_cluster.this.kubeconfig`. Used only when " +
					"the resource is created, read, updated or deleted; its current context is used. Validated at plan time when known.",
				Validators: []validator.String{tfval.Kubeconfig},
			},
			"namespace": schema.StringAttribute{
				Required: true, Description: "Namespace of the Secret (must exist). Changing it replaces the Secret.",
				Validators:    []validator.String{validNamespace},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"name": schema.StringAttribute{
				Required: true, Description: "Name of the Secret. Changing it replaces the Secret.",
				Validators:    []validator.String{validName},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"type": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(DefaultType),
				Description: "Secret type (default `Opaque`), e.g. `kubernetes.io/tls`. Kubernetes does not change a " +
					"Secret's type, so changing it replaces the Secret.",
				Validators:    []validator.String{validType},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"data": schema.MapAttribute{
				Required: true, Sensitive: true, ElementType: types.StringType,
				Description: "The Secret's keys and their values (plain text; the provider encodes them). Keys removed " +
					"here are removed from the Secret; keys another manager added stay.",
				Validators: []validator.Map{validData},
			},
			"labels": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				Description: "Labels of the Secret. The Secret also carries `" + kube.ManagedByLabel + ": " +
					kube.FieldManager + "` unless this map sets that key.",
				Validators: []validator.Map{validLabels},
			},
		},
	}
}

// ValidateConfig checks that data has the keys the type requires, at plan
// time (the API server would refuse the Secret at apply).
func (r *secretResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var typ types.String
	var data types.Map
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("type"), &typ)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("data"), &data)...)
	if resp.Diagnostics.HasError() || !known(typ) || !known(data) {
		return
	}
	keys := map[string]bool{}
	for k := range data.Elements() {
		keys[k] = true
	}
	if why := missingKeys(typ.ValueString(), keys); why != "" {
		resp.Diagnostics.AddAttributeError(path.Root("data"), "Secret data does not suit its type", why+".")
	}
}

// connect builds the operation's client from the kubeconfig.
func connect(m *model, diags *diag.Diagnostics) kubernetes.Interface {
	c, err := kube.FromKubeconfig(m.Kubeconfig.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("kubeconfig"), "Cannot connect to the cluster", err.Error())
		return nil
	}
	return c
}

// apply server-side applies the Secret, retrying while the API is
// unreachable or overloaded.
func apply(ctx context.Context, c kubernetes.Interface, m *model) error {
	s := m.secret()
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	return kube.RetryTransient(ctx, retry, func(ctx context.Context) error {
		err := kube.ApplySecret(ctx, c, s)
		if err != nil && kube.Transient(err) {
			tflog.Debug(ctx, "applying the Secret failed; retrying", map[string]any{"secret": s.String(), "error": err.Error()})
		}
		return err
	})
}

func (r *secretResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m model
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := connect(&m, &resp.Diagnostics)
	if c == nil {
		return
	}
	// An existing Secret is adopted (server-side apply takes over the keys
	// set here), unless its type differs: Kubernetes never changes a type.
	gctx, cancel := context.WithTimeout(ctx, applyTimeout)
	var existing *corev1.Secret
	err := kube.RetryTransient(gctx, retry, func(ctx context.Context) error {
		var err error
		existing, err = kube.GetSecret(ctx, c, m.Namespace.ValueString(), m.Name.ValueString())
		return err
	})
	cancel()
	if err != nil {
		resp.Diagnostics.AddError("Reading the Secret failed", err.Error())
		return
	}
	if want := m.secret().Type; existing != nil && string(existing.Type) != want {
		resp.Diagnostics.AddError("The Secret exists with another type",
			fmt.Sprintf("Secret %s already exists with type %s, and Kubernetes does not change a Secret's type. "+
				"Set type = %q to adopt it, or delete it first (kubectl -n %s delete secret %s).",
				m.id(), existing.Type, existing.Type, m.Namespace.ValueString(), m.Name.ValueString()))
		return
	}
	if existing != nil {
		tflog.Info(ctx, "adopting an existing Secret", map[string]any{"secret": m.id()})
	}
	if err := apply(ctx, c, &m); err != nil {
		resp.Diagnostics.AddError("Creating the Secret failed", err.Error())
		return
	}
	m.ID = types.StringValue(m.id())
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *secretResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m model
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := connect(&m, &resp.Diagnostics)
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	s, err := kube.GetSecret(ctx, c, m.Namespace.ValueString(), m.Name.ValueString())
	if err != nil {
		if kube.Unreachable(err) {
			// A cluster that is down (or gone, on the way to a destroy) must
			// not block the plan: keep the last known state.
			resp.Diagnostics.AddWarning("Cannot read Secret "+m.id(),
				fmt.Sprintf("The Kubernetes API is not reachable (%v); the Secret is assumed unchanged.", err))
			return
		}
		resp.Diagnostics.AddError("Reading the Secret failed", err.Error())
		return
	}
	if s == nil || s.DeletionTimestamp != nil {
		tflog.Info(ctx, "the Secret is gone; removing it from state", map[string]any{"secret": m.id()})
		resp.State.RemoveResource(ctx)
		return
	}
	m.reflectLive(s)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *secretResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m model
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := connect(&m, &resp.Diagnostics)
	if c == nil {
		return
	}
	if err := apply(ctx, c, &m); err != nil {
		resp.Diagnostics.AddError("Updating the Secret failed", err.Error())
		return
	}
	m.ID = types.StringValue(m.id())
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Delete removes the Secret. A cluster that cannot be reached at all (its
// servers already gone) is a warning, not a failure: nothing is left to
// clean up.
func (r *secretResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m model
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := kube.FromKubeconfig(m.Kubeconfig.ValueString())
	if err != nil {
		resp.Diagnostics.AddWarning("Skipping the Secret deletion", "No usable Kubernetes credentials: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	rctx, rcancel := context.WithTimeout(ctx, reachTimeout)
	err = kube.DeleteSecret(rctx, c, m.Namespace.ValueString(), m.Name.ValueString())
	rcancel()
	if err != nil && kube.Unreachable(err) {
		resp.Diagnostics.AddWarning("Skipping the Secret deletion",
			fmt.Sprintf("The Kubernetes API is not reachable (%v); Secret %s is removed from state only (the cluster is gone or going).", err, m.id()))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Deleting the Secret failed", err.Error())
	}
}
