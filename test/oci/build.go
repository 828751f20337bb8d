package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Builder compiles the sandbox's programs and assembles their images. Slow
// steps (Go builds, the SPA build, CoreDNS) are cached under Cache by a key
// over their inputs; assembling an image from the cached outputs is cheap.
type Builder struct {
	// Root is the checkout (the root module's directory).
	Root string
	// Cache is the build cache directory (the checkout's .cache).
	Cache string
	// Log receives one progress line per step; nil discards them.
	Log io.Writer
	// Version and Commit are stamped into the backend (its buildinfo
	// package) and the app images' labels, as the Dockerfiles' build args.
	Version, Commit string
}

func (b *Builder) logf(format string, args ...any) {
	if b.Log != nil {
		fmt.Fprintf(b.Log, "images: "+format+"\n", args...)
	}
}

func (b *Builder) binDir() string { return filepath.Join(b.Cache, "images", "bin") }

// run executes a command with its output going to the progress log (or, when
// there is none, into the error it returns).
func (b *Builder) run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

// goEnv is the environment of every Go build here: the Dockerfiles' static
// linux/amd64 build with the checkout's toolchain.
var goEnv = []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false", "GOWORK=off"}

// goBuild builds pkg in module dir into the cache as name, unless a build
// with the same key (sources under srcDirs, flags, toolchain) is there.
// It returns the binary's path.
func (b *Builder) goBuild(ctx context.Context, name, dir, pkg string, srcDirs []string, flags ...string) (string, error) {
	key, err := b.sourceKey(append([]string{runtime.Version(), pkg, strings.Join(goEnv, " "), strings.Join(flags, " ")}, srcDirs...), srcDirs...)
	if err != nil {
		return "", err
	}
	// One file per key, so builds with other flags (a test's stamp) do not
	// evict this one; the newest few per name are kept.
	cacheDir := filepath.Join(b.binDir(), name)
	out := filepath.Join(cacheDir, key[:16])
	if _, err := os.Stat(out); err == nil {
		b.logf("%s: binary current (key %s)", name, key[:12])
		return out, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	b.logf("%s: go build %s", name, pkg)
	start := time.Now()
	args := append([]string{"build", "-trimpath"}, flags...)
	args = append(args, "-o", out+".tmp", pkg)
	if err := b.run(ctx, dir, goEnv, "go", args...); err != nil {
		return "", err
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		return "", err
	}
	prune(cacheDir, 3)
	b.logf("%s: built in %s", name, time.Since(start).Round(100*time.Millisecond))
	return out, nil
}

// sourceKey hashes the words and every source file git knows under dirs
// (tracked and untracked, without ignored files and Go tests), relative to
// Root, so uncommitted edits count.
func (b *Builder) sourceKey(words []string, dirs ...string) (string, error) {
	h := sha256.New()
	for _, w := range words {
		fmt.Fprintf(h, "%s\x00", w)
	}
	files, err := b.sourceFiles(dirs...)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(b.Root, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sourceFiles lists the files git sees under dirs (relative to Root), tracked
// or untracked but not ignored, without *_test.go files.
func (b *Builder) sourceFiles(dirs ...string) ([]string, error) {
	cmd := exec.Command("git", append([]string{"ls-files", "-z", "--cached", "--others", "--exclude-standard", "--"}, dirs...)...)
	cmd.Dir = b.Root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files %s: %w: %s", strings.Join(dirs, " "), err, stderr.String())
	}
	var files []string
	seen := map[string]bool{}
	for _, f := range strings.Split(string(out), "\x00") {
		if f == "" || strings.HasSuffix(f, "_test.go") || seen[f] {
			continue
		}
		seen[f] = true
		files = append(files, f)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no source files under %s", strings.Join(dirs, " "))
	}
	return files, nil
}

// GitCommit names the last commit that changed dir (relative to root), as
// the short hash, with "-dirty" when dir has uncommitted changes; "unknown"
// outside a git checkout. An image stamped with it changes only when its
// own sources do.
func GitCommit(root, dir string) string {
	out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%h", "--", dir).Output()
	commit := strings.TrimSpace(string(out))
	if err != nil || commit == "" {
		return "unknown"
	}
	status, err := exec.Command("git", "-C", root, "status", "--porcelain", "--", dir).Output()
	if err == nil && len(bytes.TrimSpace(status)) > 0 {
		commit += "-dirty"
	}
	return commit
}

// prune removes all but the keep most recently written files of dir.
func prune(dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && !strings.HasSuffix(e.Name(), ".tmp") {
			files = append(files, file{filepath.Join(dir, e.Name()), info.ModTime()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.After(files[j].mod) })
	for _, f := range files[min(keep, len(files)):] {
		_ = os.Remove(f.path)
	}
}
