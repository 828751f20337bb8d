package lint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sre-platform/platform/test/testenv"
)

// linkFromRepo makes root stand in for the repository as far as hack/ needs:
// the scripts and the pinned tools module are this checkout's own.
func linkFromRepo(t *testing.T, root string, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		dst := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(testenv.RepoRoot(), rel), dst); err != nil {
			t.Fatal(err)
		}
	}
}

// golangciCase is one linter of .golangci.yml shown at work: a file that
// trips it and the same file fixed.
type golangciCase struct {
	linter     string
	bad, good  string   // bodies after the package clause and imports
	imports    []string // of both files
	fixImports []string // what only the fixed file needs
	want       string   // part of the finding's message
}

// Each defect sits in its own file under apps/ (product code, where gosec and
// revive's exported rule apply) and on a line of its own: golangci-lint
// reports one issue per line.
var golangciCases = []golangciCase{
	{linter: "errcheck", imports: []string{`"os"`},
		bad:  "// Lock narrows a file's mode.\nfunc Lock(p string) {\n\tos.Chmod(p, 0o600)\n}\n",
		good: "// Lock narrows a file's mode.\nfunc Lock(p string) error {\n\treturn os.Chmod(p, 0o600)\n}\n",
		want: "Error return value of `os.Chmod` is not checked"},
	{linter: "ineffassign",
		bad:  "// Count counts.\nfunc Count(k int) int {\n\tn := k\n\tn = 2\n\treturn n\n}\n",
		good: "// Count counts.\nfunc Count(k int) int {\n\tn := k\n\treturn n + 2\n}\n",
		want: "ineffectual assignment to n"},
	{linter: "staticcheck", imports: []string{`"strings"`},
		bad:  "// Upper upper-cases s.\nfunc Upper(s string) string {\n\tstrings.ToUpper(s)\n\treturn s\n}\n",
		good: "// Upper upper-cases s.\nfunc Upper(s string) string {\n\treturn strings.ToUpper(s)\n}\n",
		want: "SA4017"},
	{linter: "govet", imports: []string{`"fmt"`},
		bad:  "// Show prints a name.\nfunc Show(name string) {\n\tfmt.Printf(\"%d\\n\", name)\n}\n",
		good: "// Show prints a name.\nfunc Show(name string) {\n\tfmt.Printf(\"%s\\n\", name)\n}\n",
		want: "printf: fmt.Printf format %d has arg name of wrong type string"},
	{linter: "unused",
		bad:  "func helper() int { return 1 }\n",
		good: "func helper() int { return 1 }\n\n// Helped uses helper.\nfunc Helped() int { return helper() }\n",
		want: "func helper is unused"},
	{linter: "gosec", imports: []string{`"os"`},
		bad:  "// Save writes b to p.\nfunc Save(p string, b []byte) error {\n\treturn os.WriteFile(p, b, 0o644)\n}\n",
		good: "// Save writes b to p.\nfunc Save(p string, b []byte) error {\n\treturn os.WriteFile(p, b, 0o600)\n}\n",
		want: "G306: Expect WriteFile permissions to be 0600 or less"},
	{linter: "misspell",
		bad:  "// Receive recieves nothing.\nfunc Receive() {}\n", //nolint:misspell // the defect this case injects
		good: "// Receive receives nothing.\nfunc Receive() {}\n",
		want: "`recieves` is a misspelling of `receives`"}, //nolint:misspell // the finding it must produce
	{linter: "revive",
		bad:  "func Exported() {}\n",
		good: "// Exported is documented.\nfunc Exported() {}\n",
		want: "exported function Exported should have comment or be unexported"},
	{linter: "errorlint", fixImports: []string{`"errors"`},
		bad:  "// Missing reports errNotFound.\nfunc Missing(err error) bool {\n\treturn err == errNotFound\n}\n",
		good: "// Missing reports errNotFound.\nfunc Missing(err error) bool {\n\treturn errors.Is(err, errNotFound)\n}\n",
		want: "comparing with == will fail on wrapped errors"},
	{linter: "bodyclose", imports: []string{`"net/http"`},
		bad:  "// Ping asks a fixed address.\nfunc Ping() (int, error) {\n\tresp, err := http.Get(\"http://127.0.0.1:1/\")\n\tif err != nil {\n\t\treturn 0, err\n\t}\n\treturn resp.StatusCode, nil\n}\n",
		good: "// Ping asks a fixed address.\nfunc Ping() (int, error) {\n\tresp, err := http.Get(\"http://127.0.0.1:1/\")\n\tif err != nil {\n\t\treturn 0, err\n\t}\n\tdefer resp.Body.Close()\n\treturn resp.StatusCode, nil\n}\n",
		want: "response body must be closed"},
	{linter: "nilerr",
		bad:  "// Check swallows an error.\nfunc Check(k string) error {\n\tif err := find(k); err != nil {\n\t\treturn nil\n\t}\n\treturn nil\n}\n",
		good: "// Check passes an error on.\nfunc Check(k string) error {\n\tif err := find(k); err != nil {\n\t\treturn err\n\t}\n\treturn nil\n}\n",
		want: "but it returns nil"},
}

