// Command testrun runs the project's hermetic test tiers described by the
// step files in test/plan/*.yaml, prints per tier what ran, what was skipped
// and why, and ends with one summary line "N passed, N failed, N skipped".
//
// Each step is a shell command (run by bash from the repository root) and a
// parser that turns its output into counts:
//
//	gotest  `go test -json` output: one count per test, skip reasons kept
//	tftest  `terraform test` output: "N passed, N failed"
//	vitest  vitest's "Tests  N passed | N failed" line
//	playwright  Playwright's "N passed" / "N failed" / "N skipped" lines
//	fuzz    `go test -fuzz` output: passes when the fuzzer ran (a pattern
//	        that matches no fuzz target fails)
//	exit    the step is one check: exit code 0 passes
//
// Counting rules (docs/testing.md): only leaf tests count (a test with
// subtests is not a test of its own); a package failure counts only when no
// test in it failed; every go test leaf runs in exactly one step; in strict
// mode (PLATFORM_TEST_STRICT=1, what the test task sets) a skip outside the
// gated suites (kind, hcloud) is a failure.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

type step struct {
	Name  string `yaml:"name"`
	Tier  int    `yaml:"tier"`
	Run   string `yaml:"run"`
	Parse string `yaml:"parse"`
	// Unless, when set, is a shell condition; if it exits non-zero the step
	// is skipped and SkipReason is printed instead. Under strict mode such a
	// skip is a failure unless the step names its gated suite (Gated).
	Unless     string `yaml:"unless"`
	SkipReason string `yaml:"skip_reason"`
	// Gated names the gated suite (kind, hcloud) a step belongs to: its
	// skip is expected on machines without that suite's requirement.
	Gated string `yaml:"gated"`
	file  string
}

type planFile struct {
	Steps []step `yaml:"steps"`
}

type skipInfo struct {
	name   string
	reason string
	gated  string // suite name when the skip is a gated suite's (testenv.Gate)
}

// leaf is one counted go test: "package Test/sub" and its action.
type leaf struct{ key, action string }

type result struct {
	passed, failed, skipped int
	skips                   []skipInfo
	failures                []string
	leaves                  []leaf // every go test leaf counted
	note                    string // extra figure for the report line (fuzz executions)
	dur                     time.Duration
	err                     error
}

var tierNames = map[int]string{
	0: "tier 0 static",
	1: "tier 1 unit",
	2: "tier 2 acceptance",
	3: "tier 3 e2e",
}

// knownGated are the suites that may skip even in strict mode: they need
// things a hermetic run cannot have.
var knownGated = map[string]string{
	"kind":         "needs a Docker engine that allows privileged containers",
	"hcloud":       "needs HCLOUD_TOKEN (real Hetzner Cloud)",
	"docker-build": "needs a Docker engine (buildx, and a registry to pull the app Dockerfiles' base images from)",
}

func main() {
	planDir := flag.String("plan", "test/plan", "directory of step files")
	tiers := flag.String("tiers", "", "comma-separated tiers to run (default: all)")
	only := flag.String("only", "", "run only steps whose name contains this text")
	logDir := flag.String("logs", ".cache/test-logs", "where each step's full output is written")
	strict := flag.Bool("strict", os.Getenv("PLATFORM_TEST_STRICT") == "1",
		"fail on holes: a step whose tests all skipped, an ungated skip, a step skipped by its unless condition (default from PLATFORM_TEST_STRICT=1)")
	flag.Parse()

	steps, err := loadSteps(*planDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(2)
	}
	want := map[int]bool{}
	for _, t := range strings.Split(*tiers, ",") {
		if t = strings.TrimSpace(t); t != "" {
			n, err := strconv.Atoi(t)
			if err != nil {
				fmt.Fprintf(os.Stderr, "testrun: bad tier %q\n", t)
				os.Exit(2)
			}
			want[n] = true
		}
	}
	if err := os.MkdirAll(*logDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(2)
	}
	var selected []step
	for _, s := range steps {
		if len(want) > 0 && !want[s.Tier] {
			continue
		}
		if *only != "" && !strings.Contains(s.Name, *only) {
			continue
		}
		selected = append(selected, s)
	}
	if len(selected) == 0 {
		fmt.Fprintln(os.Stderr, "testrun: no step matches -tiers/-only")
		os.Exit(2)
	}
	start := time.Now()
	total := run(os.Stdout, selected, *logDir, *strict)
	fmt.Printf("\ntotal time %s\n", time.Since(start).Round(time.Second))
	total.summary(os.Stdout)
	if total.failed > 0 {
		os.Exit(1)
	}
}

