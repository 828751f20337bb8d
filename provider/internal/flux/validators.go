package flux

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	kresource "k8s.io/apimachinery/pkg/api/resource"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/sre-platform/platform/provider/internal/tfval"
)

var (
	operatorVersionRe = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)
	// Flux distribution versions the operator resolves: an exact release or a
	// semver range such as 2.x, 2.9.x, >=2.8.0 <2.10.0.
	distributionVersionRe = regexp.MustCompile(`^[<>=~^ ]*v?\d+(\.(\d+|x|\*))?(\.(\d+|x|\*))?(\s*[<>=~^ ]+\s*v?\d+(\.(\d+|x|\*))?(\.(\d+|x|\*))?)*$`)
	registryRe            = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(/[a-z0-9._/-]+)?$`)
	dnsNameRe             = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
	secretNameRe          = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$`)
	ageKeyRe              = regexp.MustCompile(`^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$`)
)

func matches(re *regexp.Regexp, what string) func(string) error {
	return func(s string) error {
		if !re.MatchString(s) {
			return fmt.Errorf("%q is not %s", s, what)
		}
		return nil
	}
}

var (
	validOperatorVersion = tfval.StringCheck{
		Desc: "a Flux Operator release tag such as v0.59.0", Summary: "Invalid Flux Operator version",
		Check: matches(operatorVersionRe, "a Flux Operator release tag such as \"v0.59.0\""),
	}
	validDistributionVersion = tfval.StringCheck{
		Desc: "a Flux version or semver range such as 2.x or 2.9.x", Summary: "Invalid Flux distribution version",
		Check: matches(distributionVersionRe, "a Flux version or semver range such as \"2.x\", \"2.9.x\" or \"2.9.6\""),
	}
	validRegistry = tfval.StringCheck{
		Desc: "a container registry host and path without scheme, e.g. ghcr.io/fluxcd", Summary: "Invalid registry",
		Check: matches(registryRe, "a container registry host and path without scheme, e.g. \"ghcr.io/fluxcd\""),
	}
	validDomain = tfval.StringCheck{
		Desc: "a DNS domain such as cluster.local", Summary: "Invalid cluster domain",
		Check: matches(dnsNameRe, "a DNS domain such as \"cluster.local\""),
	}
	validSecretName = tfval.StringCheck{
		Desc: "a Kubernetes object name (lowercase letters, digits, '-' and '.')", Summary: "Invalid Secret name",
		Check: matches(secretNameRe, "a Kubernetes object name (lowercase letters, digits, '-' and '.', at most 253 characters)"),
	}
	validManifestURL = tfval.StringCheck{
		Desc: "an http(s) URL", Summary: "Invalid operator manifest URL",
		Check: func(s string) error {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("%q is not an http(s) URL such as %s", s, OperatorManifestURL(DefaultOperatorVersion))
			}
			return nil
		},
	}
	validManifestPath = tfval.StringCheck{
		Desc: "a readable local file", Summary: "Operator manifest file not found",
		Check: func(s string) error {
			st, err := os.Stat(s)
			if err != nil {
				return fmt.Errorf("operator_manifest_path %q: %w", s, err)
			}
			if st.IsDir() {
				return fmt.Errorf("operator_manifest_path %q is a directory; point it at the install.yaml file", s)
			}
			return nil
		},
	}
	validQuantity = tfval.StringCheck{
		Desc: "a Kubernetes quantity such as 10Gi", Summary: "Invalid storage size",
		Check: func(s string) error {
			q, err := kresource.ParseQuantity(s)
			if err != nil || q.Sign() <= 0 {
				return fmt.Errorf("%q is not a positive Kubernetes quantity such as \"10Gi\"", s)
			}
			return nil
		},
	}
	validPatch = tfval.StringCheck{
		Desc: "a strategic merge patch or a JSON6902 patch list, in YAML or JSON", Summary: "Invalid kustomize patch",
		Check: func(s string) error {
			if strings.TrimSpace(s) == "" {
				return fmt.Errorf("the patch is empty")
			}
			var v any
			if err := sigyaml.Unmarshal([]byte(s), &v); err != nil {
				return fmt.Errorf("the patch is not valid YAML: %w", err)
			}
			switch v.(type) {
			case map[string]any, []any:
				return nil
			}
			return fmt.Errorf("the patch must be a strategic merge patch (a YAML object) or a JSON6902 patch (a YAML list of operations)")
		},
	}

	// validAgeKey accepts age-keygen's output: keys one per line, comments
	// and blank lines allowed, at least one key.
	validAgeKey = tfval.StringCheck{
		Desc: "one or more age secret keys (age-keygen output)", Summary: "Invalid SOPS age key",
		Check: func(s string) error {
			keys := 0
			for i, line := range strings.Split(s, "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				if !ageKeyRe.MatchString(line) {
					return fmt.Errorf("line %d is not an age secret key: expected AGE-SECRET-KEY-1 followed by 58 upper-case bech32 characters (the output of age-keygen)", i+1)
				}
				keys++
			}
			if keys == 0 {
				return fmt.Errorf("no age secret key found (expected a line starting with AGE-SECRET-KEY-1)")
			}
			return nil
		},
	}
	validTimeout = tfval.StringCheck{
		Desc: "a Go duration between 1s and 24h, e.g. 10m", Summary: "Invalid timeout",
		Check: func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil || d < time.Second || d > 24*time.Hour {
				return fmt.Errorf("%q must be a Go duration between 1s and 24h, e.g. \"10m\" or \"90s\"", s)
			}
			return nil
		},
	}
)

// syncURLCheck returns why url does not suit the sync kind.
func syncURLCheck(kind, u string) error {
	switch kind {
	case "GitRepository":
		if !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "ssh://")) {
			return fmt.Errorf("a GitRepository URL must start with https://, http:// or ssh://, got %q", u)
		}
	case "OCIRepository":
		if !strings.HasPrefix(u, "oci://") {
			return fmt.Errorf("an OCIRepository URL must start with oci://, got %q", u)
		}
	case "Bucket":
		if strings.Contains(u, "://") {
			return fmt.Errorf("a Bucket URL is the endpoint host (and port) without scheme, e.g. \"s3.amazonaws.com\", got %q", u)
		}
	}
	return nil
}
