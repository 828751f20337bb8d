package sandbox

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CloudConfig is the part of a #cloud-config document the boot simulation
// reads: the files cloud-init would write and the host name it would set.
type CloudConfig struct {
	Hostname string
	FQDN     string
	// Files maps an absolute path to the decoded content cloud-init writes
	// there (later entries for the same path win, as cloud-init overwrites).
	Files map[string][]byte
	// Perms maps a path to its permissions string ("0600"), when given.
	Perms map[string]string
}

type rawCloudConfig struct {
	Hostname   string         `yaml:"hostname"`
	FQDN       string         `yaml:"fqdn"`
	WriteFiles []rawWriteFile `yaml:"write_files"`
}

type rawWriteFile struct {
	Path        string `yaml:"path"`
	Content     string `yaml:"content"`
	Encoding    string `yaml:"encoding"`
	Permissions string `yaml:"permissions"`
	Append      bool   `yaml:"append"`
}

// ErrNoUserData is returned for a server created without user data.
var ErrNoUserData = errors.New("no user data")

// ParseCloudConfig reads user data as cloud-init would. Only #cloud-config
// documents are understood (gzip-compressed user data is unpacked first, as
// cloud-init does); anything else is an error that says why no node joins.
func ParseCloudConfig(userData string) (*CloudConfig, error) {
	data := []byte(userData)
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrNoUserData
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("user data: gzip: %w", err)
		}
		if data, err = io.ReadAll(io.LimitReader(zr, 64<<20)); err != nil {
			return nil, fmt.Errorf("user data: gzip: %w", err)
		}
	}
	first, _, _ := strings.Cut(string(data), "\n")
	first = strings.TrimSpace(first)
	if first != "#cloud-config" {
		if strings.HasPrefix(first, "#!") {
			return nil, errors.New("user data is a shell script, not #cloud-config: no k3s config to read")
		}
		return nil, fmt.Errorf("user data does not start with #cloud-config (first line %q)", truncate(first, 40))
	}
	var raw rawCloudConfig
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("user data: invalid #cloud-config YAML: %w", err)
	}
	cc := &CloudConfig{Hostname: raw.Hostname, FQDN: raw.FQDN, Files: map[string][]byte{}, Perms: map[string]string{}}
	for i, f := range raw.WriteFiles {
		if f.Path == "" {
			return nil, fmt.Errorf("user data: write_files[%d] has no path", i)
		}
		content, err := decodeContent(f.Content, f.Encoding)
		if err != nil {
			return nil, fmt.Errorf("user data: write_files[%d] (%s): %w", i, f.Path, err)
		}
		if f.Append {
			content = append(append([]byte{}, cc.Files[f.Path]...), content...)
		}
		cc.Files[f.Path] = content
		if f.Permissions != "" {
			cc.Perms[f.Path] = f.Permissions
		}
	}
	return cc, nil
}

// decodeContent applies a write_files encoding the way cloud-init does.
func decodeContent(content, encoding string) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "text/plain":
		return []byte(content), nil
	case "b64", "base64":
		return decodeB64(content)
	case "gz", "gzip", "application/x-gzip":
		return gunzip([]byte(content))
	case "gz+base64", "gzip+base64", "gz+b64", "gzip+b64":
		b, err := decodeB64(content)
		if err != nil {
			return nil, err
		}
		return gunzip(b)
	default:
		return nil, fmt.Errorf("unknown encoding %q", encoding)
	}
}

func decodeB64(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("base64: %w", err)
	}
	return b, nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return out, nil
}

// FilesUnder lists the written paths below dir (lexically sorted).
func (cc *CloudConfig) FilesUnder(dir string) []string {
	dir = strings.TrimSuffix(dir, "/") + "/"
	var out []string
	for p := range cc.Files {
		if strings.HasPrefix(p, dir) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
