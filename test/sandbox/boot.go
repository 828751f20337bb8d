package sandbox

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Boot is what a machine would run after cloud-init: its role, node name,
// merged k3s config and (servers) the cluster's CA files.
type Boot struct {
	Cloud    *CloudConfig
	K3s      *K3sConfig
	Role     Role
	NodeName string
	Token    Token
	// AgentToken is what a server accepts from agents besides its token
	// (k3s agent-token); nil when unset and for agents.
	AgentToken *Token
	PKI        *ClusterPKI // nil for agents (and servers joining without CA files)
	// Init is true for the first server of a cluster (no server URL).
	Init bool
}

// ParseBoot reads a server's user data the way cloud-init and k3s would and
// decides what the machine runs. serverName is the Hetzner server name (the
// host name when cloud-init sets none).
func ParseBoot(userData, serverName string) (*Boot, error) {
	cc, err := ParseCloudConfig(userData)
	if err != nil {
		return nil, err
	}
	kc, err := MergeK3sConfig(cc.Files)
	if err != nil {
		return nil, err
	}
	b := &Boot{Cloud: cc, K3s: kc}
	b.PKI, err = LoadClusterPKI(cc.Files)
	if err != nil {
		return nil, err
	}
	// k3s runs as a server when started with cluster-init or given the
	// server CA files (the provider writes them only for servers); a config
	// with a server URL and nothing else is an agent.
	switch {
	case kc.ClusterInit || b.PKI != nil:
		b.Role = RoleServer
	case kc.Server != "":
		b.Role = RoleAgent
	default:
		return nil, fmt.Errorf("k3s config has neither cluster-init/CA files (server) nor a server URL (agent)")
	}
	b.Init = b.Role == RoleServer && kc.Server == ""
	if err := checkCloudIntegration(kc, b.Role); err != nil {
		return nil, err
	}
	if kc.Server != "" {
		if _, err := kc.ServerHost(); err != nil {
			return nil, err
		}
	}
	if b.Init && b.PKI == nil {
		return nil, fmt.Errorf("first server has no CA files under %s: k3s would generate its own CAs that no client trusts", K3sServerTLSDir)
	}
	if kc.Token == "" {
		if b.Init {
			return nil, fmt.Errorf("k3s config has no token")
		}
		return nil, fmt.Errorf("k3s config has a server URL but no token: k3s %s refuses to start", b.Role)
	}
	if b.Token, err = ParseToken(kc.Token); err != nil {
		return nil, fmt.Errorf("k3s config: token: %w", err)
	}
	if b.Token.CAHash != "" && b.PKI != nil && b.Token.CAHash != CAHashOf(b.PKI.ServerCA.CertPEM) {
		return nil, fmt.Errorf("k3s config: token CA hash does not match server-ca.crt")
	}
	if b.Role == RoleServer && kc.AgentToken != "" {
		at, err := ParseToken(kc.AgentToken)
		if err != nil {
			return nil, fmt.Errorf("k3s config: agent-token: %w", err)
		}
		if at.CAHash != "" && b.PKI != nil && at.CAHash != CAHashOf(b.PKI.ServerCA.CertPEM) {
			return nil, fmt.Errorf("k3s config: agent-token CA hash does not match server-ca.crt")
		}
		b.AgentToken = &at
	}
	if _, err := kc.APIServiceIP(); err != nil {
		return nil, err
	}
	if _, err := kc.ClusterDNSIP(); err != nil {
		return nil, err
	}
	if p, err := netip.ParsePrefix(kc.ClusterCIDR); err != nil || !p.Addr().Is4() || p.Bits() > 24 {
		return nil, fmt.Errorf("k3s config: cluster-cidr %q is not an IPv4 CIDR of /24 or wider", kc.ClusterCIDR)
	}
	for _, ip := range append(append([]string{}, kc.NodeIP...), kc.NodeExternalIP...) {
		if _, err := netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("k3s config: node IP %q is not an IP address", ip)
		}
	}
	if _, err := ParseLabels(kc.NodeLabels); err != nil {
		return nil, err
	}
	if _, err := ParseTaints(kc.NodeTaints); err != nil {
		return nil, err
	}
	b.NodeName = NodeName(kc, cc, serverName)
	return b, nil
}

// UninitializedTaint is the taint a kubelet running with
// cloud-provider=external registers its Node with; the external cloud
// controller removes it once it has initialised the node.
var UninitializedTaint = Taint{Key: "node.cloudprovider.kubernetes.io/uninitialized", Value: "true", Effect: "NoSchedule"}

