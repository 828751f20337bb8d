package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The delivery rules the GitHub workflows must keep (docs/delivery.md):
//   - third-party actions pinned by commit SHA with the version in a comment,
//     job and service containers pinned by digest;
//   - only jobs in the protected "production" environment touch production
//     tags or the release packages, and every job that pushes or signs images
//     signs keyless (id-token: write);
//   - secrets other than GITHUB_TOKEN are read only by jobs that declare a
//     GitHub environment (environment secrets, not repository secrets);
//   - a gated suite that needs a secret is skipped without it, not passed;
//   - every image build's context holds its Dockerfile, and both apps publish;
//   - Flux verifies production against the identity of the workflow whose
//     production job signs.

// Repository is the GitHub repository the workflows run in (keyless
// signing identities name it).
const Repository = "sre-platform/platform"

var (
	reSHAPin     = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@]+)?@[0-9a-f]{40}$`)
	reVersion    = regexp.MustCompile(`^#\s*v[0-9]+(\.[0-9]+)*\b`)
	reDigest     = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	reProduction = regexp.MustCompile(`\bproduction-|RELEASE_|/release/`)
	reSecret     = regexp.MustCompile(`secrets\.([A-Za-z_][A-Za-z0-9_]*)`)
	reMatrix     = regexp.MustCompile(`\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}`)
	reNeedsOut   = regexp.MustCompile(`needs\.([A-Za-z0-9_-]+)\.outputs\.`)
)

// gatedSuites are commands that need a secret: their job must be skipped
// (by an if: on a job that checks the secret) when the secret is absent.
var gatedSuites = map[string]string{"test:hcloud": "HCLOUD_TOKEN"}

type job struct {
	file, id string
	node     *yaml.Node
	line     int
}

func (j job) at() string { return fmt.Sprintf("%s:%d: job %s", j.file, j.line, j.id) }

func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalars lists every scalar value under n, skipping the values of the keys
// in skip (names and descriptions say nothing about what a job does).
func scalars(n *yaml.Node, skip map[string]bool) []string {
	var out []string
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.ScalarNode:
			out = append(out, n.Value)
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if !skip[n.Content[i].Value] {
					walk(n.Content[i+1])
				}
			}
		case yaml.SequenceNode, yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	if n != nil {
		walk(n)
	}
	return out
}

var skipNames = map[string]bool{"name": true, "description": true}

func environment(j *yaml.Node) string {
	e := mapGet(j, "environment")
	if e == nil {
		return ""
	}
	if e.Kind == yaml.MappingNode {
		if n := mapGet(e, "name"); n != nil {
			return n.Value
		}
		return ""
	}
	return e.Value
}

func permission(wf, j *yaml.Node, name string) string {
	for _, n := range []*yaml.Node{mapGet(j, "permissions"), mapGet(wf, "permissions")} {
		if n == nil {
			continue
		}
		if n.Kind == yaml.ScalarNode {
			return n.Value // read-all / write-all
		}
		if p := mapGet(n, name); p != nil {
			return p.Value
		}
		return "" // a job's permissions block replaces the workflow's
	}
	return ""
}

