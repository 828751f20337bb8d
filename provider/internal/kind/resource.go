// Package kind implements platform_kind_cluster: a local Kubernetes cluster
// in containers, made with the kind library (Docker, Podman or nerdctl).
package kind

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"sigs.k8s.io/kind/pkg/cluster"
	kindlog "sigs.k8s.io/kind/pkg/log"
)

type kindResource struct{}

// NewResource is the factory the provider registers.
func NewResource() resource.Resource { return &kindResource{} }

var (
	_ resource.Resource                   = &kindResource{}
	_ resource.ResourceWithValidateConfig = &kindResource{}
)

func (r *kindResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_kind_cluster"
}

func (r *kindResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "A local Kubernetes cluster in containers, created with the kind library (sigs.k8s.io/kind " +
			"v0.33.0) on Docker, Podman or nerdctl. Needs a container engine that allows privileged containers. " +
			"Every input except `wait_for_ready` replaces the cluster; a cluster deleted outside Terraform is " +
			"created again. The user's ~/.kube/config is never touched: use the `kubeconfig` output.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "The cluster name.", PlanModifiers: keep},
			"name": schema.StringAttribute{
				Required: true, PlanModifiers: replace,
				Description: "Cluster name (lowercase letters, digits, '.' and '-', at most 48); node containers are `<name>-control-plane`, `<name>-worker`, ...",
				Validators: []validator.String{stringvalidator.RegexMatches(nameRe,
					"must be lowercase letters, digits, '.' and '-', starting and ending with a letter or digit, at most 48 characters")},
			},
			"node_image": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(DefaultNodeImage), PlanModifiers: replace,
				Description: "Node image for every node (default kind v0.33.0's `" + DefaultNodeImage + "`).",
				Validators: []validator.String{stringvalidator.RegexMatches(imageRe,
					"must be a container image reference such as kindest/node:v1.37.0")},
			},
			"nodes": schema.ListNestedAttribute{
				Optional:      true,
				Description:   "Nodes; default one control-plane node. At least one control-plane node.",
				PlanModifiers: []planmodifier.List{listplanmodifier.RequiresReplace()},
				Validators:    []validator.List{listvalidator.SizeBetween(1, 20)},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"role": schema.StringAttribute{Required: true, Description: "`control-plane` or `worker`.",
						Validators: []validator.String{stringvalidator.OneOf("control-plane", "worker")}},
					"labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
						Description: "Kubernetes labels of the node."},
					"extra_port_mappings": schema.ListNestedAttribute{
						Optional: true,
						Description: "Ports of the node container published on the host (e.g. 80 and 443 for an ingress controller). " +
							"Host ports must be unique per address and protocol across all nodes (a 0.0.0.0 binding overlaps every address); checked at plan time.",
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"container_port": schema.Int64Attribute{Required: true, Description: "Port in the node container.",
								Validators: []validator.Int64{int64validator.Between(1, 65535)}},
							"host_port": schema.Int64Attribute{Optional: true, Description: "Port on the host (0 or unset: random).",
								Validators: []validator.Int64{int64validator.Between(0, 65535)}},
							"listen_address": schema.StringAttribute{Optional: true, Description: "Host address to listen on (default 0.0.0.0).",
								Validators: []validator.String{ipValidator{}}},
							"protocol": schema.StringAttribute{Optional: true, Description: "`TCP` (default), `UDP` or `SCTP`.",
								Validators: []validator.String{stringvalidator.OneOf("TCP", "UDP", "SCTP")}},
						}},
					},
				}},
			},
			"wait_for_ready": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(DefaultWaitForReady),
				Description: "How long create waits for the control plane to be Ready, as a Go duration (0s to 1h; default `3m`; `0s`: no wait).",
				Validators:  []validator.String{durationValidator{}},
			},
			"kubeconfig": schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: keep,
				Description: "Admin kubeconfig (server on the host's loopback)."},
			"endpoint": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "API server URL, e.g. `https://127.0.0.1:41235`."},
			"client_certificate": schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: keep,
				Description: "PEM admin client certificate."},
			"client_key": schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: keep,
				Description: "PEM admin client key."},
			"cluster_ca_certificate": schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: keep,
				Description: "PEM cluster CA certificate."},
		},
	}
}

// ValidateConfig checks the node list as a whole (control plane present,
// unique host ports, label syntax).
func (r *kindResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var nodes types.List
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("nodes"), &nodes)...)
	if resp.Diagnostics.HasError() || nodes.IsNull() || nodes.IsUnknown() {
		return
	}
	var m model
	// Nodes with unknown parts are checked at apply time.
	if diags := req.Config.GetAttribute(ctx, path.Root("nodes"), &m.Nodes); diags.HasError() {
		return
	}
	for _, err := range validateConfig(renderConfig(&m)) {
		resp.Diagnostics.AddAttributeError(path.Root("nodes"), "Invalid kind nodes", err.Error())
	}
}

// tfLogger sends kind's progress to the Terraform log.
type tfLogger struct{ ctx context.Context }

