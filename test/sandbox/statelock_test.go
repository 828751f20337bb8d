//go:build unix

package sandbox

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestStateDirLock: a second sandbox on the same state directory is refused
// (it would remove the running one's nodes as leftovers), naming the owner;
// after the first lets go, it may start.
func TestStateDirLock(t *testing.T) {
	dir := t.TempDir()
	first, err := lockStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockStateDir(dir)
	if err == nil || !strings.Contains(err.Error(), "another sandbox process (pid "+strconv.Itoa(os.Getpid())+")") {
		t.Fatalf("second lock: %v, want refused naming pid %d", err, os.Getpid())
	}
	if err := CleanHost(dir); err == nil {
		t.Error("CleanHost ran while a sandbox holds the state directory")
	}
	unlockStateDir(first)
	second, err := lockStateDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlockStateDir(second)
}

// TestRemoveContainerLogLinks: only the links into the node's own pod logs
// go; another node's, another sandbox's and plain files stay.
func TestRemoveContainerLogLinks(t *testing.T) {
	dir := t.TempDir()
	links := map[string]string{
		"mine.log":  "/s/nodes/ab12cd-3/pod-logs/develop_backend_x/backend/0.log",
		"other.log": "/s/nodes/ab12cd-4/pod-logs/develop_backend_y/backend/0.log",
		"far.log":   "/var/log/pods/kube-system_x/c/0.log",
	}
	for name, target := range links {
		if err := os.Symlink(target, dir+"/"+name); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(dir+"/file.log", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	removeContainerLogLinks(dir, "ab12cd-3")
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, ",") != "far.log,file.log,other.log" {
		t.Errorf("left %v, want far.log, file.log, other.log", left)
	}
}