// LintWorkflows checks the workflows under root/.github/workflows against the
// rules above and returns one line per problem, "file:line: what".
func LintWorkflows(root string) ([]string, error) {
	files, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.y*ml"))
	sort.Strings(files)
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	signers := map[string]bool{}      // workflow files with a production job that signs
	otherSigners := map[string]bool{} // workflow files that sign outside production
	published := map[string]bool{}    // build contexts of images.yml
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		wf := doc.Content[0]
		name := filepath.Base(f)
		rel := ".github/workflows/" + name

		// Secrets in workflow-level env reach every job, environment or not.
		for _, s := range scalars(mapGet(wf, "env"), nil) {
			for _, m := range reSecret.FindAllStringSubmatch(s, -1) {
				if m[1] != "GITHUB_TOKEN" {
					add("%s: workflow env reads secrets.%s: read it in a job that declares its GitHub environment", rel, m[1])
				}
			}
		}

		jobs := mapGet(wf, "jobs")
		if jobs == nil {
			continue
		}
		byID := map[string]job{}
		var order []job
		for i := 0; i+1 < len(jobs.Content); i += 2 {
			j := job{file: rel, id: jobs.Content[i].Value, node: jobs.Content[i+1], line: jobs.Content[i].Line}
			byID[j.id] = j
			order = append(order, j)
		}
		for _, j := range order {
			text := strings.Join(scalars(j.node, skipNames), "\n")
			env := environment(j.node)

			// Pinned actions and images.
			var walk func(*yaml.Node)
			walk = func(n *yaml.Node) {
				if n.Kind == yaml.MappingNode {
					for i := 0; i+1 < len(n.Content); i += 2 {
						k, v := n.Content[i], n.Content[i+1]
						if k.Value == "uses" && v.Kind == yaml.ScalarNode {
							switch u := v.Value; {
							case strings.HasPrefix(u, "./"):
							case strings.HasPrefix(u, "docker://"):
								if !reDigest.MatchString(u) {
									add("%s:%d: %s is not pinned by digest (docker://image@sha256:…)", rel, v.Line, u)
								}
							case !reSHAPin.MatchString(u):
								add("%s:%d: action %s is not pinned by a full commit SHA", rel, v.Line, u)
							case !reVersion.MatchString(v.LineComment):
								add("%s:%d: action %s has no version comment (# vX.Y.Z)", rel, v.Line, u)
							}
						}
						walk(v)
					}
				}
				for _, c := range n.Content {
					if n.Kind != yaml.MappingNode {
						walk(c)
					}
				}
			}
			walk(j.node)
			images := map[*yaml.Node]string{}
			if c := mapGet(j.node, "container"); c != nil {
				if c.Kind == yaml.ScalarNode {
					images[c] = "container"
				} else if im := mapGet(c, "image"); im != nil {
					images[im] = "container.image"
				}
			}
			if svcs := mapGet(j.node, "services"); svcs != nil {
				for i := 0; i+1 < len(svcs.Content); i += 2 {
					if im := mapGet(svcs.Content[i+1], "image"); im != nil {
						images[im] = "services." + svcs.Content[i].Value + ".image"
					}
				}
			}
			for n, field := range images {
				if !reDigest.MatchString(n.Value) {
					add("%s:%d: job %s %s %q is not pinned by digest (image@sha256:…)", rel, n.Line, j.id, field, n.Value)
				}
			}

			// Production tags and release packages: the production environment only.
			if m := reProduction.FindString(text); m != "" && env != "production" {
				add("%s touches production tags or the release packages (%q) outside environment: production", j.at(), m)
			}
			signs := strings.Contains(text, "cosign sign")
			if signs && permission(wf, j.node, "id-token") != "write" && permission(wf, j.node, "id-token") != "write-all" {
				add("%s signs with cosign but lacks permissions id-token: write (keyless signing)", j.at())
			}
			pushes := permission(wf, j.node, "packages") == "write" || strings.Contains(text, "imagetools create")
			if pushes && !signs {
				add("%s can push images but signs none (cosign sign)", j.at())
			}
			if signs && env == "production" {
				signers[name] = true
			} else if signs {
				otherSigners[name] = true
			}

			// Secrets come from GitHub environments.
			for _, m := range reSecret.FindAllStringSubmatch(text, -1) {
				if m[1] != "GITHUB_TOKEN" && env == "" {
					add("%s reads secrets.%s without an environment: keep secrets in a GitHub environment and declare it on the job", j.at(), m[1])
				}
			}

			// Gated suites are skipped, not passed, without their secret.
			for cmd, secret := range gatedSuites {
				if !strings.Contains(text, cmd) {
					continue
				}
				gated := false
				if cond := mapGet(j.node, "if"); cond != nil {
					for _, m := range reNeedsOut.FindAllStringSubmatch(cond.Value, -1) {
						if g, ok := byID[m[1]]; ok && strings.Contains(strings.Join(scalars(g.node, skipNames), "\n"), "secrets."+secret) {
							gated = true
						}
					}
				}
				if !gated {
					add("%s runs %s but is not skipped without %s (if: on the output of a job that checks the secret)", j.at(), cmd, secret)
				}
			}

			// Image builds: the context holds the Dockerfile, for every matrix value.
			steps := mapGet(j.node, "steps")
			if steps == nil {
				continue
			}
			for _, st := range steps.Content {
				u := mapGet(st, "uses")
				if u == nil || !strings.HasPrefix(u.Value, "docker/build-push-action@") {
					continue
				}
				with := mapGet(st, "with")
				ctx, file := mapGet(with, "context"), mapGet(with, "file")
				if ctx == nil {
					add("%s:%d: build without context", rel, u.Line)
					continue
				}
				for _, vals := range expand(j.node, ctx.Value, file) {
					c, fl := vals[0], vals[1]
					if fl == "" {
						fl = filepath.Join(c, "Dockerfile")
					}
					if !strings.HasPrefix(filepath.Clean(fl)+"/", filepath.Clean(c)+"/") {
						add("%s:%d: Dockerfile %s is outside the build context %s", rel, ctx.Line, fl, c)
					}
					if _, err := os.Stat(filepath.Join(root, fl)); err != nil {
						add("%s:%d: build context %s has no Dockerfile %s", rel, ctx.Line, c, fl)
					}
					if name == "images.yml" {
						published[filepath.Clean(c)] = true
					}
				}
			}
		}
	}
	if len(files) > 0 {
		for _, app := range []string{"apps/backend", "apps/frontend"} {
			if _, err := os.Stat(filepath.Join(root, app)); err == nil && !published[app] {
				add(".github/workflows/images.yml: does not build %s (context %s)", app, app)
			}
		}
	}
	problems = append(problems, verifyIdentities(root, signers, otherSigners)...)
	return problems, nil
}

