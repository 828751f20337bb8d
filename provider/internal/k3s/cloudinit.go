package k3s

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

// Paths k3s reads. The CA files at these paths make k3s use our CAs instead of
// generating its own ("custom CA certificates" in the k3s docs).
const (
	ConfigPath     = "/etc/rancher/k3s/config.yaml"
	TLSDir         = "/var/lib/rancher/k3s/server/tls"
	InstallPath    = "/usr/local/bin/k3s-install.sh"
	defaultAPIPort = 6443
	// MaxUserData is Hetzner Cloud's limit on a server's user_data.
	MaxUserData = 32 * 1024
)

// Role is server (control plane + etcd) or agent.
type Role string

const (
	RoleServer Role = "server"
	RoleAgent  Role = "agent"
)

// NodeConfig is what one node's cloud-init carries.
type NodeConfig struct {
	Role       Role
	K3sVersion string
	Token      string
	// ClusterInit marks the first server: it starts a new embedded etcd.
	ClusterInit bool
	// ServerURL is the API of an existing server (or the API load balancer);
	// required for joining servers and for agents.
	ServerURL    string
	NodeName     string
	NodeIP       string // private network address, when on one
	ExternalIP   string
	TLSSANs      []string
	Labels       map[string]string
	Taints       []string
	Disable      []string
	FlannelIface string
	// EtcdSnapshotCron schedules etcd snapshots on servers ("" = k3s default).
	EtcdSnapshotCron string
	// PKI is written to the custom-CA paths on servers; agents get none.
	PKI *PKI
}

var (
	versionRe = regexp.MustCompile(`^v\d+\.\d+\.\d+\+k3s\d+$`)
	taintRe   = regexp.MustCompile(`^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$`)
)

// ValidVersion reports whether v looks like a k3s release (v1.31.4+k3s1).
func ValidVersion(v string) bool { return versionRe.MatchString(v) }

// ValidTaint reports whether t is key[=value]:Effect.
func ValidTaint(t string) bool { return taintRe.MatchString(t) }

// k3sConfig is rendered as /etc/rancher/k3s/config.yaml; keys are k3s' flags.
type k3sConfig struct {
	Token                string   `yaml:"token"`
	ClusterInit          bool     `yaml:"cluster-init,omitempty"`
	Server               string   `yaml:"server,omitempty"`
	NodeName             string   `yaml:"node-name"`
	NodeIP               string   `yaml:"node-ip,omitempty"`
	NodeExternalIP       string   `yaml:"node-external-ip,omitempty"`
	TLSSAN               []string `yaml:"tls-san,omitempty"`
	NodeLabel            []string `yaml:"node-label,omitempty"`
	NodeTaint            []string `yaml:"node-taint,omitempty"`
	Disable              []string `yaml:"disable,omitempty"`
	FlannelIface         string   `yaml:"flannel-iface,omitempty"`
	EtcdSnapshotSchedule string   `yaml:"etcd-snapshot-schedule-cron,omitempty"`
	WriteKubeconfigMode  string   `yaml:"write-kubeconfig-mode,omitempty"`
	SecretsEncryption    bool     `yaml:"secrets-encryption,omitempty"`
}

type writeFile struct {
	Path        string `yaml:"path"`
	Permissions string `yaml:"permissions"`
	Owner       string `yaml:"owner,omitempty"`
	Content     string `yaml:"content"`
}

type cloudConfig struct {
	Hostname   string      `yaml:"hostname"`
	WriteFiles []writeFile `yaml:"write_files"`
	RunCmd     [][]string  `yaml:"runcmd"`
}

