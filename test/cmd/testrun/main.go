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
//	exit    the step is one check: exit code 0 passes
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

type step struct {
	Name  string `yaml:"name"`
	Tier  int    `yaml:"tier"`
	Run   string `yaml:"run"`
	Parse string `yaml:"parse"`
	// Skip, when set, is a shell condition; if it exits non-zero the step is
	// skipped and SkipReason is printed instead (used for gated tiers only).
	Unless     string `yaml:"unless"`
	SkipReason string `yaml:"skip_reason"`
	file       string
}

type planFile struct {
	Steps []step `yaml:"steps"`
}

type result struct {
	passed, failed, skipped int
	skips                   []string
	failures                []string
	dur                     time.Duration
	err                     error
}

var tierNames = map[int]string{
	0: "tier 0 static",
	1: "tier 1 unit",
	2: "tier 2 acceptance",
	3: "tier 3 e2e",
}

func main() {
	planDir := flag.String("plan", "test/plan", "directory of step files")
	tiers := flag.String("tiers", "", "comma-separated tiers to run (default: all)")
	only := flag.String("only", "", "run only steps whose name contains this text")
	logDir := flag.String("logs", ".cache/test-logs", "where each step's full output is written")
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

	var total result
	start := time.Now()
	lastTier := -1
	for _, s := range steps {
		if len(want) > 0 && !want[s.Tier] {
			continue
		}
		if *only != "" && !strings.Contains(s.Name, *only) {
			continue
		}
		if s.Tier != lastTier {
			fmt.Printf("\n=== %s\n", tierName(s.Tier))
			lastTier = s.Tier
		}
		r := runStep(s, *logDir)
		total.passed += r.passed
		total.failed += r.failed
		total.skipped += r.skipped
		status := "PASS"
		switch {
		case r.failed > 0 || r.err != nil:
			status = "FAIL"
		case r.passed == 0 && r.skipped > 0:
			status = "SKIP"
		}
		fmt.Printf("--- %s %s (%d passed, %d failed, %d skipped) %s\n", status, s.Name, r.passed, r.failed, r.skipped, r.dur.Round(100*time.Millisecond))
		for _, f := range r.failures {
			fmt.Printf("      FAIL %s\n", f)
		}
		for _, sk := range r.skips {
			fmt.Printf("      SKIP %s\n", sk)
		}
		if r.err != nil {
			fmt.Printf("      %v (full output: %s)\n", r.err, logPath(*logDir, s))
		}
	}
	fmt.Printf("\ntotal time %s\n", time.Since(start).Round(time.Second))
	fmt.Printf("%d passed, %d failed, %d skipped\n", total.passed, total.failed, total.skipped)
	if total.failed > 0 {
		os.Exit(1)
	}
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
			case "", "exit", "gotest", "tftest", "vitest", "playwright":
			default:
				return nil, fmt.Errorf("%s: step %q: unknown parse %q", f, s.Name, s.Parse)
			}
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
		if c.Run() != nil {
			reason := s.SkipReason
			if reason == "" {
				reason = "condition not met: " + s.Unless
			}
			return result{skipped: 1, skips: []string{s.Name + ": " + reason}, dur: time.Since(start)}
		}
	}
	lf, err := os.Create(logPath(logDir, s))
	if err != nil {
		return result{failed: 1, err: err}
	}
	defer lf.Close()

	cmd := exec.Command("bash", "-o", "pipefail", "-c", s.Run)
	cmd.Stdin = nil
	var buf bytes.Buffer
	w := io.MultiWriter(&buf, lf)
	cmd.Stdout = w
	cmd.Stderr = w
	runErr := cmd.Run()
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

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n        " + strings.Join(lines, "\n        ")
}

type goEvent struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func parseGoTest(out []byte) result {
	var r result
	outputs := map[string]*strings.Builder{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var e goEvent
		if json.Unmarshal(line, &e) != nil {
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if b := outputs[key]; b != nil {
				b.WriteString(e.Output)
			} else {
				sb := &strings.Builder{}
				sb.WriteString(e.Output)
				outputs[key] = sb
			}
		case "pass":
			if e.Test != "" {
				r.passed++
			}
		case "fail":
			if e.Test != "" {
				r.failed++
				if !strings.Contains(e.Test, "/") {
					r.failures = append(r.failures, key+indent(outputs[key], 30))
				}
			} else if b := outputs[key]; b != nil && strings.Contains(b.String(), "FAIL") && !strings.Contains(b.String(), "--- FAIL") {
				// Package-level failure with no failing test: build error,
				// panic outside a test, TestMain failure.
				r.failed++
				r.failures = append(r.failures, e.Package+indent(b, 30))
			}
		case "skip":
			if e.Test != "" {
				r.skipped++
				r.skips = append(r.skips, key+": "+skipReason(outputs[key]))
			}
		}
	}
	// Build failures are reported on stdout without JSON framing by older
	// toolchains; count them too.
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "FAIL\t") && strings.Contains(l, "[build failed]") {
			r.failed++
			r.failures = append(r.failures, strings.TrimSpace(l))
		}
	}
	return r
}

func skipReason(b *strings.Builder) string {
	if b == nil {
		return "(no reason given)"
	}
	for _, l := range strings.Split(b.String(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		// strip "file_test.go:12: " prefixes
		if i := strings.Index(l, ".go:"); i >= 0 {
			if j := strings.Index(l[i+4:], ": "); j >= 0 {
				l = l[i+4+j+2:]
			}
		}
		return l
	}
	return "(no reason given)"
}

func indent(b *strings.Builder, n int) string {
	if b == nil {
		return ""
	}
	return tail([]byte(b.String()), n)
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
