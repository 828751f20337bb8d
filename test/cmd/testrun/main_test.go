package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The streams under testdata/streams are real `go test -json` output of the
// fixture module in testdata/fixture (re-record with testdata/record.sh).
func stream(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "streams", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseGoTestRecordedStreams(t *testing.T) {
	for _, tc := range []struct {
		stream                  string
		passed, failed, skipped int
		failures                []string // one substring per failure, in order
	}{
		// Parents with subtests are not tests; a parent failing on its own
		// (its subtests passed) is one failure; the package's FAIL is not.
		{"nested.jsonl", 6, 2, 0, []string{"TestOneFailingLeaf/bad\n", "TestParentFailsAlone\n"}},
		{"parallel.jsonl", 4, 1, 0, []string{"TestParallel/p3\n"}},
		// The panicking subtest fails once: not again as parent and package.
		{"panics.jsonl", 1, 1, 0, []string{"TestPanics/sub\n"}},
		{"builderr.jsonl", 0, 1, 0, []string{"build failed"}},
		{"testmain.jsonl", 1, 1, 0, []string{"package failed outside any test"}},
		{"skips.jsonl", 1, 0, 3, nil},
		{"notests.jsonl", 0, 0, 0, nil},
		// The test running at the timeout never ends in the stream: it is
		// the one that failed.
		{"timeout.jsonl", 1, 1, 0, []string{"TestHangs/waits\n"}},
		{"all.jsonl", 15, 7, 3, nil},
	} {
		t.Run(tc.stream, func(t *testing.T) {
			r := parseGoTest(stream(t, tc.stream))
			if r.passed != tc.passed || r.failed != tc.failed || r.skipped != tc.skipped {
				t.Errorf("counts = %d passed, %d failed, %d skipped; want %d, %d, %d\nfailures: %q",
					r.passed, r.failed, r.skipped, tc.passed, tc.failed, tc.skipped, r.failures)
			}
			if tc.failures != nil && len(r.failures) != len(tc.failures) {
				t.Fatalf("failures = %q, want %d", r.failures, len(tc.failures))
			}
			for i, want := range tc.failures {
				if !strings.Contains(r.failures[i], want) {
					t.Errorf("failure %d = %q, want it to name %q", i, r.failures[i], want)
				}
			}
			if got := len(r.leaves); got != r.passed+r.failed+r.skipped-packageFailures(r) {
				t.Errorf("%d leaves recorded for %d counted results", got, r.passed+r.failed+r.skipped)
			}
		})
	}
}

func packageFailures(r result) int {
	n := 0
	for _, f := range r.failures {
		if strings.Contains(f, ": build failed") || strings.Contains(f, ": package failed outside any test") {
			n++
		}
	}
	return n
}

func TestParseGoTestShowsEachFailingLeafsOwnOutput(t *testing.T) {
	r := parseGoTest(stream(t, "nested.jsonl"))
	bad := r.failures[0]
	for _, want := range []string{"context line of the failing leaf", "want 2, got 3"} {
		if !strings.Contains(bad, want) {
			t.Errorf("failing leaf's output lacks %q:\n%s", want, bad)
		}
	}
	if strings.Contains(bad, "=== RUN") {
		t.Errorf("runner framing kept in the report:\n%s", bad)
	}
	par := parseGoTest(stream(t, "parallel.jsonl")).failures[0]
	if !strings.Contains(par, "p3 failed") || strings.Contains(par, "p1") {
		t.Errorf("parallel leaf output mixed up:\n%s", par)
	}
	if tm := parseGoTest(stream(t, "testmain.jsonl")).failures[0]; !strings.Contains(tm, "leak check: 1 goroutine") {
		t.Errorf("TestMain failure output lost:\n%s", tm)
	}
	if be := parseGoTest(stream(t, "builderr.jsonl")).failures[0]; !strings.Contains(be, "cannot use \"not an int\"") {
		t.Errorf("compiler message lost:\n%s", be)
	}
	if to := parseGoTest(stream(t, "timeout.jsonl")).failures[0]; !strings.Contains(to, "panic: test timed out after 3s") {
		t.Errorf("timeout message lost:\n%s", to)
	}
	if pn := parseGoTest(stream(t, "panics.jsonl")).failures[0]; !strings.Contains(pn, "--- FAIL: TestPanics/sub") {
		t.Errorf("panicking leaf not reported:\n%s", pn)
	}
}

func TestParseGoTestSkipsAndGatedSuites(t *testing.T) {
	r := parseGoTest(stream(t, "skips.jsonl"))
	got := map[string]skipInfo{}
	for _, sk := range r.skips {
		got[sk.name] = sk
	}
	if sk := got["fixture/skips TestSkipped"]; sk.reason != "SKIP: needs something this run does not have" || sk.gated != "" {
		t.Errorf("plain skip: %+v", sk)
	}
	if sk := got["fixture/skips TestGated"]; sk.gated != "kind" || sk.reason != "no Docker engine allows privileged containers" {
		t.Errorf("gated skip: %+v", sk)
	}
	if sk := got["fixture/skips TestSkippedSubtests/one"]; sk.reason != "not today" {
		t.Errorf("skipped subtest: %+v", sk)
	}
}

func TestParseFuzz(t *testing.T) {
	ok := parseFuzz(stream(t, "fuzz-ok.txt"))
	if ok.passed != 1 || ok.failed != 0 || !strings.HasSuffix(ok.note, "executions") {
		t.Errorf("fuzz run: %+v", ok)
	}
	// A worker that stalled until -fuzztime ended ("context deadline
	// exceeded") after executing inputs is one failure, not a pass and a
	// failure.
	stall := parseFuzz(stream(t, "fuzz-stall.txt"))
	if stall.passed != 0 || stall.failed != 1 || stall.note != "52950 executions" {
		t.Errorf("a failed fuzz run: %+v", stall)
	}
	none := parseFuzz(stream(t, "fuzz-nomatch.txt"))
	if none.passed != 0 || none.failed != 1 || !strings.Contains(none.failures[0], "matches no fuzz target") {
		t.Errorf("a -fuzz pattern matching no target must fail: %+v", none)
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
	skipped := runStep(step{Name: "gated", Run: "false", Unless: "echo no socket; false", SkipReason: "no engine", Gated: "kind"}, dir)
	if ok.passed != 1 || bad.failed != 1 || !strings.Contains(bad.failures[0], "oops") {
		t.Errorf("exit parsing: ok=%+v bad=%+v", ok, bad)
	}
	if empty.failed != 1 {
		t.Errorf("a test step that ran no test must fail: %+v", empty)
	}
	if skipped.skipped != 1 || skipped.skips[0].reason != "no engine (no socket)" || skipped.skips[0].gated != "kind" {
		t.Errorf("unless/skip_reason: %+v", skipped)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.log")); err != nil {
		t.Errorf("step log not written: %v", err)
	}
}

// writeStreamStep makes a step that prints a recorded stream.
func writeStreamStep(t *testing.T, name, streamFile string) step {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("testdata", "streams", streamFile))
	if err != nil {
		t.Fatal(err)
	}
	return step{Name: name, Tier: 1, Run: "cat " + abs, Parse: "gotest"}
}

func TestStrictModeHasNoHoles(t *testing.T) {
	dir := t.TempDir()
	steps := []step{
		// Every test of this step skipped: a hole in strict mode.
		{Name: "all skipped", Tier: 1, Parse: "gotest", Run: `printf '%s\n' '{"Action":"run","Package":"p","Test":"TestX"}' '{"Action":"output","Package":"p","Test":"TestX","Output":"    x_test.go:3: SKIP: set TF_ACC=1\n"}' '{"Action":"skip","Package":"p","Test":"TestX"}'`},
		// Skipped by its unless condition without being a gated suite.
		{Name: "docker smoke", Tier: 3, Run: "true", Unless: "false", SkipReason: "cached verdict: dockerd does not start"},
		// A gated suite's skip is expected.
		{Name: "kind suite", Tier: 3, Run: "true", Unless: "false", SkipReason: "no privileged Docker", Gated: "kind"},
		writeStreamStep(t, "skips", "skips.jsonl"),
	}
	var out bytes.Buffer
	strict := run(&out, steps, dir, true)
	// all skipped: 1 failure; docker smoke: 1; kind: gated skip;
	// skips.jsonl: 1 pass, 2 ungated skips → 2 failures, 1 gated skip.
	if strict.passed != 1 || strict.failed != 4 || strict.skipped != 2 {
		t.Errorf("strict: %d passed, %d failed, %d skipped; want 1, 4, 2\n%s", strict.passed, strict.failed, strict.skipped, out.String())
	}
	for _, want := range []string{"--- FAIL all skipped", "every test of this step skipped", "--- FAIL docker smoke", "--- SKIP kind suite", "SKIP (gated kind) kind suite: no privileged Docker"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	var sum bytes.Buffer
	strict.summary(&sum)
	if got := sum.String(); !strings.Contains(got, "1 passed, 4 failed, 2 skipped") || !strings.Contains(got, "gated: kind (2 skipped: no privileged Docker)") {
		t.Errorf("summary = %q", got)
	}

	out.Reset()
	lax := run(&out, steps, dir, false)
	if lax.passed != 1 || lax.failed != 0 || lax.skipped != 6 {
		t.Errorf("non-strict: %d passed, %d failed, %d skipped; want 1, 0, 6\n%s", lax.passed, lax.failed, lax.skipped, out.String())
	}
}

func TestEveryTestRunsInExactlyOneStep(t *testing.T) {
	steps := []step{writeStreamStep(t, "unit", "parallel.jsonl"), writeStreamStep(t, "acceptance", "parallel.jsonl")}
	var out bytes.Buffer
	tot := run(&out, steps, t.TempDir(), false)
	if tot.failed != 1+5 || !strings.Contains(out.String(), `also ran in step "unit"`) {
		t.Errorf("a test run by two steps must fail: %d failed\n%s", tot.failed, out.String())
	}
}

func TestLoadStepsRejectsUnknownFieldsAndParsers(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("steps:\n  - name: x\n    run: true\n    prase: exit\n")
	if _, err := loadSteps(dir); err == nil {
		t.Error("unknown field accepted")
	}
	write("steps:\n  - name: x\n    run: true\n    parse: junit\n")
	if _, err := loadSteps(dir); err == nil {
		t.Error("unknown parser accepted")
	}
	write("steps:\n  - {name: x, run: 'true', unless: 'false', gated: docker}\n")
	if _, err := loadSteps(dir); err == nil {
		t.Error("unknown gated suite accepted")
	}
	write("steps:\n  - {name: x, run: 'true', gated: kind}\n")
	if _, err := loadSteps(dir); err == nil {
		t.Error("gated step without its unless condition accepted")
	}
	write("steps:\n  - {name: late, tier: 3, run: 'true'}\n  - {name: early, tier: 0, run: 'true'}\n")
	steps, err := loadSteps(dir)
	if err != nil || len(steps) != 2 || steps[0].Name != "early" {
		t.Errorf("steps not ordered by tier: %v %v", steps, err)
	}
}

// The project's own plan loads.
func TestProjectPlanLoads(t *testing.T) {
	steps, err := loadSteps(filepath.Join("..", "..", "plan"))
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) < 10 {
		t.Errorf("only %d steps in test/plan", len(steps))
	}
}

// Every known gated suite has its line in the summary.
func TestSummaryListsEveryGatedSuite(t *testing.T) {
	tot := &totals{gated: map[string][]string{}}
	for suite := range knownGated {
		tot.gated[suite] = []string{"because " + suite}
	}
	var sum bytes.Buffer
	tot.summary(&sum)
	for suite := range knownGated {
		if want := suite + " (1 skipped: because " + suite + ")"; !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q: %q", want, sum.String())
		}
	}
}
