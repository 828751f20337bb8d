package lint

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sre-platform/platform/test/testenv"
)

// scratchCheckout makes a tree that builds like the repository: provider/ is
// a copy (free to change), every other top-level entry a link to this
// checkout.
func scratchCheckout(t *testing.T) string {
	t.Helper()
	repo := testenv.RepoRoot()
	root := t.TempDir()
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".git", ".cache", "provider":
			continue
		}
		linkFromRepo(t, root, e.Name())
	}
	if err := os.CopyFS(filepath.Join(root, "provider"), os.DirFS(filepath.Join(repo, "provider"))); err != nil {
		t.Fatal(err)
	}
	return root
}

var descriptionLiteral = regexp.MustCompile(`Description:\s*("(?:[^"\\]|\\.){40,}")`)

// changeOneDescription appends to one schema description of the provider's
// source, picked so that its text is in exactly one committed page and
// written exactly once in the source, and returns that page.
func changeOneDescription(t *testing.T, root string, pages map[string]string) string {
	t.Helper()
	type hit struct{ file, literal, text string }
	var hits []hit
	err := filepath.WalkDir(filepath.Join(root, "provider"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range descriptionLiteral.FindAllStringSubmatch(string(src), -1) {
			if text, err := strconv.Unquote(m[1]); err == nil {
				hits = append(hits, hit{p, m[1], text})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		written := 0 // literals holding h's text, h included
		for _, o := range hits {
			if strings.Contains(o.text, h.text) {
				written++
			}
		}
		if written != 1 {
			continue
		}
		var in []string
		for page, body := range pages {
			if strings.Contains(body, h.text) {
				in = append(in, page)
			}
		}
		if len(in) != 1 {
			continue
		}
		src, err := os.ReadFile(h.file)
		if err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(src), h.literal, strconv.Quote(h.text+" Changed without regenerating the docs."), 1)
		write(t, h.file, changed)
		t.Logf("changed a description in %s (rendered in %s)", h.file[len(root)+1:], in[0])
		return in[0]
	}
	t.Fatalf("no schema description in provider/ is rendered in exactly one page of provider/docs (%d descriptions)", len(hits))
	return ""
}

// TestProviderDocsCheckNamesStalePages runs hack/provider-docs.sh --check
// (tfplugindocs fed the schema of the provider built from the tree) on a
// scratch copy of the repository: unchanged it passes; with a schema
// description changed in the Go source, a committed page edited by hand, one
// page deleted and one page that nothing renders added, it fails and names
// each of those pages, and no other.
func TestProviderDocsCheckNamesStalePages(t *testing.T) {
	root := scratchCheckout(t)
	cache := "PLATFORM_CACHE=" + testenv.CacheDir() // the pinned tfplugindocs build
	if out, err := runLint(t, "provider-docs", root, cache); err != nil {
		t.Fatalf("provider-docs check failed on an unchanged copy: %v\n%s", err, out)
	}

	docs := filepath.Join(root, "provider", "docs")
	pages := map[string]string{}
	err := filepath.WalkDir(docs, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		pages[filepath.ToSlash(p[len(root)+1:])] = string(body)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	described := changeOneDescription(t, root, pages)
	var others []string
	for page := range pages {
		if page != described {
			others = append(others, page)
		}
	}
	slices.Sort(others)
	if len(others) < 2 {
		t.Fatalf("provider/docs has %d pages; the test needs three", len(pages))
	}
	edited, deleted := others[0], others[1]
	write(t, filepath.Join(root, edited), pages[edited]+"\nA line written by hand.\n")
	if err := os.Remove(filepath.Join(root, deleted)); err != nil {
		t.Fatal(err)
	}
	extra := "provider/docs/resources/retired.md"
	write(t, filepath.Join(root, extra), "# a page no resource renders\n")

	out, err := runLint(t, "provider-docs", root, cache)
	if err == nil {
		t.Fatalf("provider-docs check passed with stale docs:\n%s", out)
	}
	want := []string{"stale:   " + described, "stale:   " + edited, "missing: " + deleted, "extra:   " + extra}
	var got []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "stale:") || strings.HasPrefix(l, "missing:") || strings.HasPrefix(l, "extra:") {
			got = append(got, l)
		}
	}
	if !strings.Contains(out, "-A line written by hand.") {
		t.Errorf("output does not show the diff of %s:\n%s", edited, out)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("pages named:\n  %s\nwant:\n  %s\noutput:\n%s", strings.Join(got, "\n  "), strings.Join(want, "\n  "), out)
	}
}
