package k3s

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

// Paths k3s reads. The CA files at these paths make k3s use our CAs instead of
// generating its own ("custom CA certificates" in the k3s docs).
const (
	ConfigPath  = "/etc/rancher/k3s/config.yaml"
	TLSDir      = "/var/lib/rancher/k3s/server/tls"
	InstallPath = "/usr/local/bin/k3s-install.sh"
	// GuardPath and GuardUnitPath install the metadata guard: pods must not
	// reach the metadata service, which serves the node's user data (and so
	// its token and, on servers, the CA keys) to any process that asks.
	GuardPath     = "/usr/local/sbin/k3s-metadata-guard"
	GuardUnitPath = "/etc/systemd/system/k3s-metadata-guard.service"
	// MetadataAddr is Hetzner's metadata service.
	MetadataAddr   = "169.254.169.254"
	defaultAPIPort = 6443
	// MaxUserData is Hetzner Cloud's limit on a server's user_data.
	MaxUserData = 32 * 1024
)

// Role is server (control plane + etcd) or agent.
type Role string

// The two roles.
const (
	RoleServer Role = "server"
	RoleAgent  Role = "agent"
)

// NodeConfig is what one node's cloud-init carries.
type NodeConfig struct {
	Role       Role
	K3sVersion string
	// Token is k3s' `token`: the server token on servers, the agent token on
	// agents.
	Token string
	// AgentToken is what servers accept from agents (`agent-token`); servers
	// only. Empty on servers of clusters created before agents had a token
	// of their own.
	AgentToken string
	// ClusterInit marks the first server: it starts a new embedded etcd.
	ClusterInit bool
	// ServerURL is the API of an existing server (or the API load balancer);
	// required for joining servers and for agents.
	ServerURL string
	// NodeName is k3s' node-name and the host name. An agent may leave it
	// empty: its cloud-init then sets neither, and k3s takes the host name
	// Hetzner's cloud-init gives the machine (the server name). That is how
	// agents created by the cluster autoscaler, whose names it picks, share
	// one cloud-init.
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
	// EtcdSnapshotRetention is how many snapshots each server keeps (on
	// disk and, with EtcdS3, in the bucket); 0 = k3s' default (5).
	EtcdSnapshotRetention int
	// EtcdS3 uploads the snapshots to S3-compatible storage (servers only).
	EtcdS3 *EtcdS3
	// ExternalCloudProvider hands the node to an external cloud controller
	// (the Hetzner cloud-controller-manager): kubelets run with
	// cloud-provider=external, and servers turn off k3s' own cloud
	// controller and ServiceLB, which would otherwise compete with it.
	ExternalCloudProvider bool
	// WithoutMetadataGuard renders the cloud-init of nodes created before the
	// metadata guard existed, byte for byte, so their configuration hash (and
	// so the servers) stay. Every new node gets the guard.
	WithoutMetadataGuard bool
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
	Token                  string   `yaml:"token"`
	AgentToken             string   `yaml:"agent-token,omitempty"`
	ClusterInit            bool     `yaml:"cluster-init,omitempty"`
	Server                 string   `yaml:"server,omitempty"`
	NodeName               string   `yaml:"node-name,omitempty"`
	NodeIP                 string   `yaml:"node-ip,omitempty"`
	NodeExternalIP         string   `yaml:"node-external-ip,omitempty"`
	TLSSAN                 []string `yaml:"tls-san,omitempty"`
	NodeLabel              []string `yaml:"node-label,omitempty"`
	NodeTaint              []string `yaml:"node-taint,omitempty"`
	Disable                []string `yaml:"disable,omitempty"`
	DisableCloudController bool     `yaml:"disable-cloud-controller,omitempty"`
	KubeletArg             []string `yaml:"kubelet-arg,omitempty"`
	FlannelIface           string   `yaml:"flannel-iface,omitempty"`
	EtcdSnapshotSchedule   string   `yaml:"etcd-snapshot-schedule-cron,omitempty"`
	EtcdSnapshotRetention  int      `yaml:"etcd-snapshot-retention,omitempty"`
	WriteKubeconfigMode    string   `yaml:"write-kubeconfig-mode,omitempty"`
	SecretsEncryption      bool     `yaml:"secrets-encryption,omitempty"`
	// etcd-s3 and etcd-s3-* (servers with EtcdS3).
	etcdS3Config `yaml:",inline"`
}

// KubeletArgExternalCloud is the kubelet flag (k3s `kubelet-arg`) that leaves
// node initialisation to an external cloud controller.
const KubeletArgExternalCloud = "cloud-provider=external"

type writeFile struct {
	Path        string `yaml:"path"`
	Permissions string `yaml:"permissions"`
	Owner       string `yaml:"owner,omitempty"`
	Content     string `yaml:"content"`
}

