package secret

import (
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/sre-platform/platform/provider/internal/kube"
)

// DefaultType is the type of a Secret without one.
const DefaultType = string(corev1.SecretTypeOpaque)

// model is platform_cluster_secret's Terraform data.
type model struct {
	ID         types.String `tfsdk:"id"`
	Kubeconfig types.String `tfsdk:"kubeconfig"`
	Namespace  types.String `tfsdk:"namespace"`
	Name       types.String `tfsdk:"name"`
	Type       types.String `tfsdk:"type"`
	Data       types.Map    `tfsdk:"data"`
	Labels     types.Map    `tfsdk:"labels"`
}

func known(v attr.Value) bool { return v != nil && !v.IsNull() && !v.IsUnknown() }

// entries returns a known map(string)'s entries (nil for null or unknown).
func entries(m types.Map) map[string]string {
	if !known(m) {
		return nil
	}
	out := make(map[string]string, len(m.Elements()))
	for k, v := range m.Elements() {
		if s, ok := v.(types.String); ok && known(s) {
			out[k] = s.ValueString()
		}
	}
	return out
}

func stringMap(m map[string]string) types.Map {
	vals := make(map[string]attr.Value, len(m))
	for k, v := range m {
		vals[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, vals)
}

func (m *model) id() string { return m.Namespace.ValueString() + "/" + m.Name.ValueString() }

// secret is what the model asks the cluster for. The managed-by label is
// added unless the labels set that key themselves.
func (m *model) secret() kube.Secret {
	typ := DefaultType
	if known(m.Type) {
		typ = m.Type.ValueString()
	}
	labels := map[string]string{kube.ManagedByLabel: kube.FieldManager}
	for k, v := range entries(m.Labels) {
		labels[k] = v
	}
	data := entries(m.Data)
	if data == nil {
		data = map[string]string{}
	}
	return kube.Secret{Namespace: m.Namespace.ValueString(), Name: m.Name.ValueString(), Type: typ, Data: data, Labels: labels}
}

// reflectLive records what the cluster holds for the keys and labels this
// resource manages, so a value changed or removed behind Terraform's back
// shows as a diff. Keys and labels set only by others are not the
// resource's business and stay out of state.
func (m *model) reflectLive(s *corev1.Secret) {
	if s.Type != "" {
		m.Type = types.StringValue(string(s.Type))
	}
	if known(m.Data) {
		live := map[string]string{}
		for k := range entries(m.Data) {
			if v, ok := s.Data[k]; ok {
				live[k] = string(v)
			}
		}
		m.Data = stringMap(live)
	}
	if known(m.Labels) {
		live := map[string]string{}
		for k := range entries(m.Labels) {
			if v, ok := s.Labels[k]; ok {
				live[k] = v
			}
		}
		m.Labels = stringMap(live)
	}
}