// Validate checks a node config for what k3s would refuse.
func (c NodeConfig) Validate() error {
	var errs []error
	if c.Role != RoleServer && c.Role != RoleAgent {
		errs = append(errs, fmt.Errorf("role must be server or agent, got %q", c.Role))
	}
	if !ValidVersion(c.K3sVersion) {
		errs = append(errs, fmt.Errorf("k3s version %q is not of the form vX.Y.Z+k3sN", c.K3sVersion))
	}
	if c.Token == "" {
		errs = append(errs, errors.New("token is required"))
	}
	if c.NodeName == "" {
		errs = append(errs, errors.New("node name is required"))
	}
	switch {
	case c.Role == RoleAgent && c.ClusterInit:
		errs = append(errs, errors.New("an agent cannot initialise a cluster"))
	case c.ClusterInit && c.ServerURL != "":
		errs = append(errs, errors.New("the first server (cluster-init) must not name a server URL"))
	case !c.ClusterInit && c.ServerURL == "":
		errs = append(errs, errors.New("a joining server or agent needs the server URL"))
	}
	if c.Role == RoleServer && c.PKI == nil {
		errs = append(errs, errors.New("a server needs the cluster PKI"))
	}
	if c.Role == RoleAgent && c.PKI != nil {
		errs = append(errs, errors.New("an agent must not carry CA keys"))
	}
	for _, t := range c.Taints {
		if !ValidTaint(t) {
			errs = append(errs, fmt.Errorf("taint %q is not key[=value]:NoSchedule|PreferNoSchedule|NoExecute", t))
		}
	}
	return errors.Join(errs...)
}

// CloudInit renders the #cloud-config user data for one node. The output is
// deterministic for a given input, so Terraform sees no spurious diff.
func CloudInit(c NodeConfig) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	kc := k3sConfig{
		Token:          c.Token,
		ClusterInit:    c.ClusterInit,
		Server:         c.ServerURL,
		NodeName:       c.NodeName,
		NodeIP:         c.NodeIP,
		NodeExternalIP: c.ExternalIP,
		NodeLabel:      labelList(c.Labels),
		NodeTaint:      c.Taints,
	}
	if c.Role == RoleServer {
		kc.TLSSAN = c.TLSSANs
		kc.Disable = c.Disable
		kc.EtcdSnapshotSchedule = c.EtcdSnapshotCron
		kc.WriteKubeconfigMode = "0600"
		kc.SecretsEncryption = true
	}
	kc.FlannelIface = c.FlannelIface
	cfgYAML, err := marshal(kc)
	if err != nil {
		return "", err
	}
	files := []writeFile{{Path: ConfigPath, Permissions: "0600", Owner: "root:root", Content: cfgYAML}}
	if c.Role == RoleServer {
		p := c.PKI
		for _, f := range []struct {
			name, body string
		}{
			{"server-ca.crt", p.ServerCA.CertPEM}, {"server-ca.key", p.ServerCA.KeyPEM},
			{"client-ca.crt", p.ClientCA.CertPEM}, {"client-ca.key", p.ClientCA.KeyPEM},
			{"request-header-ca.crt", p.RequestHeaderCA.CertPEM}, {"request-header-ca.key", p.RequestHeaderCA.KeyPEM},
			{"etcd/peer-ca.crt", p.EtcdPeerCA.CertPEM}, {"etcd/peer-ca.key", p.EtcdPeerCA.KeyPEM},
			{"etcd/server-ca.crt", p.EtcdServerCA.CertPEM}, {"etcd/server-ca.key", p.EtcdServerCA.KeyPEM},
			{"service.key", p.ServiceAccountKeyPEM},
		} {
			perm := "0600"
			if strings.HasSuffix(f.name, ".crt") {
				perm = "0644"
			}
			files = append(files, writeFile{Path: TLSDir + "/" + f.name, Permissions: perm, Owner: "root:root", Content: f.body})
		}
	}
	script, err := InstallScript(c.K3sVersion, c.Role)
	if err != nil {
		return "", err
	}
	files = append(files, writeFile{Path: InstallPath, Permissions: "0700", Owner: "root:root", Content: script})

	body, err := marshal(cloudConfig{
		Hostname:   c.NodeName,
		WriteFiles: files,
		RunCmd:     [][]string{{"sh", InstallPath}},
	})
	if err != nil {
		return "", err
	}
	out := "#cloud-config\n" + body
	if len(out) > MaxUserData {
		return "", fmt.Errorf("cloud-init is %d bytes, over Hetzner's user_data limit of %d", len(out), MaxUserData)
	}
	return out, nil
}

