package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// goEvent is one line of `go test -json` (cmd/test2json) output.
type goEvent struct {
	Action      string
	Package     string
	Test        string
	Output      string
	ImportPath  string // build-output / build-fail events
	FailedBuild string // set on a package's fail event when its build failed
}

type goTest struct {
	name   string
	action string // "" while running (never ended: the binary died), pass, fail, skip
	out    strings.Builder
}

type goPackage struct {
	path        string
	action      string
	failedBuild string
	out         strings.Builder // output not attributed to a test
	tests       map[string]*goTest
	order       []string
}

// gatedRe recognises the skip message of a gated suite (testenv.Gate):
// "gated <suite>: <reason>".
var gatedRe = regexp.MustCompile(`^gated ([a-z0-9-]+): (.*)$`)

// parseGoTest turns `go test -json` output into counts of leaf tests: a test
// that has subtests is not a test of its own (its result is the sum of its
// subtests'), unless it failed while none of its subtests did (a check in the
// parent itself). A package failure counts only when no test in it failed
// (build error, TestMain, a panic or timeout before any test ran); a test that
// started but never ended in a failed package (panic, timeout) failed. Every
// failing leaf is reported with its own output.
func parseGoTest(out []byte) result {
	pkgs := map[string]*goPackage{}
	var pkgOrder []string
	builds := map[string]*strings.Builder{} // ImportPath → build output
	pkg := func(path string) *goPackage {
		p := pkgs[path]
		if p == nil {
			p = &goPackage{path: path, tests: map[string]*goTest{}}
			pkgs[path] = p
			pkgOrder = append(pkgOrder, path)
		}
		return p
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var e goEvent
		if json.Unmarshal(line, &e) != nil {
			continue
		}
		switch e.Action {
		case "build-output":
			b := builds[e.ImportPath]
			if b == nil {
				b = &strings.Builder{}
				builds[e.ImportPath] = b
			}
			b.WriteString(e.Output)
			continue
		case "build-fail":
			continue
		}
		if e.Package == "" {
			continue
		}
		p := pkg(e.Package)
		if e.Test == "" {
			switch e.Action {
			case "output":
				p.out.WriteString(e.Output)
			case "pass", "fail", "skip":
				p.action = e.Action
				p.failedBuild = e.FailedBuild
			}
			continue
		}
		t := p.tests[e.Test]
		if t == nil {
			t = &goTest{name: e.Test}
			p.tests[e.Test] = t
			p.order = append(p.order, e.Test)
		}
		switch e.Action {
		case "output":
			t.out.WriteString(e.Output)
		case "pass", "fail", "skip":
			t.action = e.Action
		}
	}

	var r result
	for _, path := range pkgOrder {
		p := pkgs[path]
		names := append([]string(nil), p.order...)
		sort.Strings(names)
		// A name is a parent when the next name in sorted order extends it
		// with "/" (sorting puts "A/…" right after "A" unless another "A…"
		// sorts between, so check every later name with the prefix).
		isParent := map[string]bool{}
		for i, n := range names {
			for _, m := range names[i+1:] {
				if strings.HasPrefix(m, n+"/") {
					isParent[n] = true
					break
				}
				if !strings.HasPrefix(m, n) {
					break
				}
			}
		}
		failedBelow := map[string]bool{} // parents with a failing descendant
		for _, n := range names {
			t := p.tests[n]
			if t.action == "fail" || (t.action == "" && p.action == "fail") {
				for i := strings.LastIndex(n, "/"); i > 0; i = strings.LastIndex(n[:i], "/") {
					failedBelow[n[:i]] = true
				}
			}
		}
		pkgFailedTests := 0
		for _, n := range p.order {
			t := p.tests[n]
			key := path + " " + n
			action := t.action
			if action == "" {
				if p.action != "fail" {
					continue // still running in a stream cut short: not a result
				}
				action = "fail" // started, never ended: the binary died in it
			}
			if isParent[n] && !(action == "fail" && !failedBelow[n]) {
				continue
			}
			r.leaves = append(r.leaves, leaf{key, action})
			switch action {
			case "pass":
				r.passed++
			case "fail":
				r.failed++
				pkgFailedTests++
				r.failures = append(r.failures, key+testOutput(&t.out, 40))
			case "skip":
				r.skipped++
				reason := skipReason(&t.out)
				sk := skipInfo{name: key, reason: reason}
				if m := gatedRe.FindStringSubmatch(reason); m != nil {
					sk.gated, sk.reason = m[1], m[2]
				}
				r.skips = append(r.skips, sk)
			}
		}
		if p.action == "fail" && pkgFailedTests == 0 {
			r.failed++
			what := "package failed outside any test (TestMain, init, or a panic/timeout before a test ran)"
			body := testOutput(&p.out, 40)
			if p.failedBuild != "" {
				what = "build failed"
				if b := builds[p.failedBuild]; b != nil {
					body = testOutput(b, 40)
				}
			}
			r.failures = append(r.failures, path+": "+what+body)
		}
	}
	return r
}

// testOutput is the tail of a test's own output without the runner's
// === RUN/PAUSE/CONT framing, indented for the report.
func testOutput(b *strings.Builder, n int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		if strings.HasPrefix(l, "=== RUN") || strings.HasPrefix(l, "=== PAUSE") || strings.HasPrefix(l, "=== CONT") || strings.HasPrefix(l, "=== NAME") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) == 0 {
		return ""
	}
	// Long output: its head (the first failure, a panic or timeout message)
	// and its tail.
	if head := n / 3; len(keep) > n {
		cut := len(keep) - n
		keep = append(append(keep[:head:head], fmt.Sprintf("… (%d lines left out; full output in the step log)", cut)), keep[head+cut:]...)
	}
	return "\n        " + strings.Join(keep, "\n        ")
}

// skipReason is the first message line a skipped test logged.
func skipReason(b *strings.Builder) string {
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

// fuzzExecs reads `go test -fuzz` output: the number of executions of the
// last progress line, or an error when no fuzz target matched.
func parseFuzz(out []byte) result {
	var r result
	s := string(out)
	if strings.Contains(s, "no fuzz tests to fuzz") || strings.Contains(s, "matches no fuzz tests") {
		r.failed = 1
		r.failures = append(r.failures, "the -fuzz pattern matches no fuzz target (renamed or removed?)")
		return r
	}
	m := fuzzExecsRe.FindAllStringSubmatch(s, -1)
	if strings.Contains(s, "--- FAIL") || fuzzFailRe.MatchString(s) {
		// A crasher, a stalled worker or a failing seed: one failed check,
		// whatever the fuzzer executed before.
		r.failed = 1
		r.failures = append(r.failures, "the fuzz run failed"+tail(out, 25))
		if len(m) > 0 {
			r.note = fmt.Sprintf("%s executions", m[len(m)-1][1])
		}
		return r
	}
	if len(m) == 0 {
		r.failed = 1
		r.failures = append(r.failures, "no fuzzing progress in the output (did the fuzzer run?)"+tail(out, 25))
		return r
	}
	r.passed = 1
	r.note = fmt.Sprintf("%s executions", m[len(m)-1][1])
	return r
}

var (
	fuzzExecsRe = regexp.MustCompile(`fuzz: elapsed: \S+, execs: (\d+)`)
	fuzzFailRe  = regexp.MustCompile(`(?m)^FAIL\b`)
)