type cloudConfig struct {
	Hostname   string      `yaml:"hostname,omitempty"`
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
	if c.NodeName == "" && c.Role != RoleAgent {
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
	if c.Role == RoleAgent && c.AgentToken != "" {
		errs = append(errs, errors.New("agent-token is a server setting: an agent takes the agent token as its token"))
	}
	if c.Role == RoleServer && c.AgentToken != "" && (c.AgentToken == c.Token || IsServerToken(c.AgentToken)) {
		errs = append(errs, errors.New("the agent token must differ from the server token"))
	}
	if c.Role == RoleAgent && (c.EtcdS3 != nil || c.EtcdSnapshotRetention != 0 || c.EtcdSnapshotCron != "") {
		errs = append(errs, errors.New("etcd snapshots are a server setting: agents run no etcd"))
	}
	if c.EtcdSnapshotRetention < 0 || c.EtcdSnapshotRetention > MaxSnapshotRetention {
		errs = append(errs, fmt.Errorf("etcd snapshot retention must be between 1 and %d, got %d", MaxSnapshotRetention, c.EtcdSnapshotRetention))
	}
	if c.EtcdS3 != nil {
		if err := c.EtcdS3.Validate(); err != nil {
			errs = append(errs, err)
		}
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
	if c.ExternalCloudProvider {
		kc.KubeletArg = []string{KubeletArgExternalCloud}
	}
	if c.Role == RoleServer {
		kc.AgentToken = c.AgentToken
		kc.TLSSAN = c.TLSSANs
		kc.Disable = c.Disable
		if c.ExternalCloudProvider {
			kc.DisableCloudController = true
			if !slices.Contains(kc.Disable, "servicelb") {
				kc.Disable = append(slices.Clone(kc.Disable), "servicelb")
			}
		}
		kc.EtcdSnapshotSchedule = c.EtcdSnapshotCron
		kc.EtcdSnapshotRetention = c.EtcdSnapshotRetention
		kc.etcdS3Config = c.EtcdS3.config()
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
	guard := !c.WithoutMetadataGuard
	script, err := installScript(c.K3sVersion, c.Role, guard)
	if err != nil {
		return "", err
	}
	runcmd := [][]string{{"sh", InstallPath}}
	if guard {
		// The guard runs first: k3s starts only once pods cannot reach the
		// metadata service (and on later boots its unit runs before k3s').
		files = append(files,
			writeFile{Path: GuardPath, Permissions: "0700", Owner: "root:root", Content: guardScript},
			writeFile{Path: GuardUnitPath, Permissions: "0644", Owner: "root:root", Content: guardUnit})
		runcmd = append([][]string{{"sh", GuardPath}}, runcmd...)
	}
	files = append(files, writeFile{Path: InstallPath, Permissions: "0700", Owner: "root:root", Content: script})

	body, err := marshal(cloudConfig{
		Hostname:   c.NodeName,
		WriteFiles: files,
		RunCmd:     runcmd,
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

// guardScript drops every packet to the metadata service that enters the
// host through PREROUTING: pod traffic (containers have their own network
// namespace), never the host's own requests, which leave through OUTPUT (the
// install script, cloud-init, hostNetwork pods). A DROP in the raw table
// (or a table of its own under nft) is final, whatever k3s, flannel and
// kube-proxy accept in their own chains.
const guardScript = `#!/bin/sh
# Keeps pods away from the metadata service (` + MetadataAddr + `): it serves
# this server's user data, which holds the k3s token (and, on servers, the
# cluster's CA keys), to any process that can reach it. Idempotent. Without
# iptables or nft it fails, and k3s (which requires it) does not start.
set -eu
if command -v iptables >/dev/null 2>&1; then
  iptables -t raw -C PREROUTING -d ` + MetadataAddr + `/32 -j DROP 2>/dev/null ||
    iptables -t raw -I PREROUTING 1 -d ` + MetadataAddr + `/32 -j DROP
elif command -v nft >/dev/null 2>&1; then
  nft list table ip k3s_metadata_guard >/dev/null 2>&1 || nft -f - <<'NFT'
table ip k3s_metadata_guard {
  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
    ip daddr ` + MetadataAddr + ` drop
  }
}
NFT
else
  echo "k3s-metadata-guard: neither iptables nor nft is installed; k3s stays stopped" >&2
  exit 1
fi
`

// guardUnit reinstalls the guard on every boot, before k3s (whose unit
// requires it).
const guardUnit = `[Unit]
Description=Block pod access to the metadata service (user data holds cluster credentials)
Before=k3s.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh ` + GuardPath + `

[Install]
WantedBy=multi-user.target
`

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
{{- if .Guard}}
After=network-online.target k3s-metadata-guard.service
Requires=k3s-metadata-guard.service
{{- else}}
After=network-online.target
{{- end}}

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
{{- if .Guard}}
systemctl enable --now k3s-metadata-guard.service
{{- end}}
systemctl enable --now k3s.service
`))

// InstallScript returns the shell script that installs a pinned k3s release
// with checksum verification on the host, under a unit that requires the
// metadata guard.
func InstallScript(version string, role Role) (string, error) {
	return installScript(version, role, true)
}

func installScript(version string, role Role, guard bool) (string, error) {
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
		Guard    bool
	}{version, role, unitType, guard})
	return b.String(), err
}
