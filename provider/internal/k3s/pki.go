// Package k3s holds everything the provider knows about k3s itself: the
// cluster PKI and token it generates, the cloud-init that configures a node,
// and the admin kubeconfig. It is pure: no network, no cloud API.
package k3s

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// KeyPair is a PEM certificate and its PEM private key.
type KeyPair struct {
	CertPEM string
	KeyPEM  string
}

// PKI is the material k3s would otherwise generate on its first server. Made
// by the provider, it lets Terraform render a kubeconfig without reading
// anything back from a node.
type PKI struct {
	ServerCA        KeyPair // signs the API server's serving certificates
	ClientCA        KeyPair // signs client certificates (admin, kubelets)
	RequestHeaderCA KeyPair // front-proxy / aggregation layer
	EtcdPeerCA      KeyPair
	EtcdServerCA    KeyPair
	// ServiceAccountKeyPEM signs service account tokens (k3s' service.key).
	ServiceAccountKeyPEM string
	// Admin is a client certificate in group system:masters, signed by ClientCA.
	Admin KeyPair
}

// PKIOptions controls the generated material.
type PKIOptions struct {
	ClusterName   string
	CAValidity    time.Duration
	AdminValidity time.Duration
	Now           time.Time
}

// CA common names follow k3s' own ("k3s-server-ca@<unix time>").
var caNames = []struct {
	field func(*PKI) *KeyPair
	cn    string
}{
	{func(p *PKI) *KeyPair { return &p.ServerCA }, "k3s-server-ca"},
	{func(p *PKI) *KeyPair { return &p.ClientCA }, "k3s-client-ca"},
	{func(p *PKI) *KeyPair { return &p.RequestHeaderCA }, "k3s-request-header-ca"},
	{func(p *PKI) *KeyPair { return &p.EtcdPeerCA }, "etcd-peer-ca"},
	{func(p *PKI) *KeyPair { return &p.EtcdServerCA }, "etcd-server-ca"},
}

// GeneratePKI creates every CA k3s uses, the service-account key and an admin
// client certificate. All keys are ECDSA P-256.
func GeneratePKI(o PKIOptions) (*PKI, error) {
	if o.CAValidity <= 0 || o.AdminValidity <= 0 {
		return nil, errors.New("validity must be positive")
	}
	if o.AdminValidity > o.CAValidity {
		return nil, errors.New("admin certificate validity cannot exceed the CA validity")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	p := &PKI{}
	var clientCAKey *ecdsa.PrivateKey
	var clientCACert *x509.Certificate
	for _, c := range caNames {
		cert, key, kp, err := newCA(fmt.Sprintf("%s@%d", c.cn, o.Now.Unix()), o.ClusterName, o.Now, o.CAValidity)
		if err != nil {
			return nil, err
		}
		*c.field(p) = kp
		if c.cn == "k3s-client-ca" {
			clientCAKey, clientCACert = key, cert
		}
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if p.ServiceAccountKeyPEM, err = encodeKey(saKey); err != nil {
		return nil, err
	}
	p.Admin, err = SignClient(clientCACert, clientCAKey, "system:admin", []string{"system:masters"}, o.Now, o.AdminValidity)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func newCA(cn, cluster string, now time.Time, validity time.Duration) (*x509.Certificate, *ecdsa.PrivateKey, KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, KeyPair{}, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, KeyPair{}, err
	}
	subject := pkix.Name{CommonName: cn}
	if cluster != "" {
		subject.OrganizationalUnit = []string{cluster}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               subject,
		NotBefore:             now.Add(-time.Minute).UTC(),
		NotAfter:              now.Add(validity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, KeyPair{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, KeyPair{}, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, nil, KeyPair{}, err
	}
	return cert, key, KeyPair{CertPEM: encodeCert(der), KeyPEM: keyPEM}, nil
}

// SignClient issues a client certificate (ExtKeyUsage clientAuth) from a CA.
func SignClient(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, orgs []string, now time.Time, validity time.Duration) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	sn, err := serial()
	if err != nil {
		return KeyPair{}, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Minute).UTC(),
		NotAfter:     notAfter.UTC(),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return KeyPair{}, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{CertPEM: encodeCert(der), KeyPEM: keyPEM}, nil
}

func encodeCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func encodeKey(key *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), nil
}

// ParseKeyPair decodes a PEM certificate and its ECDSA key.
func ParseKeyPair(kp KeyPair) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode([]byte(kp.CertPEM))
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode([]byte(kp.KeyPEM))
	if kb == nil {
		return nil, nil, errors.New("no PEM private key")
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// NewToken returns a k3s "secure" server token: K10<sha256 of the server CA
// bundle>::server:<secret>. Joining nodes use the hash to pin the server CA.
// It lets its holder join as a server (and read the cluster's bootstrap
// data, CA keys included), so only servers get it.
func NewToken(serverCACertPEM string) (string, error) {
	return newSecureToken(serverCACertPEM, TokenUserServer)
}

// NewAgentToken returns a k3s secure agent token: K10<hash>::node:<secret>.
// Servers take it as `agent-token`, agents as `token`; it lets its holder
// join as an agent only.
func NewAgentToken(serverCACertPEM string) (string, error) {
	return newSecureToken(serverCACertPEM, TokenUserNode)
}

// Token users: k3s names the server token's user "server" and the agent
// token's "node".
const (
	TokenUserServer = "server"
	TokenUserNode   = "node"
)

func newSecureToken(serverCACertPEM, user string) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecureToken(serverCACertPEM, user, hex.EncodeToString(b)), nil
}

// TokenWithSecret builds the secure server token for a given secret.
func TokenWithSecret(serverCACertPEM, secret string) string {
	return SecureToken(serverCACertPEM, TokenUserServer, secret)
}

// SecureToken builds K10<sha256 of the server CA>::<user>:<secret>.
func SecureToken(serverCACertPEM, user, secret string) string {
	sum := sha256.Sum256([]byte(serverCACertPEM))
	return "K10" + hex.EncodeToString(sum[:]) + "::" + user + ":" + secret
}

// IsServerToken reports whether t is a secure token of the server user: the
// token that lets a node join as a server. Agents must never hold one.
func IsServerToken(t string) bool {
	_, rest, ok := strings.Cut(t, "::")
	return strings.HasPrefix(t, "K10") && ok && strings.HasPrefix(rest, TokenUserServer+":")
}