func labelList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func marshal(v any) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return b.String(), enc.Close()
}

// ServerURL is the API URL joining nodes use for an endpoint (host or IP).
func ServerURL(endpoint string) string {
	if strings.Contains(endpoint, ":") && !strings.HasPrefix(endpoint, "[") && strings.Count(endpoint, ":") > 1 {
		endpoint = "[" + endpoint + "]"
	}
	return fmt.Sprintf("https://%s:%d", endpoint, defaultAPIPort)
}

var installTmpl = template.Must(template.New("install").Parse(`#!/bin/sh
# Installs k3s {{.Version}} as a {{.Role}}: the release binary is verified
# against the release's sha256 list before it is installed, then a systemd
# unit starts it with /etc/rancher/k3s/config.yaml.
set -eu
VERSION='{{.Version}}'
case "$(uname -m)" in
  x86_64) BIN=k3s; SUMS=sha256sum-amd64.txt ;;
  aarch64) BIN=k3s-arm64; SUMS=sha256sum-arm64.txt ;;
  *) echo "k3s-install: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
BASE="https://github.com/k3s-io/k3s/releases/download/$(echo "$VERSION" | sed 's/+/%2B/')"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for i in 1 2 3 4 5; do
  curl -fsSL --retry 3 -o "$TMP/$BIN" "$BASE/$BIN" && curl -fsSL --retry 3 -o "$TMP/$SUMS" "$BASE/$SUMS" && break
  sleep $((i * 5))
done
WANT=$(awk -v f="$BIN" '$2 == f {print $1}' "$TMP/$SUMS")
[ -n "$WANT" ] || { echo "k3s-install: $BIN missing from $SUMS" >&2; exit 1; }
echo "$WANT  $TMP/$BIN" | sha256sum -c - >/dev/null
install -m 0755 "$TMP/$BIN" /usr/local/bin/k3s
# Without a node-ip in the config, use the first private network address from
# the metadata service, so cluster traffic stays on the private network.
if ! grep -q '^node-ip:' /etc/rancher/k3s/config.yaml; then
  PRIV=$(curl -fsS --max-time 5 http://169.254.169.254/hetzner/v1/metadata/private-networks 2>/dev/null |
    awk '$1 == "-" && $2 == "ip:" {print $3; exit}')
  if [ -n "$PRIV" ]; then
    mkdir -p /etc/rancher/k3s/config.yaml.d
    printf 'node-ip: %s\n' "$PRIV" >/etc/rancher/k3s/config.yaml.d/50-node-ip.yaml
  fi
fi
for l in kubectl crictl ctr; do ln -sf /usr/local/bin/k3s "/usr/local/bin/$l"; done
cat >/etc/systemd/system/k3s.service <<'UNIT'
[Unit]
Description=Lightweight Kubernetes ({{.Role}})
Wants=network-online.target
After=network-online.target

[Service]
Type={{.UnitType}}
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/k3s {{.Role}}
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now k3s.service
`))

// InstallScript returns the shell script that installs a pinned k3s release
// with checksum verification on the host.
func InstallScript(version string, role Role) (string, error) {
	if !ValidVersion(version) {
		return "", fmt.Errorf("k3s version %q is not of the form vX.Y.Z+k3sN", version)
	}
	var b bytes.Buffer
	unitType := "notify"
	if role == RoleAgent {
		unitType = "exec"
	}
	err := installTmpl.Execute(&b, struct {
		Version  string
		Role     Role
		UnitType string
	}{version, role, unitType})
	return b.String(), err
}
