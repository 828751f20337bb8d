package kind

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	sigyaml "sigs.k8s.io/yaml"
)

// DefaultNodeImage is kind v0.33.0's default node image (Kubernetes v1.37.0).
const DefaultNodeImage = defaults.Image

// DefaultWaitForReady is how long create waits for the control plane.
const DefaultWaitForReady = "3m"

// Cluster names become container and host names ("<name>-control-plane2"),
// so they stay short DNS-ish strings, as kind requires.
var nameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,46}[a-z0-9])?$`)

type model struct {
	ID                   types.String `tfsdk:"id"`
	Name                 types.String `tfsdk:"name"`
	NodeImage            types.String `tfsdk:"node_image"`
	Nodes                []nodeModel  `tfsdk:"nodes"`
	WaitForReady         types.String `tfsdk:"wait_for_ready"`
	Kubeconfig           types.String `tfsdk:"kubeconfig"`
	Endpoint             types.String `tfsdk:"endpoint"`
	ClientCertificate    types.String `tfsdk:"client_certificate"`
	ClientKey            types.String `tfsdk:"client_key"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
}

type nodeModel struct {
	Role              types.String `tfsdk:"role"`
	ExtraPortMappings []portModel  `tfsdk:"extra_port_mappings"`
	Labels            types.Map    `tfsdk:"labels"`
}

type portModel struct {
	ContainerPort types.Int64  `tfsdk:"container_port"`
	HostPort      types.Int64  `tfsdk:"host_port"`
	ListenAddress types.String `tfsdk:"listen_address"`
	Protocol      types.String `tfsdk:"protocol"`
}

// renderConfig is the kind cluster config (v1alpha4) for the model: one
// control-plane node when no nodes are given.
func renderConfig(m *model) *v1alpha4.Cluster {
	c := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     m.Name.ValueString(),
	}
	image := DefaultNodeImage
	if !m.NodeImage.IsNull() && !m.NodeImage.IsUnknown() {
		image = m.NodeImage.ValueString()
	}
	if len(m.Nodes) == 0 {
		c.Nodes = []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole, Image: image}}
		return c
	}
	for _, n := range m.Nodes {
		node := v1alpha4.Node{Role: v1alpha4.NodeRole(n.Role.ValueString()), Image: image}
		for _, p := range n.ExtraPortMappings {
			// The schema bounds both ports (container 1-65535, host 0-65535),
			// so they fit an int32.
			pm := v1alpha4.PortMapping{ContainerPort: int32(p.ContainerPort.ValueInt64())} //nolint:gosec // bounded by the schema's validator
			if !p.HostPort.IsNull() {
				pm.HostPort = int32(p.HostPort.ValueInt64()) //nolint:gosec // bounded by the schema's validator
			}
			if !p.ListenAddress.IsNull() {
				pm.ListenAddress = p.ListenAddress.ValueString()
			}
			if !p.Protocol.IsNull() {
				pm.Protocol = v1alpha4.PortMappingProtocol(p.Protocol.ValueString())
			}
			node.ExtraPortMappings = append(node.ExtraPortMappings, pm)
		}
		if !n.Labels.IsNull() && !n.Labels.IsUnknown() {
			node.Labels = map[string]string{}
			for k, v := range n.Labels.Elements() {
				if s, ok := v.(types.String); ok {
					node.Labels[k] = s.ValueString()
				}
			}
		}
		c.Nodes = append(c.Nodes, node)
	}
	return c
}

// configYAML renders the config as kind's CLI would read it.
func configYAML(c *v1alpha4.Cluster) (string, error) {
	b, err := sigyaml.Marshal(c)
	return string(b), err
}

