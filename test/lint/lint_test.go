// Package lint tests the static tier itself: a mis-formatted file must fail
// the check and be named in its output.
package lint

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sre-platform/platform/test/testenv"
)

// runLint runs hack/lint.sh CHECK against a scratch tree standing in for the
// repository root.
func runLint(t *testing.T, check, root string, env ...string) (string, error) {
	t.Helper()
	script := filepath.Join(testenv.RepoRoot(), "hack", "lint.sh")
	cmd := exec.Command("bash", script, check)
	cmd.Env = append(os.Environ(), "PLATFORM_ROOT="+root, "PLATFORM_CACHE="+filepath.Join(root, ".cache"))
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGofmtNamesMisformattedFile(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module example.com/x\n\ngo 1.26\n")
	write(t, filepath.Join(root, "good", "good.go"), "package good\n\nfunc F() int { return 1 }\n")
	write(t, filepath.Join(root, "bad", "bad.go"), "package bad\nfunc  F( ) int {return 1}\n")

	out, err := runLint(t, "gofmt", root)
	if err == nil {
		t.Fatalf("gofmt check passed on a mis-formatted file:\n%s", out)
	}
	if !strings.Contains(out, "bad/bad.go") {
		t.Errorf("output does not name bad/bad.go:\n%s", out)
	}
	if strings.Contains(out, "good/good.go") {
		t.Errorf("output names a well-formatted file:\n%s", out)
	}

	// Fixed, it passes.
	write(t, filepath.Join(root, "bad", "bad.go"), "package bad\n\nfunc F() int { return 1 }\n")
	if out, err := runLint(t, "gofmt", root); err != nil {
		t.Fatalf("gofmt check failed on formatted files: %v\n%s", err, out)
	}
}

func TestTerraformFmtNamesMisformattedFile(t *testing.T) {
	bin, _ := testenv.RequireTerraform(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "modules", "ok", "main.tf"), "variable \"a\" {\n  type = string\n}\n")
	write(t, filepath.Join(root, "modules", "broken", "main.tf"), "variable \"a\" {\ntype=string\n}\n")

	out, err := runLint(t, "tf-fmt", root, "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
	if err == nil {
		t.Fatalf("terraform fmt check passed on a mis-formatted file:\n%s", out)
	}
	if !strings.Contains(out, "modules/broken/main.tf") {
		t.Errorf("output does not name modules/broken/main.tf:\n%s", out)
	}
	if strings.Contains(out, "modules/ok/main.tf") {
		t.Errorf("output names a well-formatted file:\n%s", out)
	}
}
