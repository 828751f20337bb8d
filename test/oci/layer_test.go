package oci

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestTreeLayout(t *testing.T) {
	tr := NewTree()
	for _, err := range []error{
		tr.File("/usr/bin/tool", []byte("x"), 0o755, Root),
		tr.Symlink("/bin", "usr/bin"),
		tr.Dir("/tmp", 0o1777, Root),
		tr.Dir("/home/app", 0o700, Owner{65532, 65532}),
		tr.FileCaps("/coredns", []byte("y"), 0o755, Root, 10),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.File("/usr/bin/tool", nil, 0o644, Root); err == nil {
		t.Error("a path added twice was accepted")
	}
	if err := tr.File("relative", nil, 0o644, Root); err == nil {
		t.Error("a relative path was accepted")
	}
	b, err := tr.Tar()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	rd := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(Epoch) {
			t.Errorf("%s: mtime %s", h.Name, h.ModTime)
		}
		switch h.Name {
		case "tmp/":
			if h.Mode != 0o1777 {
				t.Errorf("/tmp mode %o", h.Mode)
			}
		case "home/app/":
			if h.Uid != 65532 || h.Mode != 0o700 {
				t.Errorf("/home/app uid %d mode %o", h.Uid, h.Mode)
			}
		case "bin":
			if h.Typeflag != tar.TypeSymlink || h.Linkname != "usr/bin" {
				t.Errorf("/bin: %c -> %s", h.Typeflag, h.Linkname)
			}
		case "coredns":
			x := []byte(h.PAXRecords["SCHILY.xattr.security.capability"])
			if len(x) != 20 || binary.LittleEndian.Uint32(x) != 0x02000001 || binary.LittleEndian.Uint32(x[4:]) != 1<<10 {
				t.Errorf("coredns capability xattr % x, want revision 2, effective, CAP_NET_BIND_SERVICE permitted", x)
			}
		}
	}
	want := []string{"bin", "coredns", "home/", "home/app/", "tmp/", "usr/", "usr/bin/", "usr/bin/tool"}
	if len(names) != len(want) {
		t.Fatalf("entries %q, want %q", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("entries %q, want %q", names, want)
		}
	}
}

func TestNewImageDeterministic(t *testing.T) {
	build := func() v1.Hash {
		tr := NewTree()
		if err := tr.File("/app", []byte("same"), 0o755, Root); err != nil {
			t.Fatal(err)
		}
		img, err := NewImage(v1.Config{Entrypoint: []string{"/app"}, User: "65532:65532", ExposedPorts: Ports("8080/tcp")}, LayerSpec{tr, "app"})
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if !cf.Created.Equal(Epoch) || cf.OS != "linux" || cf.Architecture != "amd64" || len(cf.RootFS.DiffIDs) != 1 || len(cf.History) != 1 {
			t.Errorf("config: created %s, %s/%s, %d diff IDs, %d history", cf.Created, cf.OS, cf.Architecture, len(cf.RootFS.DiffIDs), len(cf.History))
		}
		return digestOf(t, img)
	}
	first := build()
	time.Sleep(1100 * time.Millisecond) // a wall-clock time stamp anywhere would now differ
	if second := build(); second != first {
		t.Errorf("same inputs gave %s and %s", first, second)
	}
}

func TestFluxReleaseAndTag(t *testing.T) {
	data := t.TempDir()
	for _, v := range []string{"v2.8.9", "v2.9.3", "v2.9.10", "v2.10.0"} {
		if err := os.MkdirAll(filepath.Join(data, "flux", v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	manifest := "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - args: [--log-level=info]\n        image: fluxcd/source-controller:v1.9.9\n        name: manager\n"
	if err := os.WriteFile(filepath.Join(data, "flux", "v2.9.10", "source-controller.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := FluxRelease(data, "2.9.x")
	if err != nil || rel != "v2.9.10" {
		t.Fatalf("FluxRelease(2.9.x) = %q %v, want v2.9.10 (numeric, not string, order)", rel, err)
	}
	tag, err := FluxTag(data, rel, "source-controller")
	if err != nil || tag != "v1.9.9" {
		t.Errorf("FluxTag = %q %v, want v1.9.9", tag, err)
	}
	if _, err := FluxTag(data, rel, "helm-controller"); err == nil {
		t.Error("a component without manifests got a tag")
	}
	if _, err := FluxRelease(data, "3.x"); err == nil {
		t.Error("a range without releases resolved")
	}
}
