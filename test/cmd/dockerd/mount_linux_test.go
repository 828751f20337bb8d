package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sre-platform/platform/test/testenv"
)

// Mounts left below the engine's folders are unmounted by stop (root only:
// the test mounts a tmpfs).
func TestStopUnmountsLeftovers(t *testing.T) {
	testenv.Require(t, os.Getuid() == 0, "root (the test mounts a tmpfs)", "run the tests as root")
	te := newTestEngine(t)
	if err := te.start(); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(te.data, "overlay2", "l 1")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	if got := te.leftMounts(); len(got) != 1 || got[0] != mnt {
		t.Fatalf("leftMounts = %q, want [%q]", got, mnt)
	}
	if err := te.stop(false); err != nil {
		t.Fatal(err)
	}
	if got := te.leftMounts(); len(got) != 0 {
		t.Errorf("mounts left after stop: %q", got)
	}
}