func goFile(imports []string, body string) string {
	s := "package demo\n\n"
	if len(imports) > 0 {
		s += "import (\n\t" + strings.Join(imports, "\n\t") + "\n)\n\n"
	}
	return s + body
}

// TestGolangciLintFailsOnEachLinterClass runs hack/lint.sh golangci (the
// pinned golangci-lint with the repository's .golangci.yml) on a scratch
// module: with every file fixed it passes; with one defect per enabled linter
// it fails and names each file and linter. A file under test/ with gosec's
// and revive's findings is never reported: the config scopes them to product
// code.
func TestGolangciLintFailsOnEachLinterClass(t *testing.T) {
	root := t.TempDir()
	linkFromRepo(t, root, "hack", filepath.Join("test", "tools", "golangci-lint"))
	cfg, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), ".golangci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, ".golangci.yml"), string(cfg))
	write(t, filepath.Join(root, "go.mod"), "module example.com/demo\n\ngo 1.26\n")
	write(t, filepath.Join(root, "apps", "demo", "demo.go"), "// Package demo holds one file per linter.\npackage demo\n\n"+
		"import \"errors\"\n\nvar errNotFound = errors.New(\"not found\")\n\n"+
		"func find(k string) error {\n\tif k == \"\" {\n\t\treturn errNotFound\n\t}\n\treturn nil\n}\n")
	tool := filepath.Join("test", "tool", "tool.go")
	write(t, filepath.Join(root, tool), "// Package tool is test tooling.\npackage tool\n\nimport \"os\"\n\n"+
		"func Save(p string, b []byte) error {\n\treturn os.WriteFile(p, b, 0o644)\n}\n")
	cache := "PLATFORM_CACHE=" + testenv.CacheDir() // the pinned build, not a rebuild

	for _, c := range golangciCases {
		write(t, filepath.Join(root, "apps", "demo", c.linter+".go"), goFile(slices.Concat(c.imports, c.fixImports), c.good))
	}
	if out, err := runLint(t, "golangci", root, cache); err != nil {
		t.Fatalf("golangci-lint failed on the fixed module: %v\n%s", err, out)
	}

	for _, c := range golangciCases {
		write(t, filepath.Join(root, "apps", "demo", c.linter+".go"), goFile(c.imports, c.bad))
	}
	out, err := runLint(t, "golangci", root, cache)
	if err == nil {
		t.Fatalf("golangci-lint passed on a module with %d defects:\n%s", len(golangciCases), out)
	}
	lines := strings.Split(out, "\n")
	for _, c := range golangciCases {
		file := filepath.ToSlash(filepath.Join("apps", "demo", c.linter+".go")) + ":"
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, file) && strings.Contains(l, c.want) && strings.HasSuffix(l, "("+c.linter+")") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no finding %q in %s", c.linter, c.want, file)
		}
	}
	if strings.Contains(out, filepath.ToSlash(tool)) {
		t.Errorf("a finding in test tooling (%s), which the config exempts from gosec and revive", tool)
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
