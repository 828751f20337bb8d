package oci

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// mirror sends every request to the test registry with the original host
// in ?ns=, as containerd does for a mirror in hosts.toml.
type mirror struct{ target *url.URL }

func (m mirror) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	q := r.URL.Query()
	q.Set("ns", req.URL.Host)
	r.URL.RawQuery = q.Encode()
	r.URL.Scheme, r.URL.Host, r.Host = m.target.Scheme, m.target.Host, m.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

func serve(t *testing.T, reg *Registry) (*httptest.Server, remote.Option) {
	t.Helper()
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return srv, remote.WithTransport(mirror{u})
}

// testImage is a two-layer image whose content depends on seed.
func testImage(t *testing.T, seed string) v1.Image {
	t.Helper()
	a, b := NewTree(), NewTree()
	if err := a.File("/etc/seed", []byte(seed), 0o644, Root); err != nil {
		t.Fatal(err)
	}
	if err := b.File("/bin/app", []byte("#!/bin/sh\necho "+seed+"\n"), 0o755, Owner{1000, 1000}); err != nil {
		t.Fatal(err)
	}
	img, err := NewImage(v1.Config{Entrypoint: []string{"/bin/app"}, User: "1000"}, LayerSpec{a, "seed"}, LayerSpec{b, "app"})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRegistryRoundTripThroughMirror(t *testing.T) {
	reg, err := OpenRegistry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k8s, hub := testImage(t, "registry.k8s.io"), testImage(t, "docker.io")
	if err := reg.Put("registry.k8s.io/pause:3.10", k8s); err != nil {
		t.Fatal(err)
	}
	if err := reg.Put("pause:3.10", hub); err != nil { // docker.io/library/pause
		t.Fatal(err)
	}
	_, opt := serve(t, reg)

	for _, tc := range []struct {
		ref  string
		want v1.Image
	}{
		{"registry.k8s.io/pause:3.10", k8s},
		{"docker.io/library/pause:3.10", hub},
	} {
		want := digestOf(t, tc.want)
		ref, err := name.ParseReference(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(ref, opt)
		if err != nil {
			t.Fatalf("HEAD %s: %v", tc.ref, err)
		}
		if desc.Digest != want || desc.MediaType != types.OCIManifestSchema1 {
			t.Errorf("HEAD %s: %s %s, want %s %s", tc.ref, desc.Digest, desc.MediaType, want, types.OCIManifestSchema1)
		}
		img, err := remote.Image(ref, opt)
		if err != nil {
			t.Fatalf("pull %s: %v", tc.ref, err)
		}
		if got := digestOf(t, img); got != want {
			t.Errorf("pull %s by tag: digest %s, want %s", tc.ref, got, want)
		}
		// By digest, and every blob (config and layers) verified by content.
		byDigest, err := name.ParseReference(ref.Context().Name() + "@" + want.String())
		if err != nil {
			t.Fatal(err)
		}
		img, err = remote.Image(byDigest, opt)
		if err != nil {
			t.Fatalf("pull %s: %v", byDigest, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != "1000" || cf.OS != "linux" || cf.Architecture != "amd64" {
			t.Errorf("%s config: user %q %s/%s", byDigest, cf.Config.User, cf.OS, cf.Architecture)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		seed := readTarFile(t, layers[0], "etc/seed")
		if want := strings.Split(tc.ref, "/")[0]; seed != want {
			t.Errorf("%s: /etc/seed = %q, want %q (ns separation)", tc.ref, seed, want)
		}
	}

	// A manifest of one upstream host is unknown under another.
	other, err := name.ParseReference("docker.io/library/pause@" + digestOf(t, k8s).String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Image(other, opt)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound || len(terr.Errors) == 0 || terr.Errors[0].Code != transport.ManifestUnknownErrorCode {
		t.Errorf("pull of registry.k8s.io's digest from docker.io: %v, want 404 MANIFEST_UNKNOWN", err)
	}

	// Reopening the directory serves the same images (disk storage only).
	again, err := OpenRegistry(reg.Dir())
	if err != nil {
		t.Fatal(err)
	}
	_, opt2 := serve(t, again)
	img, err := remote.Image(name.MustParseReference("registry.k8s.io/pause:3.10"), opt2)
	if err != nil {
		t.Fatal(err)
	}
	if got := digestOf(t, img); got != digestOf(t, k8s) {
		t.Errorf("reopened registry: %s, want %s", got, digestOf(t, k8s))
	}
}

func readTarFile(t *testing.T, l v1.Layer, path string) string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in layer: %v", path, err)
		}
		if h.Name == path {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

type errorBody struct {
	Errors []struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	} `json:"errors"`
}

func TestRegistryHTTPAnswers(t *testing.T) {
	reg, err := OpenRegistry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(t, "x")
	if err := reg.Put("ghcr.io/sre-platform/backend:dev", img); err != nil {
		t.Fatal(err)
	}
	srv, _ := serve(t, reg)
	d := digestOf(t, img)
	layers, _ := img.Layers()
	ld, _ := layers[1].Digest()
	missing := "sha256:" + strings.Repeat("0", 64)

	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v2/", 200, ""},
		{"HEAD", "/v2/", 200, ""},
		{"GET", "/v2/sre-platform/backend/manifests/dev?ns=ghcr.io", 200, ""},
		{"HEAD", "/v2/sre-platform/backend/manifests/" + d.String() + "?ns=ghcr.io", 200, ""},
		{"GET", "/v2/sre-platform/backend/blobs/" + ld.String() + "?ns=ghcr.io", 200, ""},
		{"GET", "/v2/sre-platform/backend/tags/list?ns=ghcr.io", 200, ""},
		{"GET", "/v2/sre-platform/backend/manifests/nope?ns=ghcr.io", 404, "MANIFEST_UNKNOWN"},
		{"HEAD", "/v2/sre-platform/backend/manifests/nope?ns=ghcr.io", 404, ""},
		{"GET", "/v2/sre-platform/backend/manifests/" + missing + "?ns=ghcr.io", 404, "MANIFEST_UNKNOWN"},
		{"GET", "/v2/sre-platform/backend/blobs/" + missing + "?ns=ghcr.io", 404, "BLOB_UNKNOWN"},
		{"GET", "/v2/sre-platform/backend/blobs/sha256:abc?ns=ghcr.io", 400, "DIGEST_INVALID"},
		{"GET", "/v2/sre-platform/backend/manifests/dev", 404, "NAME_UNKNOWN"}, // docker.io
		{"GET", "/v2/sre-platform/backend/manifests/dev?ns=quay.io", 404, "NAME_UNKNOWN"},
		{"GET", "/v2/Bad_Name/manifests/dev?ns=ghcr.io", 400, "NAME_INVALID"},
		{"GET", "/v2/sre-platform/backend/manifests/dev?ns=bad%20host", 400, "NAME_INVALID"},
		{"GET", "/v2/sre-platform/backend/manifests/-bad?ns=ghcr.io", 400, "TAG_INVALID"},
		{"PUT", "/v2/sre-platform/backend/manifests/dev?ns=ghcr.io", 405, "UNSUPPORTED"},
		{"POST", "/v2/sre-platform/backend/blobs/uploads/?ns=ghcr.io", 405, "UNSUPPORTED"},
		{"DELETE", "/v2/sre-platform/backend/manifests/" + d.String() + "?ns=ghcr.io", 405, "UNSUPPORTED"},
		{"GET", "/v2/sre-platform/backend/other?ns=ghcr.io", 404, "NOT_FOUND"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d (%s)", tc.method, tc.path, resp.StatusCode, tc.status, body)
			continue
		}
		if v := resp.Header.Get("Docker-Distribution-API-Version"); v != "registry/2.0" {
			t.Errorf("%s %s: Docker-Distribution-API-Version %q", tc.method, tc.path, v)
		}
		if tc.method == "HEAD" && len(body) != 0 {
			t.Errorf("HEAD %s: body %q", tc.path, body)
		}
		if tc.code == "" {
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		var eb errorBody
		if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) != 1 || eb.Errors[0].Code != tc.code || eb.Errors[0].Message == "" {
			t.Errorf("%s %s: body %s, want one error with code %s and a message", tc.method, tc.path, body, tc.code)
		}
	}

	// Manifest answers carry the stored media type and digest; blobs serve ranges.
	resp, err := http.Get(srv.URL + "/v2/sre-platform/backend/manifests/dev?ns=ghcr.io")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := img.RawManifest()
	if !bytes.Equal(raw, want) || resp.Header.Get("Docker-Content-Digest") != d.String() ||
		resp.Header.Get("Content-Type") != string(types.OCIManifestSchema1) {
		t.Errorf("manifest: %d bytes, digest %q, type %q", len(raw), resp.Header.Get("Docker-Content-Digest"), resp.Header.Get("Content-Type"))
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v2/sre-platform/backend/blobs/"+ld.String()+"?ns=ghcr.io", nil)
	req.Header.Set("Range", "bytes=0-9")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || len(part) != 10 {
		t.Errorf("range request: %d with %d bytes, want 206 with 10", resp.StatusCode, len(part))
	}
	resp, err = http.Get(srv.URL + "/v2/sre-platform/backend/tags/list?ns=ghcr.io")
	if err != nil {
		t.Fatal(err)
	}
	var tags struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tags)
	resp.Body.Close()
	if err != nil || tags.Name != "sre-platform/backend" || fmt.Sprint(tags.Tags) != "[dev]" {
		t.Errorf("tags/list: %+v %v", tags, err)
	}
}

// Puts racing with pulls: a reader sees a whole image or a 404, never a
// truncated blob, and no temporary file is left behind.
func TestRegistryConcurrentPutAndPull(t *testing.T) {
	reg, err := OpenRegistry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, opt := serve(t, reg)
	img := testImage(t, strings.Repeat("payload ", 1<<14))
	want := digestOf(t, img)
	ref := name.MustParseReference("ghcr.io/sre-platform/frontend:dev")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 4 {
		wg.Go(func() {
			if err := reg.Put(ref.String(), img); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			for range 5 {
				got, err := remote.Image(ref, opt)
				var terr *transport.Error
				if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				layers, err := got.Layers()
				if err != nil {
					errs <- err
					return
				}
				for _, l := range layers {
					// Reading the whole compressed blob verifies its digest.
					rc, err := l.Compressed()
					if err == nil {
						_, err = io.Copy(io.Discard, rc)
						rc.Close()
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, err := reg.Resolve(ref.String()); err != nil || got != want {
		t.Errorf("Resolve: %s %v, want %s", got, err, want)
	}
	left, _ := os.ReadDir(filepath.Join(reg.Dir(), "tmp"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct{ ref, host, repo, tag string }{
		{"ghcr.io/sre-platform/backend:dev", "ghcr.io", "sre-platform/backend", "dev"},
		{"registry.k8s.io/pause:3.10", "registry.k8s.io", "pause", "3.10"},
		{"nginx", "docker.io", "library/nginx", "latest"},
		{"index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1"},
		{"127.0.0.1:5000/x/y:z", "127.0.0.1:5000", "x/y", "z"},
	} {
		host, repo, tag, err := ParseRef(tc.ref)
		if err != nil || host != tc.host || repo != tc.repo || tag != tc.tag {
			t.Errorf("ParseRef(%q) = %q %q %q %v, want %q %q %q", tc.ref, host, repo, tag, err, tc.host, tc.repo, tc.tag)
		}
	}
	reg, err := OpenRegistry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"Ghcr.io/UPPER/x:1", "ghcr.io/x@sha256:" + strings.Repeat("a", 64), "ghcr.io/x:bad tag"} {
		if err := reg.Put(bad, testImage(t, "x")); err == nil {
			t.Errorf("Put(%q) accepted", bad)
		}
	}
	if _, err := OpenRegistry(""); err == nil {
		t.Error("OpenRegistry(\"\") accepted")
	}
}