// totals accumulates step results across a run.
type totals struct {
	passed, failed, skipped int
	gated                   map[string][]string // suite → reasons (one per skipped test or step)
	seen                    map[string]string   // go test leaf → step that ran it
}

// run executes the steps in order and prints one report line per step.
func run(w io.Writer, steps []step, logDir string, strict bool) *totals {
	t := &totals{gated: map[string][]string{}, seen: map[string]string{}}
	lastTier := -1
	for _, s := range steps {
		if s.Tier != lastTier {
			fmt.Fprintf(w, "\n=== %s\n", tierName(s.Tier))
			lastTier = s.Tier
		}
		r := runStep(s, logDir)
		t.check(s, &r, strict)
		t.passed += r.passed
		t.failed += r.failed
		t.skipped += r.skipped
		status := "PASS"
		switch {
		case r.failed > 0 || r.err != nil:
			status = "FAIL"
		case r.passed == 0 && r.skipped > 0:
			status = "SKIP"
		}
		note := ""
		if r.note != "" {
			note = ", " + r.note
		}
		fmt.Fprintf(w, "--- %s %s (%d passed, %d failed, %d skipped%s) %s\n", status, s.Name, r.passed, r.failed, r.skipped, note, r.dur.Round(100*time.Millisecond))
		for _, f := range r.failures {
			fmt.Fprintf(w, "      FAIL %s\n", f)
		}
		for _, sk := range r.skips {
			if sk.gated != "" {
				fmt.Fprintf(w, "      SKIP (gated %s) %s: %s\n", sk.gated, sk.name, sk.reason)
			} else {
				fmt.Fprintf(w, "      SKIP %s: %s\n", sk.name, sk.reason)
			}
		}
		if r.err != nil {
			fmt.Fprintf(w, "      %v (full output: %s)\n", r.err, logPath(logDir, s))
		} else if r.failed > 0 {
			fmt.Fprintf(w, "      full output: %s\n", logPath(logDir, s))
		}
	}
	return t
}

// check applies the run-wide rules to one step's result: every go test leaf
// runs in exactly one step, and in strict mode a skip is a hole unless it
// belongs to a gated suite, so a step whose tests all skipped fails.
func (t *totals) check(s step, r *result, strict bool) {
	for _, l := range r.leaves {
		prev, ok := t.seen[l.key]
		if !ok {
			t.seen[l.key] = s.Name
			continue
		}
		// Counted once already: this run of it is a failure of the plan.
		switch l.action {
		case "pass":
			r.passed--
		case "fail":
			r.failed--
		case "skip":
			r.skipped--
			r.skips = slices.DeleteFunc(r.skips, func(sk skipInfo) bool { return sk.name == l.key })
		}
		r.failed++
		r.failures = append(r.failures, fmt.Sprintf("%s also ran in step %q: every test runs in exactly one step", l.key, prev))
	}
	ungated := 0
	for _, sk := range r.skips {
		if sk.gated == "" {
			ungated++
			continue
		}
		if _, ok := knownGated[sk.gated]; !ok {
			r.failed++
			r.failures = append(r.failures, fmt.Sprintf("%s: skipped as gated suite %q, which is not one of the gated suites (%s)", sk.name, sk.gated, gatedNames()))
			continue
		}
		t.gated[sk.gated] = append(t.gated[sk.gated], sk.reason)
	}
	if !strict || ungated == 0 {
		return
	}
	switch {
	case r.passed == 0 && r.failed == 0:
		r.failures = append(r.failures, fmt.Sprintf("strict: every test of this step skipped (%d): a skipped step is not a pass", ungated))
	default:
		r.failures = append(r.failures, fmt.Sprintf("strict: %d test(s) skipped outside the gated suites (listed below): install what they need or gate them", ungated))
	}
	r.failed += ungated
	r.skipped -= ungated
}

