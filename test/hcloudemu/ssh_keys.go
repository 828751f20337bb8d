package hcloudemu

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

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

func registerSSHKeys(h func(string, apiHandler)) {
	h("GET /v1/ssh_keys", func(c *reqCtx) (int, any, *APIError) {
		q := c.r.URL.Query()
		fp := q.Get("fingerprint")
		items := make([]*SSHKey, 0, len(c.p.SSHKeys))
		for _, k := range c.p.SSHKeys {
			if fp != "" && k.Fingerprint != fp {
				continue
			}
			items = append(items, k)
		}
		page, meta, err := paginate(q, items, listKeys[*SSHKey]{
			id: func(k *SSHKey) int64 { return k.ID }, name: func(k *SSHKey) string { return k.Name },
			labels: func(k *SSHKey) map[string]string { return k.Labels }, created: func(k *SSHKey) time.Time { return k.Created },
		})
		if err != nil {
			return 0, nil, err
		}
		out := make([]schema.SSHKey, 0, len(page))
		for _, k := range page {
			out = append(out, renderSSHKey(k))
		}
		return http.StatusOK, listResponse("ssh_keys", out, meta), nil
	})
	h("POST /v1/ssh_keys", func(c *reqCtx) (int, any, *APIError) {
		var req schema.SSHKeyCreateRequest
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		if err := validateName(req.Name, false); err != nil {
			return 0, nil, err
		}
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
		if c.nameTaken("ssh_key", req.Name, 0) {
			return 0, nil, errUnique("name")
		}
		for _, k := range c.p.SSHKeys {
			if k.Fingerprint == fp {
				return 0, nil, errUnique("public_key")
			}
		}
		if len(c.p.SSHKeys) >= c.p.Limits.SSHKeys {
			return 0, nil, newErr("resource_limit_exceeded", "ssh key limit of %d reached", c.p.Limits.SSHKeys)
		}
		k := &SSHKey{ID: c.e.st.nextID("ssh_key"), Name: req.Name, Created: c.now, PublicKey: strings.TrimSpace(req.PublicKey),
			Fingerprint: fp, Labels: labelsOrEmpty(req.Labels)}
		c.p.SSHKeys[k.ID] = k
		return http.StatusCreated, map[string]any{"ssh_key": renderSSHKey(k)}, nil
	})
	get := func(c *reqCtx) (*SSHKey, *APIError) {
		id, err := c.pathID()
		if err != nil {
			return nil, err
		}
		k := c.p.SSHKeys[id]
		if k == nil {
			return nil, errNotFound("ssh_key", id)
		}
		return k, nil
	}
	h("GET /v1/ssh_keys/{id}", func(c *reqCtx) (int, any, *APIError) {
		k, err := get(c)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"ssh_key": renderSSHKey(k)}, nil
	})
	h("PUT /v1/ssh_keys/{id}", func(c *reqCtx) (int, any, *APIError) {
		k, err := get(c)
		if err != nil {
			return 0, nil, err
		}
		var req schema.SSHKeyUpdateRequest
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		if req.Name != "" {
			if err := validateName(req.Name, false); err != nil {
				return 0, nil, err
			}
			if c.nameTaken("ssh_key", req.Name, k.ID) {
				return 0, nil, errUnique("name")
			}
		}
		if err := validateLabels(req.Labels); err != nil {
			return 0, nil, err
		}
		if req.Name != "" {
			k.Name = req.Name
		}
		if req.Labels != nil {
			k.Labels = labelsOrEmpty(req.Labels)
		}
		return http.StatusOK, map[string]any{"ssh_key": renderSSHKey(k)}, nil
	})
	h("DELETE /v1/ssh_keys/{id}", func(c *reqCtx) (int, any, *APIError) {
		k, err := get(c)
		if err != nil {
			return 0, nil, err
		}
		delete(c.p.SSHKeys, k.ID)
		return http.StatusNoContent, nil, nil
	})
}
