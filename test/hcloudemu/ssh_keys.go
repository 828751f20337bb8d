package hcloudemu

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// Fingerprint computes Hetzner's SSH key fingerprint: MD5 over the
// base64-decoded key blob, as colon-separated hex.
func Fingerprint(publicKey string) (string, error) {
	fields := strings.Fields(publicKey)
	if len(fields) < 2 {
		return "", fmt.Errorf("public key must be '<type> <base64> [comment]'")
	}
	typ := fields[0]
	switch typ {
	case "ssh-rsa", "ssh-ed25519", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
		"sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com":
	default:
		return "", fmt.Errorf("unsupported key type %q", typ)
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return "", fmt.Errorf("key data is not valid base64")
	}
	// The blob starts with the length-prefixed key type.
	if len(blob) < 4 {
		return "", fmt.Errorf("key data too short")
	}
	n := int(blob[0])<<24 | int(blob[1])<<16 | int(blob[2])<<8 | int(blob[3])
	if n != len(typ) || len(blob) < 4+n || string(blob[4:4+n]) != typ {
		return "", fmt.Errorf("key data does not match key type %s", typ)
	}
	sum := md5.Sum(blob)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(parts, ":"), nil
}

func renderSSHKey(k *SSHKey) schema.SSHKey {
	return schema.SSHKey{ID: k.ID, Name: k.Name, Fingerprint: k.Fingerprint, PublicKey: k.PublicKey,
		Labels: copyLabels(k.Labels), Created: k.Created}
}

func (c *reqCtx) sshKeyByIDOrName(v schema.IDOrName) *SSHKey {
	if v.ID != 0 {
		return c.p.SSHKeys[v.ID]
	}
	for _, k := range c.p.SSHKeys {
		if k.Name == v.Name {
			return k
		}
	}
	return nil
}

var sshKeyKind = newKind("ssh_key", "ssh_keys", func(p *Project) map[int64]*SSHKey { return p.SSHKeys },
	func(_ *reqCtx, k *SSHKey) schema.SSHKey { return renderSSHKey(k) }, func(l Limits) int { return l.SSHKeys }).
	filterBy("fingerprint", func(k *SSHKey) string { return k.Fingerprint }).withoutActions()

func registerSSHKeys(h func(string, apiHandler)) {
	sshKeyKind.routes(h, endpoints[*SSHKey]{create: create(sshKeyKind, createSSHKey), delete: sshKeyKind.remove(nil)})
}

func createSSHKey(c *reqCtx, req *schema.SSHKeyCreateRequest) (int, any, *APIError) {
	if strings.TrimSpace(req.PublicKey) == "" {
		return 0, nil, errInvalid("public_key", "is required")
	}
	fp, ferr := Fingerprint(req.PublicKey)
	if ferr != nil {
		return 0, nil, errInvalid("public_key", ferr.Error())
	}
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	if err := sshKeyKind.unique(c.p, req.Name, 0); err != nil {
		return 0, nil, err
	}
	for _, k := range c.p.SSHKeys {
		if k.Fingerprint == fp {
			return 0, nil, errUnique("public_key")
		}
	}
	if err := sshKeyKind.checkLimit(c); err != nil {
		return 0, nil, err
	}
	k := &SSHKey{base: base{Name: req.Name, Created: c.now, Labels: labelsOrEmpty(req.Labels)},
		PublicKey: strings.TrimSpace(req.PublicKey), Fingerprint: fp}
	sshKeyKind.add(c, k)
	return http.StatusCreated, map[string]any{"ssh_key": renderSSHKey(k)}, nil
}