func (l tfLogger) Warn(msg string)                    { tflog.Warn(l.ctx, msg) }
func (l tfLogger) Warnf(f string, a ...any)           { tflog.Warn(l.ctx, fmt.Sprintf(f, a...)) }
func (l tfLogger) Error(msg string)                   { tflog.Error(l.ctx, msg) }
func (l tfLogger) Errorf(f string, a ...any)          { tflog.Error(l.ctx, fmt.Sprintf(f, a...)) }
func (l tfLogger) V(kindlog.Level) kindlog.InfoLogger { return l }
func (l tfLogger) Info(msg string)                    { tflog.Debug(l.ctx, msg) }
func (l tfLogger) Infof(f string, a ...any)           { tflog.Debug(l.ctx, fmt.Sprintf(f, a...)) }
func (l tfLogger) Enabled() bool                      { return true }

func newProvider(ctx context.Context, diags *diag.Diagnostics) *cluster.Provider {
	opt, err := cluster.DetectNodeProvider()
	if err != nil {
		diags.AddError("No container engine for kind",
			"kind needs Docker, Podman or nerdctl on this machine, with privileged containers allowed: "+err.Error())
		return nil
	}
	return cluster.NewProvider(opt, cluster.ProviderWithLogger(tfLogger{ctx}))
}

// scratchKubeconfig is a throwaway kubeconfig path, so kind never edits the
// user's ~/.kube/config.
func scratchKubeconfig() (string, func(), error) {
	dir, err := os.MkdirTemp("", "platform-kind-")
	if err != nil {
		return "", nil, err
	}
	return filepath.Join(dir, "kubeconfig"), func() { _ = os.RemoveAll(dir) }, nil
}

func (r *kindResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m model
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg := renderConfig(&m)
	for _, err := range validateConfig(cfg) {
		resp.Diagnostics.AddAttributeError(path.Root("nodes"), "Invalid kind nodes", err.Error())
	}
	wait, err := parseWait(m.WaitForReady)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("wait_for_ready"), "Invalid duration", err.Error())
	}
	if resp.Diagnostics.HasError() {
		return
	}
	p := newProvider(ctx, &resp.Diagnostics)
	if p == nil {
		return
	}
	name := m.Name.ValueString()
	existing, err := p.List()
	if err != nil {
		resp.Diagnostics.AddError("Listing kind clusters failed", err.Error())
		return
	}
	if slices.Contains(existing, name) {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "kind cluster already exists",
			fmt.Sprintf("A kind cluster named %q already exists; delete it (`kind delete cluster --name %s`) or choose another name.", name, name))
		return
	}
	kcPath, cleanup, err := scratchKubeconfig()
	if err != nil {
		resp.Diagnostics.AddError("Creating a scratch kubeconfig failed", err.Error())
		return
	}
	defer cleanup()
	if y, err := configYAML(cfg); err == nil {
		tflog.Debug(ctx, "creating kind cluster", map[string]any{"config": y})
	}
	err = p.Create(name,
		cluster.CreateWithV1Alpha4Config(cfg),
		cluster.CreateWithNodeImage(m.NodeImage.ValueString()),
		cluster.CreateWithWaitForReady(wait),
		cluster.CreateWithKubeconfigPath(kcPath),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	)
	if err != nil {
		resp.Diagnostics.AddError("Creating the kind cluster failed", err.Error()+
			" (kind removes a half-created cluster itself; privileged containers must be allowed)")
		return
	}
	m.ID = types.StringValue(name)
	resp.Diagnostics.Append(setOutputs(p, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func setOutputs(p *cluster.Provider, m *model) diag.Diagnostics {
	var diags diag.Diagnostics
	kc, err := p.KubeConfig(m.Name.ValueString(), false)
	if err != nil {
		diags.AddError("Reading the kind kubeconfig failed", err.Error())
		return diags
	}
	c, err := parseKubeconfig(kc)
	if err != nil {
		diags.AddError("Reading the kind kubeconfig failed", err.Error())
		return diags
	}
	m.Kubeconfig = types.StringValue(kc)
	m.Endpoint = types.StringValue(c.Endpoint)
	m.ClusterCACertificate = types.StringValue(c.CA)
	m.ClientCertificate = types.StringValue(c.Cert)
	m.ClientKey = types.StringValue(c.Key)
	return diags
}

// Read removes the cluster from state when kind no longer lists it, and
// refreshes the kubeconfig (its port changes when the engine restarts).
func (r *kindResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m model
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	p := newProvider(ctx, &resp.Diagnostics)
	if p == nil {
		return
	}
	existing, err := p.List()
	if err != nil {
		resp.Diagnostics.AddError("Listing kind clusters failed", err.Error())
		return
	}
	if !slices.Contains(existing, m.Name.ValueString()) {
		tflog.Info(ctx, "kind cluster is gone; removing it from state", map[string]any{"name": m.Name.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(setOutputs(p, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Update only changes wait_for_ready (everything else replaces the cluster).
func (r *kindResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state model
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID = state.ID
	plan.Kubeconfig, plan.Endpoint = state.Kubeconfig, state.Endpoint
	plan.ClientCertificate, plan.ClientKey, plan.ClusterCACertificate = state.ClientCertificate, state.ClientKey, state.ClusterCACertificate
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *kindResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m model
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	p := newProvider(ctx, &resp.Diagnostics)
	if p == nil {
		return
	}
	kcPath, cleanup, err := scratchKubeconfig()
	if err != nil {
		resp.Diagnostics.AddError("Creating a scratch kubeconfig failed", err.Error())
		return
	}
	defer cleanup()
	if err := p.Delete(m.Name.ValueString(), kcPath); err != nil {
		resp.Diagnostics.AddError("Deleting the kind cluster failed", err.Error())
	}
}
