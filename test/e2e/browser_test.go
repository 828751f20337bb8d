package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sre-platform/platform/test/testenv"
)

// browserTests runs the frontend's browser tests for a deployed cluster
// (apps/frontend/playwright.cluster.config.ts: e2e/public.spec.ts and
// e2e/cluster/) in Debian's Chromium against url, each Playwright test a
// subtest of t. env names what the cluster's overlay configures
// (E2E_ENVIRONMENT, E2E_UI_MESSAGE). Screenshots land in
// apps/frontend/test-results/screenshots.
func browserTests(t *testing.T, ctx context.Context, url string, env ...string) {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), "apps", "frontend")
	pw := filepath.Join(dir, "node_modules", ".bin", "playwright")
	_, err := os.Stat(pw)
	testenv.Require(t, err == nil, "Playwright ("+pw+")", "go tool task frontend:deps")
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	_, err = os.Stat(chromium)
	testenv.Require(t, err == nil, "Chromium ("+chromium+")", "bash apps/frontend/scripts/e2e-prereqs.sh")

	cmd := exec.CommandContext(ctx, pw, "test", "-c", "playwright.cluster.config.ts", "--reporter=json")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "E2E_PUBLIC_URL="+strings.TrimSuffix(url, "/")), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var report pwReport
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("playwright: %v (report unreadable: %v)\n%s\n%.2000s", runErr, err, stderr.String(), stdout.String())
	}
	for _, e := range report.Errors {
		t.Errorf("playwright: %s", e.Message)
	}
	n := 0
	report.each(func(name string, spec pwTest) {
		n++
		t.Run(name, func(t *testing.T) {
			for _, r := range spec.Results {
				if r.Error != nil {
					t.Log(r.Error.Message)
				}
			}
			switch spec.Status {
			case "expected":
			case "skipped":
				t.Skip("skipped by Playwright")
			default:
				t.Errorf("Playwright status %q", spec.Status)
			}
		})
	})
	if n == 0 {
		t.Errorf("playwright ran no test (%v)\n%s", runErr, stderr.String())
	} else if runErr != nil && !t.Failed() {
		var exit *exec.ExitError
		if !errors.As(runErr, &exit) {
			t.Errorf("playwright: %v", runErr)
		}
	}
}

// pwReport is the part of Playwright's JSON reporter output read here.
type pwReport struct {
	Suites []pwSuite `json:"suites"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

type pwSuite struct {
	Title  string    `json:"title"`
	Specs  []pwSpec  `json:"specs"`
	Suites []pwSuite `json:"suites"`
}

type pwSpec struct {
	Title string   `json:"title"`
	Tests []pwTest `json:"tests"`
}

type pwTest struct {
	Status  string `json:"status"` // expected, unexpected, flaky, skipped
	Results []struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	} `json:"results"`
}

// each calls f for every test with the file and spec title as its name.
func (r pwReport) each(f func(name string, t pwTest)) {
	var walk func(prefix string, s pwSuite)
	walk = func(prefix string, s pwSuite) {
		p := s.Title
		if prefix != "" {
			p = prefix + "/" + s.Title
		}
		for _, sp := range s.Specs {
			for _, tt := range sp.Tests {
				f(p+"/"+sp.Title, tt)
			}
		}
		for _, sub := range s.Suites {
			walk(p, sub)
		}
	}
	for _, s := range r.Suites {
		walk("", s)
	}
}
