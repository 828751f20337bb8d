// Package oci builds the sandbox's container images in Go and serves them
// from a small read-only OCI registry backed by a directory.
//
// The registry answers pulls (the distribution API's /v2/ ping, manifests by
// tag or digest, blobs, tags/list) for any upstream host: a containerd mirror
// configured in hosts.toml passes the original registry as the `ns` query
// parameter (`/v2/sre-platform/backend/manifests/dev?ns=ghcr.io`), and the
// registry keeps that host in its keys, so registry.k8s.io/pause and
// docker.io/library/pause never collide. Without `ns` the host is docker.io.
// Images are written in Go with (*Registry).Put; the HTTP side never accepts
// a push.
//
// On disk (dir):
//
//	blobs/sha256/<hex>                          content-addressed manifests, configs, layers
//	repositories/<host>/<repo>/_tags/<tag>      digest of the manifest the tag points to
//	repositories/<host>/<repo>/_manifests/<hex> marker: the manifest belongs to the repository
//	repositories/<host>/<repo>/_blobs/<hex>     marker: the blob belongs to the repository
//
// Every file is written to a temporary name in the same directory tree and
// renamed into place, so a concurrent reader sees a whole blob or none.
package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultHost is the upstream registry assumed when a request carries no ns.
const DefaultHost = "docker.io"

// Registry is a directory of images served read-only over the OCI
// distribution API.
type Registry struct {
	dir string
}

// OpenRegistry opens (creating if needed) the registry stored under dir.
func OpenRegistry(dir string) (*Registry, error) {
	if dir == "" {
		return nil, errors.New("oci: registry directory must not be empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("oci: registry directory %q: %w", dir, err)
	}
	for _, sub := range []string{"blobs/sha256", "repositories", "tmp"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, fmt.Errorf("oci: open registry: %w", err)
		}
	}
	return &Registry{dir: abs}, nil
}

// Dir is the registry's storage directory.
func (r *Registry) Dir() string { return r.dir }

var (
	// The distribution spec's repository name grammar.
	repoRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*$`)
	tagRE  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	// A registry host with an optional port (lower case, as containerd sends it).
	hostRE   = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$`)
	digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// normalizeHost maps Docker Hub's aliases to docker.io, as containerd names it.
func normalizeHost(host string) (string, error) {
	if host == "" {
		return DefaultHost, nil
	}
	host = strings.ToLower(host)
	if !hostRE.MatchString(host) {
		return "", fmt.Errorf("invalid registry host %q", host)
	}
	switch host {
	case "index.docker.io", "registry-1.docker.io":
		return DefaultHost, nil
	}
	return host, nil
}

// repoDir is the directory of host/repo, after validating both.
func (r *Registry) repoDir(host, repo string) (string, error) {
	h, err := normalizeHost(host)
	if err != nil {
		return "", err
	}
	if len(repo) > 255 || !repoRE.MatchString(repo) {
		return "", fmt.Errorf("invalid repository name %q", repo)
	}
	return filepath.Join(r.dir, "repositories", h, filepath.FromSlash(repo)), nil
}

func (r *Registry) blobPath(h v1.Hash) string {
	return filepath.Join(r.dir, "blobs", h.Algorithm, h.Hex)
}

// ParseRef splits an image reference such as ghcr.io/sre-platform/backend:dev
// into the registry host (docker.io for Docker Hub), repository and tag. A
// reference without a tag means "latest"; digests are refused, a Put needs a tag.
func ParseRef(ref string) (host, repo, tag string, err error) {
	t, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		// StrictValidation refuses an implicit tag; accept it as latest.
		t, err = name.NewTag(ref)
		if err != nil {
			return "", "", "", fmt.Errorf("oci: image reference %q: %w", ref, err)
		}
	}
	host, err = normalizeHost(t.RegistryStr())
	if err != nil {
		return "", "", "", fmt.Errorf("oci: image reference %q: %w", ref, err)
	}
	return host, t.RepositoryStr(), t.TagStr(), nil
}