func gatedNames() string {
	var names []string
	for n := range knownGated {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (t *totals) summary(w io.Writer) {
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped)
	if len(t.gated) == 0 {
		return
	}
	var parts []string
	for _, suite := range []string{"kind", "hcloud", "docker-build"} {
		reasons := t.gated[suite]
		if len(reasons) == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (%d skipped: %s)", suite, len(reasons), reasons[0]))
	}
	fmt.Fprintf(w, "gated: %s\n", strings.Join(parts, "; "))
}

func tierName(t int) string {
	if n, ok := tierNames[t]; ok {
		return n
	}
	return fmt.Sprintf("tier %d", t)
}

func loadSteps(dir string) ([]step, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var all []step
	names := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var pf planFile
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&pf); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for i, s := range pf.Steps {
			if s.Name == "" || s.Run == "" {
				return nil, fmt.Errorf("%s: step %d needs name and run", f, i+1)
			}
			switch s.Parse {
			case "", "exit", "gotest", "tftest", "vitest", "playwright", "fuzz":
			default:
				return nil, fmt.Errorf("%s: step %q: unknown parse %q", f, s.Name, s.Parse)
			}
			if s.Gated != "" {
				if _, ok := knownGated[s.Gated]; !ok {
					return nil, fmt.Errorf("%s: step %q: gated %q is not a gated suite (%s)", f, s.Name, s.Gated, gatedNames())
				}
				if s.Unless == "" {
					return nil, fmt.Errorf("%s: step %q: gated needs the unless condition that decides it", f, s.Name)
				}
			}
			if prev, ok := names[logPath("", s)]; ok {
				return nil, fmt.Errorf("%s: step %q: its log file name collides with a step in %s", f, s.Name, prev)
			}
			names[logPath("", s)] = f
			s.file = f
			all = append(all, s)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Tier < all[j].Tier })
	return all, nil
}

func logPath(dir string, s step) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s.Name)
	return filepath.Join(dir, name+".log")
}

func runStep(s step, logDir string) result {
	start := time.Now()
	if s.Unless != "" {
		c := exec.Command("bash", "-c", s.Unless)
		if out, err := c.CombinedOutput(); err != nil {
			reason := s.SkipReason
			if reason == "" {
				reason = "condition not met: " + s.Unless
			}
			if why := strings.TrimSpace(string(out)); why != "" {
				reason += " (" + firstLine(why) + ")"
			}
			return result{skipped: 1, skips: []skipInfo{{name: s.Name, reason: reason, gated: s.Gated}}, dur: time.Since(start)}
		}
	}
	lf, err := os.Create(logPath(logDir, s))
	if err != nil {
		return result{failed: 1, err: err}
	}
	defer lf.Close()

	cmd := exec.Command("bash", "-o", "pipefail", "-c", s.Run)
	cmd.Stdin = nil
	var buf lockedBuffer
	w := io.MultiWriter(&buf, lf)
	cmd.Stdout = w
	cmd.Stderr = w
	stop := progress(progressOut, s.Name, start, &buf)
	runErr := cmd.Run()
	stop()
	out := buf.Bytes()

	var r result
	switch s.Parse {
	case "gotest":
		r = parseGoTest(out)
	case "tftest":
		r = parseCounts(out, tfRe, 1, 2, 0)
	case "vitest":
		r = parseVitest(out)
	case "playwright":
		r = parsePlaywright(out)
	case "fuzz":
		r = parseFuzz(out)
	default:
		if runErr == nil {
			r.passed = 1
		} else {
			r.failed = 1
		}
	}
	if runErr != nil {
		if s.Parse == "" || s.Parse == "exit" {
			r.failures = append(r.failures, tail(out, 25))
		} else if r.failed == 0 {
			// The runner itself failed (build error, crash, timeout) without a
			// test failure to show for it: count the step as one failure.
			r.failed++
			r.failures = append(r.failures, s.Name+": "+runErr.Error()+"\n"+tail(out, 25))
		}
	} else if s.Parse != "" && s.Parse != "exit" && r.passed+r.failed+r.skipped == 0 {
		r.failed++
		r.failures = append(r.failures, s.Name+": ran no test")
	}
	r.dur = time.Since(start)
	return r
}

