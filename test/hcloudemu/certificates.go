package hcloudemu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// Certificate is a stored TLS certificate: uploaded (PEM chain and key) or
// managed (issued for domain names; the emulator signs it itself).
type Certificate struct {
	base
	Type           string    `json:"type"`
	PEM            string    `json:"certificate"`
	DomainNames    []string  `json:"domain_names"`
	NotValidBefore time.Time `json:"not_valid_before"`
	NotValidAfter  time.Time `json:"not_valid_after"`
	Fingerprint    string    `json:"fingerprint"`
}

var certificateKind = newKind("certificate", "certificates", func(p *Project) map[int64]*Certificate { return p.Certificates },
	(*reqCtx).renderCertificate, func(l Limits) int { return l.Certificates }).
	filterBy("type", func(c *Certificate) string { return c.Type })

func (c *reqCtx) renderCertificate(cert *Certificate) schema.Certificate {
	out := schema.Certificate{ID: cert.ID, Name: cert.Name, Labels: copyLabels(cert.Labels), Type: cert.Type,
		Certificate: cert.PEM, Created: cert.Created, NotValidBefore: cert.NotValidBefore, NotValidAfter: cert.NotValidAfter,
		DomainNames: append([]string{}, cert.DomainNames...), Fingerprint: cert.Fingerprint, UsedBy: []schema.CertificateUsedByRef{}}
	if cert.Type == "managed" {
		out.Status = &schema.CertificateStatusRef{Issuance: "completed", Renewal: "unavailable"}
	}
	for _, id := range sortedKeys(c.p.LoadBalancers) {
		if lbUsesCertificate(c.p.LoadBalancers[id], cert.ID) {
			out.UsedBy = append(out.UsedBy, schema.CertificateUsedByRef{ID: id, Type: "load_balancer"})
		}
	}
	return out
}

func lbUsesCertificate(lb *LoadBalancer, id int64) bool {
	for _, svc := range lb.Services {
		if svc.HTTP != nil && containsID(svc.HTTP.Certificates, id) {
			return true
		}
	}
	return false
}

func registerCertificates(h func(string, apiHandler)) {
	certificateKind.routes(h, endpoints[*Certificate]{create: create(certificateKind, createCertificate),
		delete: certificateKind.remove(certificateUnused)}, on("retry", retryCertificate))
}

func retryCertificate(c *reqCtx, cert *Certificate, _ *struct{}) (*Action, *APIError) {
	if cert.Type != "managed" {
		return nil, newErr("unsupported_error", "certificate %d is not managed", cert.ID)
	}
	return c.newAction("issue_certificate", certificateKind.ref(cert)), nil
}

func createCertificate(c *reqCtx, req *schema.CertificateCreateRequest) (int, any, *APIError) {
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	cert := &Certificate{base: base{Name: req.Name, Created: c.now, Labels: labelsOrEmpty(req.Labels)}}
	switch req.Type {
	case "", "uploaded":
		cert.Type = "uploaded"
		if err := parseUploaded(cert, req.Certificate, req.PrivateKey); err != nil {
			return 0, nil, err
		}
	case "managed":
		cert.Type = "managed"
		if err := issueManaged(cert, req.DomainNames, c.now); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, errInvalid("type", "must be uploaded or managed")
	}
	if err := certificateKind.checkNew(c, req.Name); err != nil {
		return 0, nil, err
	}
	certificateKind.add(c, cert)
	body := map[string]any{"certificate": c.renderCertificate(cert)}
	if cert.Type == "managed" {
		body["action"] = renderAction(c.newAction("create_certificate", certificateKind.ref(cert)), c.now)
	}
	return http.StatusCreated, body, nil
}

// parseUploaded checks an uploaded chain and key belong together and takes
// names, validity and fingerprint from the leaf.
func parseUploaded(cert *Certificate, chain, key string) *APIError {
	if strings.TrimSpace(chain) == "" {
		return errInvalid("certificate", "is required")
	}
	if strings.TrimSpace(key) == "" {
		return errInvalid("private_key", "is required")
	}
	pair, err := tls.X509KeyPair([]byte(chain), []byte(key))
	if err != nil {
		return errInvalid("certificate", "certificate and private key do not form a valid pair: "+err.Error())
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return errInvalid("certificate", "invalid certificate: "+err.Error())
	}
	fillFromLeaf(cert, leaf, pair.Certificate[0])
	cert.PEM = chain
	return nil
}

func fillFromLeaf(cert *Certificate, leaf *x509.Certificate, der []byte) {
	names := append([]string{}, leaf.DNSNames...)
	if len(names) == 0 && leaf.Subject.CommonName != "" {
		names = []string{leaf.Subject.CommonName}
	}
	cert.DomainNames = names
	cert.NotValidBefore, cert.NotValidAfter = leaf.NotBefore.UTC(), leaf.NotAfter.UTC()
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	cert.Fingerprint = strings.Join(parts, ":")
}

// issueManaged signs a 90-day certificate for the domain names, as the
// issuer of a managed certificate would.
func issueManaged(cert *Certificate, domains []string, now time.Time) *APIError {
	if len(domains) == 0 {
		return errInvalid("domain_names", "at least one domain name is required for managed certificates")
	}
	for _, d := range domains {
		if !hostnameRe.MatchString(strings.TrimPrefix(d, "*.")) {
			return errInvalid("domain_names", fmt.Sprintf("%q is not a valid domain name", d))
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return newErr("server_error", "issuing certificate: %v", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: domains[0]}, DNSNames: domains,
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(90 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return newErr("server_error", "issuing certificate: %v", err)
	}
	leaf, _ := x509.ParseCertificate(der)
	fillFromLeaf(cert, leaf, der)
	cert.PEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return nil
}

// certificateUnused lets only a certificate no load balancer uses be
// deleted.
func certificateUnused(c *reqCtx, cert *Certificate) *APIError {
	for _, id := range sortedKeys(c.p.LoadBalancers) {
		if lbUsesCertificate(c.p.LoadBalancers[id], cert.ID) {
			return newErr("resource_in_use", "certificate %d is used by load balancer %d", cert.ID, id)
		}
	}
	return nil
}