// Put stores img under ref (host/repository:tag). Blobs already present are
// not written again; the tag moves last, so a reader resolving the tag finds
// every blob it names.
func (r *Registry) Put(ref string, img v1.Image) error {
	host, repo, tag, err := ParseRef(ref)
	if err != nil {
		return err
	}
	rd, err := r.repoDir(host, repo)
	if err != nil {
		return fmt.Errorf("oci: put %s: %w", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("oci: put %s: layers: %w", ref, err)
	}
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return fmt.Errorf("oci: put %s: layer %d: %w", ref, i, err)
		}
		if err := r.writeBlob(d, func() (io.ReadCloser, error) { return l.Compressed() }); err != nil {
			return fmt.Errorf("oci: put %s: layer %d: %w", ref, i, err)
		}
		if err := r.link(filepath.Join(rd, "_blobs", d.Hex)); err != nil {
			return err
		}
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("oci: put %s: config: %w", ref, err)
	}
	cfgDigest, err := r.writeBytes(cfg)
	if err != nil {
		return fmt.Errorf("oci: put %s: config: %w", ref, err)
	}
	if err := r.link(filepath.Join(rd, "_blobs", cfgDigest.Hex)); err != nil {
		return err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("oci: put %s: manifest: %w", ref, err)
	}
	md, err := r.writeBytes(manifest)
	if err != nil {
		return fmt.Errorf("oci: put %s: manifest: %w", ref, err)
	}
	if err := r.link(filepath.Join(rd, "_manifests", md.Hex)); err != nil {
		return err
	}
	return r.writeFile(filepath.Join(rd, "_tags", tag), []byte(md.String()))
}

// Resolve returns the manifest digest ref (host/repository:tag) points to,
// and fs.ErrNotExist when the tag is unknown.
func (r *Registry) Resolve(ref string) (v1.Hash, error) {
	host, repo, tag, err := ParseRef(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	return r.resolveTag(host, repo, tag)
}

func (r *Registry) resolveTag(host, repo, tag string) (v1.Hash, error) {
	rd, err := r.repoDir(host, repo)
	if err != nil {
		return v1.Hash{}, err
	}
	if !tagRE.MatchString(tag) {
		return v1.Hash{}, fmt.Errorf("invalid tag %q", tag)
	}
	b, err := os.ReadFile(filepath.Join(rd, "_tags", tag))
	if err != nil {
		return v1.Hash{}, err
	}
	h, err := v1.NewHash(strings.TrimSpace(string(b)))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("oci: tag %s/%s:%s holds %q: %w", host, repo, tag, b, err)
	}
	return h, nil
}

// Tags lists the tags of host/repository, sorted.
func (r *Registry) Tags(host, repo string) ([]string, error) {
	rd, err := r.repoDir(host, repo)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(rd, "_tags"))
	if err != nil {
		return nil, err
	}
	tags := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() && tagRE.MatchString(e.Name()) {
			tags = append(tags, e.Name())
		}
	}
	sort.Strings(tags)
	return tags, nil
}

// has reports whether the repository links the blob or manifest with digest h.
func (r *Registry) has(host, repo, kind string, h v1.Hash) (bool, error) {
	rd, err := r.repoDir(host, repo)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(filepath.Join(rd, kind, h.Hex)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// link creates an empty marker file (idempotent).
func (r *Registry) link(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return r.writeFile(path, nil)
}

// writeBytes stores b as a blob and returns its digest.
func (r *Registry) writeBytes(b []byte) (v1.Hash, error) {
	sum := sha256.Sum256(b)
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	return h, r.writeBlob(h, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil })
}

// writeBlob stores the content open returns under h, checking the digest
// before the blob becomes visible. A blob already present is kept.
func (r *Registry) writeBlob(h v1.Hash, open func() (io.ReadCloser, error)) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("unsupported digest algorithm %q", h.Algorithm)
	}
	final := r.blobPath(h)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Join(r.dir, "tmp"), "blob-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	hasher := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, hasher), rc); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(hasher.Sum(nil)); got != h.Hex {
		return fmt.Errorf("blob content hashes to sha256:%s, expected %s", got, h)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), final)
}

// writeFile replaces path atomically with b.
func (r *Registry) writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(r.dir, "tmp"), "file-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// manifestMediaType reads the mediaType field every OCI and Docker v2
// manifest carries.
func manifestMediaType(b []byte) string {
	var m struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(b, &m) == nil && m.MediaType != "" {
		return m.MediaType
	}
	return "application/vnd.oci.image.manifest.v1+json"
}
