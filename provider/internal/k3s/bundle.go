package k3s

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Bundle is what a server needs from its cluster: the server token, the agent
// token and the CAs with their keys. platform_k3s_cluster exports it as one
// sensitive string so that modules pass a single value to every server.
type Bundle struct {
	Version int    `json:"version"`
	Cluster string `json:"cluster"`
	Token   string `json:"token"`
	// AgentToken is what servers accept from agents (k3s `agent-token`).
	// Empty in bundles of clusters created before agents had a token of
	// their own: their servers accept agents with the server token only.
	AgentToken           string  `json:"agent_token,omitempty"`
	ServerCA             KeyPair `json:"server_ca"`
	ClientCA             KeyPair `json:"client_ca"`
	RequestHeaderCA      KeyPair `json:"request_header_ca"`
	EtcdPeerCA           KeyPair `json:"etcd_peer_ca"`
	EtcdServerCA         KeyPair `json:"etcd_server_ca"`
	ServiceAccountKeyPEM string  `json:"service_account_key"`
}

const bundleVersion = 1

// NewBundle packs a cluster's tokens and PKI (without the admin certificate).
func NewBundle(cluster, token, agentToken string, p *PKI) Bundle {
	return Bundle{Version: bundleVersion, Cluster: cluster, Token: token, AgentToken: agentToken,
		ServerCA: p.ServerCA, ClientCA: p.ClientCA, RequestHeaderCA: p.RequestHeaderCA,
		EtcdPeerCA: p.EtcdPeerCA, EtcdServerCA: p.EtcdServerCA, ServiceAccountKeyPEM: p.ServiceAccountKeyPEM}
}

// Encode returns the bundle as JSON.
func (b Bundle) Encode() (string, error) {
	out, err := json.Marshal(b)
	return string(out), err
}

// DecodeBundle parses and checks a bundle.
func DecodeBundle(s string) (Bundle, error) {
	var b Bundle
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		return b, errors.New("cluster bundle is not the server_bundle of a platform_k3s_cluster")
	}
	if b.Version != bundleVersion {
		return b, fmt.Errorf("cluster bundle version %d is not supported (want %d)", b.Version, bundleVersion)
	}
	for name, kp := range map[string]KeyPair{"server": b.ServerCA, "client": b.ClientCA, "request-header": b.RequestHeaderCA,
		"etcd-peer": b.EtcdPeerCA, "etcd-server": b.EtcdServerCA} {
		if _, _, err := ParseKeyPair(kp); err != nil {
			return b, fmt.Errorf("cluster bundle: %s CA: %w", name, err)
		}
	}
	if b.Token == "" || b.ServiceAccountKeyPEM == "" {
		return b, errors.New("cluster bundle lacks the token or the service-account key")
	}
	if b.AgentToken != "" && (b.AgentToken == b.Token || IsServerToken(b.AgentToken)) {
		return b, errors.New("cluster bundle: the agent token is a server token")
	}
	return b, nil
}

// PKI returns the bundle's CAs as a PKI (without an admin certificate).
func (b Bundle) PKI() *PKI {
	return &PKI{ServerCA: b.ServerCA, ClientCA: b.ClientCA, RequestHeaderCA: b.RequestHeaderCA,
		EtcdPeerCA: b.EtcdPeerCA, EtcdServerCA: b.EtcdServerCA, ServiceAccountKeyPEM: b.ServiceAccountKeyPEM}
}
