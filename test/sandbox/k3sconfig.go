package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Standard k3s paths cloud-init writes.
const (
	K3sConfigPath   = "/etc/rancher/k3s/config.yaml"
	K3sConfigDir    = "/etc/rancher/k3s/config.yaml.d"
	K3sServerTLSDir = "/var/lib/rancher/k3s/server/tls"
)

// Role is what a machine runs: a k3s server (control plane) or an agent.
type Role string

// Roles.
const (
	RoleServer Role = "server"
	RoleAgent  Role = "agent"
)

// K3sConfig is the merged k3s configuration of one machine.
type K3sConfig struct {
	// Raw holds every key after merging (values as YAML decoded them).
	Raw map[string]any

	Token          string
	AgentToken     string // servers: the token agents may join with (k3s agent-token)
	Server         string
	ClusterInit    bool
	NodeName       string
	NodeIP         []string
	NodeExternalIP []string
	TLSSAN         []string
	NodeLabels     []string
	NodeTaints     []string
	Disable        []string
	ServiceCIDR    string
	ClusterCIDR    string // pod network (k3s default 10.42.0.0/16), a /24 per node
	ClusterDomain  string
	KubeletArgs    []string
	// DisableCloudController is k3s' disable-cloud-controller (servers).
	DisableCloudController bool
	// ExternalCloudProvider is true when the kubelet runs with
	// cloud-provider=external: an external cloud controller initialises
	// the node (provider ID, addresses) and removes its uninitialized taint.
	ExternalCloudProvider bool
}

// sliceKeys are k3s flags of type StringSlice: a scalar value is split on
// commas, a list is taken as is.
var sliceKeys = map[string]bool{
	"node-ip": true, "node-external-ip": true, "tls-san": true, "node-label": true, "node-taint": true,
	"disable": true, "service-cidr": true, "cluster-cidr": true, "kube-apiserver-arg": true, "kubelet-arg": true,
}

// MergeK3sConfig merges config.yaml and config.yaml.d/*.yaml (lexical order)
// from the files cloud-init wrote, as k3s does: a later file replaces a key,
// and a key written with a trailing "+" appends to a list.
func MergeK3sConfig(files map[string][]byte) (*K3sConfig, error) {
	var paths []string
	if _, ok := files[K3sConfigPath]; ok {
		paths = append(paths, K3sConfigPath)
	}
	var dropins []string
	for p := range files {
		if path.Dir(p) == K3sConfigDir && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			dropins = append(dropins, p)
		}
	}
	sort.Strings(dropins)
	paths = append(paths, dropins...)
	if len(paths) == 0 {
		return nil, fmt.Errorf("no k3s config: cloud-init writes neither %s nor %s/*.yaml", K3sConfigPath, K3sConfigDir)
	}
	merged := map[string]any{}
	for _, p := range paths {
		var doc map[string]any
		if err := yaml.Unmarshal(files[p], &doc); err != nil {
			return nil, fmt.Errorf("k3s config %s: %w", p, err)
		}
		keys := make([]string, 0, len(doc))
		for k := range doc {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := doc[k]
			if base, ok := strings.CutSuffix(k, "+"); ok {
				merged[base] = append(toStrings(merged[base], sliceKeys[base]), toStrings(v, sliceKeys[base])...)
				continue
			}
			merged[k] = v
		}
	}
	c := &K3sConfig{Raw: merged}
	c.Token = scalar(merged["token"])
	c.AgentToken = scalar(merged["agent-token"])
	c.Server = scalar(merged["server"])
	c.NodeName = scalar(merged["node-name"])
	c.ClusterDomain = scalar(merged["cluster-domain"])
	if c.ClusterDomain == "" {
		c.ClusterDomain = "cluster.local"
	}
	var err error
	if c.ClusterInit, err = boolKey(merged, "cluster-init"); err != nil {
		return nil, err
	}
	if c.DisableCloudController, err = boolKey(merged, "disable-cloud-controller"); err != nil {
		return nil, err
	}
	c.KubeletArgs = toStrings(merged["kubelet-arg"], true)
	// The kubelet takes the last value of a repeated flag.
	for _, a := range c.KubeletArgs {
		k, v, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if k == "cloud-provider" {
			c.ExternalCloudProvider = v == "external"
		}
	}
	c.NodeIP = toStrings(merged["node-ip"], true)
	c.NodeExternalIP = toStrings(merged["node-external-ip"], true)
	c.TLSSAN = toStrings(merged["tls-san"], true)
	c.NodeLabels = toStrings(merged["node-label"], true)
	c.NodeTaints = toStrings(merged["node-taint"], true)
	c.Disable = toStrings(merged["disable"], true)
	if s := toStrings(merged["service-cidr"], true); len(s) > 0 {
		c.ServiceCIDR = s[0]
	} else {
		c.ServiceCIDR = "10.43.0.0/16"
	}
	if s := toStrings(merged["cluster-cidr"], true); len(s) > 0 {
		c.ClusterCIDR = s[0]
	} else {
		c.ClusterCIDR = "10.42.0.0/16"
	}
	return c, nil
}

