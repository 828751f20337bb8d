package lint

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sre-platform/platform/test/testenv"
)

func TestWorkflowsKeepTheDeliveryRules(t *testing.T) {
	problems, err := LintWorkflows(testenv.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

const (
	pinnedCheckout = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
	pinnedCosign   = "sigstore/cosign-installer@398d4b0eeef1380460a10c8013a76f728fb906ac # v3.9.1"
)

// A compliant promotion: production environment, keyless signing.
const goodPromote = `name: promote
on: workflow_dispatch
permissions:
  contents: read
jobs:
  promote:
    runs-on: ubuntu-24.04
    environment: production
    permissions:
      id-token: write
    steps:
      - uses: ` + pinnedCheckout + `
      - uses: ` + pinnedCosign + `
      - env:
          TOKEN: ${{ secrets.RELEASE_REGISTRY_TOKEN }}
        run: |
          docker buildx imagetools create --tag ghcr.io/o/release/app:production-${{ github.run_number }}-abc1234 ghcr.io/o/app@sha256:x
          cosign sign --yes ghcr.io/o/release/app@sha256:y
`

// verifyDoc is a production signature gate accepting one identity.
func verifyDoc(issuer, subject string) string {
	return `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: app-release
spec:
  verify:
    provider: cosign
    matchOIDCIdentity:
      - issuer: '` + issuer + `'
        subject: '` + subject + `'
`
}

var goodVerify = verifyDoc(`^https://token\.actions\.githubusercontent\.com$`, `^https://github\.com/sre-platform/platform/\.github/workflows/promote\.yml@refs/heads/main$`)

// Each broken workflow must be reported with this message; the compliant
// files beside it must not be.
func TestWorkflowLintReportsViolations(t *testing.T) {
	cases := []struct {
		name, workflow, flux, want string
	}{
		{"unpinned action", "jobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n",
			"", "bad.yml:5: action actions/checkout@v4 is not pinned by a full commit SHA"},
		{"SHA without version comment", "jobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n",
			"", "has no version comment (# vX.Y.Z)"},
		{"container by tag", "jobs:\n  a:\n    runs-on: x\n    container: debian:bookworm\n    steps:\n      - run: true\n",
			"", `job a container "debian:bookworm" is not pinned by digest`},
		{"production tag outside the production environment", `on: workflow_dispatch
jobs:
  sneaky:
    runs-on: x
    permissions:
      packages: write
      id-token: write
    steps:
      - run: |
          docker buildx imagetools create --tag ghcr.io/o/app:production-9999999999 ghcr.io/o/app:main-abc
          cosign sign --yes ghcr.io/o/app:production-9999999999
`, "", "job sneaky touches production tags or the release packages (\"production-\") outside environment: production"},
		{"repository secret in e2e", "jobs:\n  kind:\n    runs-on: x\n    steps:\n      - env:\n          T: ${{ secrets.FLUX_GIT_TOKEN }}\n        run: go tool task test:kind\n",
			"", "job kind reads secrets.FLUX_GIT_TOKEN without an environment"},
		{"ungated Hetzner suite", "jobs:\n  hcloud:\n    runs-on: x\n    environment: e2e-hetzner\n    env:\n      HCLOUD_TOKEN: ${{ secrets.HCLOUD_TOKEN }}\n    steps:\n      - run: go tool task test:hcloud\n",
			"", "job hcloud runs test:hcloud but is not skipped without HCLOUD_TOKEN"},
		{"workflow-level secret", "env:\n  T: ${{ secrets.HCLOUD_TOKEN }}\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: true\n",
			"", "workflow env reads secrets.HCLOUD_TOKEN"},
		{"push without signing", "jobs:\n  build:\n    runs-on: x\n    permissions:\n      packages: write\n    steps:\n      - run: docker push ghcr.io/o/app:main-abc\n",
			"", "job build can push images but signs none"},
		{"signing without an OIDC token", "jobs:\n  build:\n    runs-on: x\n    permissions:\n      packages: write\n    steps:\n      - run: cosign sign --yes ghcr.io/o/app@sha256:x\n",
			"", "job build signs with cosign but lacks permissions id-token: write"},
		{"Flux accepts any branch", "", verifyDoc(`.*`, `^https://github\.com/sre-platform/platform/\.github/workflows/promote\.yml@.*$`),
			"OCIRepository app-release accepts promote.yml from any branch"},
		{"Flux accepts another workflow", "", verifyDoc(`.*`, `^https://github\.com/sre-platform/platform/\.github/workflows/images\.yml@refs/heads/main$`),
			"OCIRepository app-release accepts no signature of a production job"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, filepath.Join(root, ".github", "workflows", "promote.yml"), goodPromote)
			if c.workflow != "" {
				write(t, filepath.Join(root, ".github", "workflows", "bad.yml"), c.workflow)
			}
			verify := goodVerify
			if c.flux != "" {
				verify = c.flux
			}
			write(t, filepath.Join(root, "flux", "apps", "app", "production", "signature", "ocirepository.yaml"), verify)
			problems, err := LintWorkflows(root)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					found = true
				} else if !strings.Contains(p, "bad.yml") && c.flux == "" {
					t.Errorf("problem in a compliant file: %s", p)
				}
			}
			if !found {
				t.Errorf("no problem contains %q; got:\n  %s", c.want, strings.Join(problems, "\n  "))
			}
		})
	}

	// The compliant files alone pass.
	root := t.TempDir()
	write(t, filepath.Join(root, ".github", "workflows", "promote.yml"), goodPromote)
	write(t, filepath.Join(root, "flux", "apps", "app", "production", "signature", "ocirepository.yaml"), goodVerify)
	if problems, err := LintWorkflows(root); err != nil || len(problems) > 0 {
		t.Errorf("compliant workflow: %v %v", err, problems)
	}
}
