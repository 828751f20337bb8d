package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseGoTestCountsAndKeepsSkipReasons(t *testing.T) {
	out := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
		`{"Action":"run","Package":"p","Test":"TestB"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"=== RUN   TestB\n"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: SKIP: HCLOUD_TOKEN is not set\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestB"}`,
		`{"Action":"run","Package":"p","Test":"TestC"}`,
		`{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:3: boom\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestC"}`,
		`{"Action":"fail","Package":"p"}`,
		`not json noise`,
	}, "\n")
	r := parseGoTest([]byte(out))
	if r.passed != 1 || r.failed != 1 || r.skipped != 1 {
		t.Fatalf("counts = %d/%d/%d, want 1/1/1", r.passed, r.failed, r.skipped)
	}
	if len(r.skips) != 1 || !strings.Contains(r.skips[0], "HCLOUD_TOKEN is not set") {
		t.Errorf("skip reason lost: %q", r.skips)
	}
	if len(r.failures) != 1 || !strings.Contains(r.failures[0], "boom") {
		t.Errorf("failure output lost: %q", r.failures)
	}
}

func TestParseGoTestBuildFailureCounts(t *testing.T) {
	out := `{"Action":"output","Package":"p","Output":"FAIL\tp [build failed]\n"}
{"Action":"fail","Package":"p"}`
	r := parseGoTest([]byte(out))
	if r.failed == 0 {
		t.Fatalf("a package that fails to build must count as a failure")
	}
}

func TestParseOtherRunners(t *testing.T) {
	tf := parseCounts([]byte("Success! 4 passed, 0 failed.\n"), tfRe, 1, 2, 0)
	if tf.passed != 4 || tf.failed != 0 {
		t.Errorf("terraform test: %+v", tf)
	}
	vt := parseVitest([]byte(" Test Files  3 passed (3)\n      Tests  \x1b[32m12 passed\x1b[39m | 1 skipped (13)\n"))
	if vt.passed != 12 || vt.skipped != 1 || vt.failed != 0 {
		t.Errorf("vitest: %+v", vt)
	}
	pw := parsePlaywright([]byte("  1 failed\n    [chromium] › a.spec.ts:3:1 › x\n  5 passed (7.1s)\n"))
	if pw.passed != 5 || pw.failed != 1 {
		t.Errorf("playwright: %+v", pw)
	}
}

func TestRunStepCountsExitAndNoTests(t *testing.T) {
	dir := t.TempDir()
	ok := runStep(step{Name: "ok", Run: "true"}, dir)
	bad := runStep(step{Name: "bad", Run: "echo oops; exit 3"}, dir)
	empty := runStep(step{Name: "empty", Run: "true", Parse: "gotest"}, dir)
	skipped := runStep(step{Name: "gated", Run: "false", Unless: "false", SkipReason: "no engine"}, dir)
	if ok.passed != 1 || bad.failed != 1 || !strings.Contains(bad.failures[0], "oops") {
		t.Errorf("exit parsing: ok=%+v bad=%+v", ok, bad)
	}
	if empty.failed != 1 {
		t.Errorf("a test step that ran no test must fail: %+v", empty)
	}
	if skipped.skipped != 1 || !strings.Contains(skipped.skips[0], "no engine") {
		t.Errorf("unless/skip_reason: %+v", skipped)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.log")); err != nil {
		t.Errorf("step log not written: %v", err)
	}
}

func TestLoadStepsRejectsUnknownFieldsAndParsers(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("steps:\n  - name: x\n    run: true\n    prase: exit\n"), 0o644)
	if _, err := loadSteps(dir); err == nil {
		t.Error("unknown field accepted")
	}
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("steps:\n  - name: x\n    run: true\n    parse: junit\n"), 0o644)
	if _, err := loadSteps(dir); err == nil {
		t.Error("unknown parser accepted")
	}
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("steps:\n  - {name: late, tier: 3, run: 'true'}\n  - {name: early, tier: 0, run: 'true'}\n"), 0o644)
	steps, err := loadSteps(dir)
	if err != nil || len(steps) != 2 || steps[0].Name != "early" {
		t.Errorf("steps not ordered by tier: %v %v", steps, err)
	}
}