// boolKey reads a boolean k3s flag (YAML true/false or the strings).
func boolKey(merged map[string]any, key string) (bool, error) {
	switch v := merged[key].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		switch v {
		case "true":
			return true, nil
		case "false", "":
			return false, nil
		}
	}
	return false, fmt.Errorf("k3s config: %s: want a boolean, got %v", key, merged[key])
}

// DisablesComponent reports whether a packaged component is in disable.
func (c *K3sConfig) DisablesComponent(name string) bool {
	for _, d := range c.Disable {
		if d == name {
			return true
		}
	}
	return false
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func toStrings(v any, split bool) []string {
	var out []string
	add := func(s string) {
		if split {
			for _, p := range strings.Split(s, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return
		}
		out = append(out, s)
	}
	switch x := v.(type) {
	case nil:
	case []any:
		for _, e := range x {
			add(scalar(e))
		}
	case []string:
		for _, e := range x {
			add(e)
		}
	default:
		add(scalar(x))
	}
	return out
}

// APIServiceIP is the first address of the service CIDR (10.43.0.1 by
// default), the ClusterIP of the kubernetes Service.
func (c *K3sConfig) APIServiceIP() (netip.Addr, error) {
	p, err := netip.ParsePrefix(c.ServiceCIDR)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("k3s config: service-cidr %q: %w", c.ServiceCIDR, err)
	}
	return p.Masked().Addr().Next(), nil
}

// ClusterDNSIP is the tenth address of the service CIDR (10.43.0.10 by
// default), where k3s puts the cluster DNS Service (cluster-dns).
func (c *K3sConfig) ClusterDNSIP() (netip.Addr, error) {
	if s := scalar(c.Raw["cluster-dns"]); s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("k3s config: cluster-dns %q: %w", s, err)
		}
		return a, nil
	}
	a, err := c.APIServiceIP()
	if err != nil {
		return a, err
	}
	for range 9 {
		a = a.Next()
	}
	return a, nil
}

// ServerHost returns the host of the server URL (an IP or a name).
func (c *K3sConfig) ServerHost() (string, error) {
	u, err := url.Parse(c.Server)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return "", fmt.Errorf("k3s config: server %q is not an https:// URL", c.Server)
	}
	return u.Hostname(), nil
}

// Token is a parsed k3s token: "K10<ca hash>::<user>:<secret>" (full) or a
// bare secret. Clusters are matched on the secret.
type Token struct {
	CAHash   string // hex sha256 of the server CA bundle; empty for a bare token
	Username string
	Secret   string
}

// ParseToken parses a k3s token.
func ParseToken(s string) (Token, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Token{}, errors.New("empty token")
	}
	if rest, ok := strings.CutPrefix(s, "K10"); ok {
		hash, creds, ok := strings.Cut(rest, "::")
		if !ok {
			return Token{}, errors.New("token starts with K10 but has no '::'")
		}
		user, secret, ok := strings.Cut(creds, ":")
		if !ok || secret == "" {
			return Token{}, errors.New("token has no <user>:<secret> part after '::'")
		}
		if _, err := hex.DecodeString(hash); err != nil || len(hash) != 64 {
			return Token{}, errors.New("token CA hash is not a hex sha256")
		}
		return Token{CAHash: strings.ToLower(hash), Username: user, Secret: secret}, nil
	}
	return Token{Secret: s}, nil
}

// CAHashOf is the hash a full token carries for a server CA bundle.
func CAHashOf(caPEM []byte) string {
	sum := sha256.Sum256(caPEM)
	return hex.EncodeToString(sum[:])
}

// SecretDigest is a stable, non-reversible identifier of a token secret
// (what the sandbox persists instead of the secret).
func SecretDigest(secret string) string {
	sum := sha256.Sum256([]byte("k3s-token:" + secret))
	return hex.EncodeToString(sum[:])
}