// progressOut receives the "still running" lines of long steps.
var progressOut io.Writer = os.Stdout

// progressEvery is how often a running step reports.
const progressEvery = 30 * time.Second

// progress prints, every progressEvery while a step runs, how long it has
// been running and its latest output line, so a long step is never silent.
func progress(w io.Writer, name string, start time.Time, buf *lockedBuffer) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(w, "    … %s: running for %s; latest: %s\n", name, time.Since(start).Round(time.Second), lastLine(buf.Bytes(), 120))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// lastLine is the last non-empty output line, shortened (JSON events give
// their Output field).
func lastLine(b []byte, max int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(ansi.ReplaceAllString(lines[i], ""))
		if strings.HasPrefix(l, "{") {
			var e struct{ Output string }
			if json.Unmarshal([]byte(l), &e) != nil || strings.TrimSpace(e.Output) == "" {
				continue
			}
			l = strings.TrimSpace(e.Output)
		}
		if l == "" {
			continue
		}
		if len(l) > max {
			l = l[:max] + "…"
		}
		return l
	}
	return "(no output yet)"
}

// lockedBuffer is a bytes.Buffer safe for the progress reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n        " + strings.Join(lines, "\n        ")
}

func parseCounts(out []byte, re *regexp.Regexp, pi, fi, si int) result {
	var r result
	for _, m := range re.FindAllSubmatch(out, -1) {
		p, _ := strconv.Atoi(string(m[pi]))
		f, _ := strconv.Atoi(string(m[fi]))
		r.passed += p
		r.failed += f
		if si > 0 {
			s, _ := strconv.Atoi(string(m[si]))
			r.skipped += s
		}
	}
	return r
}

var (
	tfRe       = regexp.MustCompile(`(\d+) passed, (\d+) failed`)
	ansi       = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	vitestLine = regexp.MustCompile(`(?m)^\s*Tests\s+(.*)$`)
	countWord  = regexp.MustCompile(`(\d+) (passed|failed|skipped|todo)`)
	pwLine     = regexp.MustCompile(`(?m)^\s*(\d+) (passed|failed|skipped|flaky)\b`)
)

func parseVitest(out []byte) result {
	var r result
	clean := ansi.ReplaceAll(out, nil)
	for _, m := range vitestLine.FindAllSubmatch(clean, -1) {
		for _, c := range countWord.FindAllSubmatch(m[1], -1) {
			n, _ := strconv.Atoi(string(c[1]))
			switch string(c[2]) {
			case "passed":
				r.passed += n
			case "failed":
				r.failed += n
			default:
				r.skipped += n
			}
		}
	}
	return r
}

func parsePlaywright(out []byte) result {
	var r result
	clean := ansi.ReplaceAll(out, nil)
	for _, m := range pwLine.FindAllSubmatch(clean, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		switch string(m[2]) {
		case "passed":
			r.passed += n
		case "failed":
			r.failed += n
		case "flaky":
			r.failed += n
		default:
			r.skipped += n
		}
	}
	return r
}