// validateConfig checks what kind would refuse, with the attribute to blame.
// It only looks at known values.
func validateConfig(c *v1alpha4.Cluster) []error {
	var errs []error
	controlPlanes := 0
	type bind struct {
		addr  string
		port  int32
		proto string
	}
	seen := map[bind]string{}
	for i, n := range c.Nodes {
		where := fmt.Sprintf("nodes[%d]", i)
		switch n.Role {
		case v1alpha4.ControlPlaneRole:
			controlPlanes++
		case v1alpha4.WorkerRole, "":
		default:
			errs = append(errs, fmt.Errorf("%s.role %q must be control-plane or worker", where, n.Role))
		}
		for j, p := range n.ExtraPortMappings {
			pw := fmt.Sprintf("%s.extra_port_mappings[%d]", where, j)
			if p.ContainerPort < 1 || p.ContainerPort > 65535 {
				errs = append(errs, fmt.Errorf("%s.container_port %d must be 1 to 65535", pw, p.ContainerPort))
			}
			if p.HostPort < 0 || p.HostPort > 65535 {
				errs = append(errs, fmt.Errorf("%s.host_port %d must be 0 (random) to 65535", pw, p.HostPort))
			}
			addr := "0.0.0.0"
			if p.ListenAddress != "" {
				ip := net.ParseIP(p.ListenAddress)
				if ip == nil {
					errs = append(errs, fmt.Errorf("%s.listen_address %q is not an IP address", pw, p.ListenAddress))
					continue
				}
				addr = ip.String()
				if ip.Equal(net.IPv6zero) {
					addr = "0.0.0.0"
				}
			}
			proto := string(p.Protocol)
			if proto == "" {
				proto = "TCP"
			}
			if p.HostPort > 0 {
				// Every node is a container on the same host: host ports
				// must be unique across nodes, and a wildcard address
				// overlaps every other address.
				for b, other := range seen {
					if b.port == p.HostPort && b.proto == proto && (b.addr == addr || b.addr == "0.0.0.0" || addr == "0.0.0.0") {
						errs = append(errs, fmt.Errorf("%s: host port %s:%d/%s is already mapped by %s", pw, addr, p.HostPort, proto, other))
					}
				}
				seen[bind{addr, p.HostPort, proto}] = pw
			}
		}
		keys := make([]string, 0, len(n.Labels))
		for k := range n.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
				errs = append(errs, fmt.Errorf("%s.labels: key %q: %s", where, k, strings.Join(msgs, "; ")))
			}
			if msgs := validation.IsValidLabelValue(n.Labels[k]); len(msgs) > 0 {
				errs = append(errs, fmt.Errorf("%s.labels[%q]: value %q: %s", where, k, n.Labels[k], strings.Join(msgs, "; ")))
			}
		}
	}
	if len(c.Nodes) > 0 && controlPlanes == 0 {
		errs = append(errs, errors.New("nodes needs at least one node with role control-plane"))
	}
	return errs
}

func parseWait(s types.String) (time.Duration, error) {
	if s.IsNull() || s.IsUnknown() {
		return time.ParseDuration(DefaultWaitForReady)
	}
	d, err := time.ParseDuration(s.ValueString())
	if err != nil || d < 0 || d > time.Hour {
		return 0, fmt.Errorf("%q must be a Go duration between 0s and 1h, e.g. \"3m\"", s.ValueString())
	}
	return d, nil
}

// credentials are what the outputs expose from kind's kubeconfig.
type credentials struct {
	Endpoint, CA, Cert, Key string
}

// parseKubeconfig reads the current context's server and admin credentials.
func parseKubeconfig(kc string) (credentials, error) {
	cfg, err := clientcmd.Load([]byte(kc))
	if err != nil {
		return credentials{}, fmt.Errorf("kind returned a kubeconfig that does not load: %w", err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return credentials{}, fmt.Errorf("kind's kubeconfig has no current context %q", cfg.CurrentContext)
	}
	cl, ok := cfg.Clusters[ctx.Cluster]
	if !ok {
		return credentials{}, fmt.Errorf("kind's kubeconfig has no cluster %q", ctx.Cluster)
	}
	var c credentials
	c.Endpoint, c.CA = cl.Server, string(cl.CertificateAuthorityData)
	if u, ok := cfg.AuthInfos[ctx.AuthInfo]; ok {
		c.Cert, c.Key = string(u.ClientCertificateData), string(u.ClientKeyData)
	}
	return c, nil
}
