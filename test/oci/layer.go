package oci

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is the modification time of every file in the images built here, so
// the same inputs always give the same layer digests.
var Epoch = time.Unix(0, 0).UTC()

// Owner is a numeric uid/gid pair.
type Owner struct{ UID, GID int }

// Root owns everything not given another owner.
var Root = Owner{0, 0}

// Tree is a file system layer under construction: directories, regular files
// and symbolic links with explicit modes and numeric owners. Parent
// directories are added as root-owned 0755 directories. Tree.Layer writes the
// entries in path order with Epoch as every time stamp.
type Tree struct {
	entries map[string]*tar.Header
	data    map[string][]byte
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	return &Tree{entries: map[string]*tar.Header{}, data: map[string][]byte{}}
}

// clean turns an absolute image path into a tar name without a leading slash.
func clean(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("image path %q must be absolute", p)
	}
	c := strings.TrimPrefix(path.Clean(p), "/")
	if c == "" {
		return "", fmt.Errorf("image path %q names the root", p)
	}
	return c, nil
}

func (t *Tree) parents(name string) {
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if _, ok := t.entries[dir]; !ok {
			t.entries[dir] = &tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755}
		}
	}
}

func (t *Tree) add(p string, h *tar.Header, data []byte) error {
	name, err := clean(p)
	if err != nil {
		return err
	}
	if old, ok := t.entries[name]; ok && !(old.Typeflag == tar.TypeDir && h.Typeflag == tar.TypeDir) {
		return fmt.Errorf("image path %s added twice", p)
	}
	t.parents(name)
	h.Name = name
	if h.Typeflag == tar.TypeDir {
		h.Name += "/"
	}
	t.entries[name] = h
	if data != nil {
		t.data[name] = data
	}
	return nil
}

// Dir adds a directory (or sets the mode and owner of one already implied).
func (t *Tree) Dir(p string, mode int64, o Owner) error {
	return t.add(p, &tar.Header{Typeflag: tar.TypeDir, Mode: mode, Uid: o.UID, Gid: o.GID}, nil)
}

// File adds a regular file with the given content.
func (t *Tree) File(p string, data []byte, mode int64, o Owner) error {
	return t.add(p, &tar.Header{Typeflag: tar.TypeReg, Mode: mode, Uid: o.UID, Gid: o.GID, Size: int64(len(data))}, data)
}

// FileCaps adds a regular file carrying Linux file capabilities (the
// security.capability extended attribute, as setcap writes it) for the
// given capability numbers, permitted and effective.
func (t *Tree) FileCaps(p string, data []byte, mode int64, o Owner, caps ...uint) error {
	var permitted [2]uint32
	for _, c := range caps {
		permitted[c/32] |= 1 << (c % 32)
	}
	// struct vfs_cap_data, revision 2, with the effective flag.
	var xattr bytes.Buffer
	for _, v := range []uint32{0x02000000 | 0x1, permitted[0], 0, permitted[1], 0} {
		_ = binary.Write(&xattr, binary.LittleEndian, v)
	}
	h := &tar.Header{Typeflag: tar.TypeReg, Mode: mode, Uid: o.UID, Gid: o.GID, Size: int64(len(data)),
		Format:     tar.FormatPAX,
		PAXRecords: map[string]string{"SCHILY.xattr.security.capability": xattr.String()}}
	return t.add(p, h, data)
}

// Symlink adds a symbolic link to target.
func (t *Tree) Symlink(p, target string) error {
	return t.add(p, &tar.Header{Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}, nil)
}

// HostFile copies a file of this machine into the tree at the same path
// (with its directories resolved). Symbolic links are kept as links and followed, so a library named by its
// soname arrives with the file it points to; root owns everything and the
// permission bits are the host file's.
func (t *Tree) HostFile(p string) error {
	for range 16 {
		// Directories are taken at their real place (/lib/x86_64-linux-gnu/
		// is /usr/lib/x86_64-linux-gnu/ on a merged-/usr Debian), so the
		// tree's own directory links can mirror the host's.
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return err
		}
		p = filepath.Join(dir, filepath.Base(p))
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		name, err := clean(p)
		if err != nil {
			return err
		}
		if _, ok := t.entries[name]; ok {
			return nil
		}
		if st.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := t.Symlink(p, target); err != nil {
				return err
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(p), target)
			}
			p = target
			continue
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return t.File(p, b, int64(st.Mode().Perm()), Root)
	}
	return fmt.Errorf("%s: too many levels of symbolic links", p)
}

// HostDir copies the regular files below the host directory src into the
// tree under dst, with the given modes, root-owned; other entries (symbolic
// links, devices) are refused. skip, when set, leaves out paths relative to src.
func (t *Tree) HostDir(src, dst string, dirMode, fileMode int64, skip func(rel string) bool) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel != "." && skip != nil && skip(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			return t.Dir(target, dirMode, Root)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return t.File(target, b, fileMode, Root)
		default:
			return fmt.Errorf("%s: only directories and regular files are copied", p)
		}
	})
}

// Tar writes the tree as an uncompressed tar stream in path order.
func (t *Tree) Tar() ([]byte, error) {
	names := make([]string, 0, len(t.entries))
	for n := range t.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := *t.entries[n]
		h.ModTime = Epoch
		if h.Format == tar.FormatPAX {
			h.AccessTime, h.ChangeTime = Epoch, Epoch
		}
		if err := tw.WriteHeader(&h); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", n, err)
		}
		if d, ok := t.data[n]; ok {
			if _, err := tw.Write(d); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Layer turns the tree into a gzip-compressed OCI layer.
func (t *Tree) Layer() (v1.Layer, error) {
	b, err := t.Tar()
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
