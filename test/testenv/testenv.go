// Package testenv lets tests find the project's cached tools and decide what
// to do when a prerequisite is missing.
//
// Under `go tool task test` every prerequisite a hermetic tier needs is
// installed before the tests run and PLATFORM_TEST_STRICT=1 is set, so a
// missing one is a failure (a broken install step), not a silent skip. A plain
// `go test` outside the task runner skips with the reason and the command that
// installs it.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Strict reports whether missing prerequisites must fail tests.
func Strict() bool { return os.Getenv("PLATFORM_TEST_STRICT") == "1" }

// Require fails (strict) or skips the test when ok is false, naming what is
// missing and how to get it.
func Require(t testing.TB, ok bool, what, how string) {
	t.Helper()
	if ok {
		return
	}
	if Strict() {
		t.Fatalf("missing prerequisite: %s (install: %s)", what, how)
	}
	t.Skipf("SKIP: %s is not available (install: %s)", what, how)
}

// Gate skips a gated suite (kind, hcloud) with its reason, even in strict
// mode: those need things a hermetic run cannot provide. The message has the
// form "gated <suite>: <reason>", which the test runner (test/cmd/testrun)
// lists apart from other skips; any other skip fails a strict run.
func Gate(t testing.TB, ok bool, suite, reason string) {
	t.Helper()
	if !ok {
		t.Skipf("gated %s: %s", suite, reason)
	}
}

// RepoRoot returns the repository root: PLATFORM_ROOT when set, otherwise the
// directory holding the top-level go.mod found from this file's location.
func RepoRoot() string {
	if r := os.Getenv("PLATFORM_ROOT"); r != "" {
		return r
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CacheDir is the git-ignored folder holding tool builds, the provider mirror
// and sandbox state.
func CacheDir() string {
	if c := os.Getenv("PLATFORM_CACHE"); c != "" {
		return c
	}
	return filepath.Join(RepoRoot(), ".cache")
}

// BinDir holds tool binaries built by the project (tflint, providers, ...).
func BinDir() string { return filepath.Join(CacheDir(), "bin") }

// TerraformCLIConfig is the project-owned Terraform CLI config (filesystem
// mirror + dev override for the in-repo provider).
func TerraformCLIConfig() string {
	return filepath.Join(CacheDir(), "terraform", "terraformrc")
}

// LookPath finds a binary in the project's bin folder first, then on PATH.
func LookPath(name string) (string, bool) {
	p := filepath.Join(BinDir(), name)
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return p, true
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	return "", false
}

// RequireTerraform returns the terraform binary and an environment that uses
// the project's CLI config, skipping or failing when the mirror is absent.
func RequireTerraform(t testing.TB) (bin string, env []string) {
	t.Helper()
	bin, ok := LookPath("terraform")
	Require(t, ok, "terraform CLI", "see .terraform-version; `go tool task deps`")
	cfg := TerraformCLIConfig()
	_, err := os.Stat(cfg)
	Require(t, err == nil, "Terraform provider mirror ("+cfg+")", "go tool task tf:mirror")
	env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cfg, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	return bin, env
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