// expand substitutes ${{ matrix.X }} in a build's context and file with each
// value of the job's matrix.
func expand(j *yaml.Node, ctx string, file *yaml.Node) [][2]string {
	f := ""
	if file != nil {
		f = file.Value
	}
	out := [][2]string{{ctx, f}}
	matrix := mapGet(mapGet(j, "strategy"), "matrix")
	for _, key := range reMatrix.FindAllStringSubmatch(ctx+" "+f, -1) {
		vals := mapGet(matrix, key[1])
		if vals == nil {
			continue
		}
		var next [][2]string
		for _, o := range out {
			for _, v := range vals.Content {
				r := func(s string) string {
					return regexp.MustCompile(`\$\{\{\s*matrix\.`+regexp.QuoteMeta(key[1])+`\s*\}\}`).ReplaceAllString(s, v.Value)
				}
				next = append(next, [2]string{r(o[0]), r(o[1])})
			}
		}
		out = next
	}
	return out
}

// verifyIdentities: every cosign verification Flux does for production
// (spec.verify of OCIRepositories under flux/apps/*/production) accepts the
// keyless identity of a workflow whose production job signs, on main, and
// rejects the identity of every workflow that signs elsewhere.
func verifyIdentities(root string, signers, others map[string]bool) []string {
	files, _ := filepath.Glob(filepath.Join(root, "flux", "apps", "*", "production", "*", "*.yaml"))
	var out []string
	identity := func(wf, ref string) string {
		return "https://github.com/" + Repository + "/.github/workflows/" + wf + "@" + ref
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		rel, _ := filepath.Rel(root, f)
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		for {
			var o struct {
				Kind     string `yaml:"kind"`
				Metadata struct{ Name string }
				Spec     struct {
					Verify struct {
						Provider          string                             `yaml:"provider"`
						MatchOIDCIdentity []struct{ Issuer, Subject string } `yaml:"matchOIDCIdentity"`
					} `yaml:"verify"`
				} `yaml:"spec"`
			}
			if err := dec.Decode(&o); err != nil {
				break
			}
			if o.Kind != "OCIRepository" || o.Spec.Verify.Provider != "cosign" {
				continue
			}
			accepts := func(subject string) bool {
				for _, id := range o.Spec.Verify.MatchOIDCIdentity {
					iss, e1 := regexp.Compile(id.Issuer)
					sub, e2 := regexp.Compile(id.Subject)
					if e1 == nil && e2 == nil && iss.MatchString("https://token.actions.githubusercontent.com") && sub.MatchString(subject) {
						return true
					}
				}
				return false
			}
			ok := false
			for wf := range signers {
				ok = ok || accepts(identity(wf, "refs/heads/main"))
				if accepts(identity(wf, "refs/heads/not-main")) {
					out = append(out, fmt.Sprintf("%s: OCIRepository %s accepts %s from any branch", rel, o.Metadata.Name, wf))
				}
			}
			if !ok {
				out = append(out, fmt.Sprintf("%s: OCIRepository %s accepts no signature of a production job (signing workflows in environment production: %v)", rel, o.Metadata.Name, keys(signers)))
			}
			for wf := range others {
				if accepts(identity(wf, "refs/heads/main")) {
					out = append(out, fmt.Sprintf("%s: OCIRepository %s accepts signatures of %s, which signs outside environment production", rel, o.Metadata.Name, wf))
				}
			}
		}
	}
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