// checkCloudIntegration refuses a server that would run k3s' own cloud
// controller or ServiceLB next to an external cloud provider: both would
// initialise nodes and answer LoadBalancer Services. (disable-cloud-controller
// and disable are server flags; agents only carry the kubelet argument.)
func checkCloudIntegration(kc *K3sConfig, role Role) error {
	if role != RoleServer || !kc.ExternalCloudProvider {
		return nil
	}
	var missing []string
	if !kc.DisableCloudController {
		missing = append(missing, "disable-cloud-controller: true")
	}
	if !kc.DisablesComponent("servicelb") {
		missing = append(missing, "servicelb in disable")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("k3s config: misconfigured cloud integration: kubelet-arg cloud-provider=external hands nodes to an external cloud controller, "+
		"but k3s' own cloud controller and ServiceLB would still run beside it (missing %s)", strings.Join(missing, " and "))
}

// Taints are the taints the node registers with: its node-taint entries and,
// with an external cloud provider, the uninitialized taint.
func (b *Boot) Taints() ([]Taint, error) {
	taints, err := ParseTaints(b.K3s.NodeTaints)
	if err != nil {
		return nil, err
	}
	if b.K3s.ExternalCloudProvider {
		taints = append(taints, UninitializedTaint)
	}
	return taints, nil
}

// ProviderID is the provider ID the node registers with: k3s' own cloud
// controller sets k3s://<node name>; with an external cloud provider the
// Node has none until that controller sets it.
func (b *Boot) ProviderID() string {
	if b.K3s.ExternalCloudProvider {
		return ""
	}
	return "k3s://" + b.NodeName
}

// NodeName picks the node name like k3s: node-name, else the host name
// cloud-init set (the short name of fqdn), else the machine's name.
func NodeName(kc *K3sConfig, cc *CloudConfig, serverName string) string {
	switch {
	case kc != nil && kc.NodeName != "":
		return strings.ToLower(kc.NodeName)
	case cc != nil && cc.Hostname != "":
		return strings.ToLower(cc.Hostname)
	case cc != nil && cc.FQDN != "":
		h, _, _ := strings.Cut(cc.FQDN, ".")
		return strings.ToLower(h)
	default:
		return strings.ToLower(serverName)
	}
}

// ParseLabels parses k3s node-label entries ("k=v").
func ParseLabels(in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, l := range in {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("k3s config: node-label %q is not key=value", l)
		}
		out[k] = v
	}
	return out, nil
}

// Taint is a parsed node-taint entry.
type Taint struct{ Key, Value, Effect string }

// ParseTaints parses k3s node-taint entries ("k=v:Effect" or "k:Effect").
func ParseTaints(in []string) ([]Taint, error) {
	var out []Taint
	for _, t := range in {
		kv, effect, ok := strings.Cut(t, ":")
		if !ok {
			return nil, fmt.Errorf("k3s config: node-taint %q has no :Effect", t)
		}
		switch effect {
		case "NoSchedule", "PreferNoSchedule", "NoExecute":
		default:
			return nil, fmt.Errorf("k3s config: node-taint %q: unknown effect %q", t, effect)
		}
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("k3s config: node-taint %q has no key", t)
		}
		out = append(out, Taint{Key: k, Value: v, Effect: effect})
	}
	return out, nil
}

// CloudInitSpec describes a k3s machine for RenderCloudInit, following the
// cloud-init contract of the Terraform provider.
type CloudInitSpec struct {
	Hostname string
	// Config is the k3s config (token, server or cluster-init, node-name, …).
	Config map[string]any
	// PKI is written for servers.
	PKI *ClusterPKI
}

// RenderCloudInit renders the #cloud-config the provider writes for a k3s
// server or agent.
func RenderCloudInit(spec CloudInitSpec) (string, error) {
	type wf struct {
		Path        string `yaml:"path"`
		Permissions string `yaml:"permissions"`
		Content     string `yaml:"content"`
	}
	cfg, err := yaml.Marshal(spec.Config)
	if err != nil {
		return "", err
	}
	files := []wf{{Path: K3sConfigPath, Permissions: "0600", Content: string(cfg)}}
	if spec.PKI != nil {
		pf := spec.PKI.Files()
		paths := make([]string, 0, len(pf))
		for p := range pf {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			perm := "0644"
			if strings.HasSuffix(p, ".key") {
				perm = "0600"
			}
			files = append(files, wf{Path: p, Permissions: perm, Content: string(pf[p])})
		}
	}
	files = append(files, wf{Path: "/usr/local/bin/k3s-install.sh", Permissions: "0755",
		Content: "#!/bin/sh\n# k3s install script (placeholder)\n"})
	doc := map[string]any{
		"hostname":    spec.Hostname,
		"write_files": files,
		"runcmd":      [][]string{{"sh", "/usr/local/bin/k3s-install.sh"}},
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	return "#cloud-config\n" + string(out), nil
}

// FullToken renders a full k3s token for a cluster's server CA and secret.
func FullToken(serverCAPEM []byte, secret string) string {
	return "K10" + CAHashOf(serverCAPEM) + "::server:" + secret
}
