package secret

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/sre-platform/platform/provider/internal/tfval"
)

// MaxSize is the API server's limit on the summed size of a Secret's values.
const MaxSize = 1 << 20

// problems joins apimachinery's validation messages into one error.
func problems(what, value string, msgs []string) error {
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s %q is invalid: %s", what, value, strings.Join(msgs, "; "))
}

var (
	validNamespace = tfval.StringCheck{
		Desc: "a namespace name (a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters)", Summary: "Invalid namespace",
		Check: func(s string) error {
			return problems("namespace", s, validation.IsDNS1123Label(s))
		},
	}
	validName = tfval.StringCheck{
		Desc: "a Secret name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 characters)", Summary: "Invalid Secret name",
		Check: func(s string) error {
			return problems("name", s, validation.IsDNS1123Subdomain(s))
		},
	}
	validType = tfval.StringCheck{
		Desc: "a Secret type such as Opaque or kubernetes.io/tls", Summary: "Invalid Secret type",
		Check: func(s string) error {
			switch {
			case strings.TrimSpace(s) == "":
				return fmt.Errorf("type must not be empty: use Opaque (the default) for arbitrary keys")
			case s == "kubernetes.io/service-account-token":
				return fmt.Errorf("type kubernetes.io/service-account-token is not supported: such Secrets need the annotation kubernetes.io/service-account.name and are filled by the token controller")
			}
			return nil
		},
	}
)

// mapCheck validates a map(string) key by key (and optionally as a whole).
type mapCheck struct {
	desc, summary string
	key           func(k string) error
	value         func(k, v string) error
	all           func(m map[string]string) error
}

func (v mapCheck) Description(context.Context) string             { return v.desc }
func (v mapCheck) MarkdownDescription(ctx context.Context) string { return v.desc }
func (v mapCheck) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	elems := req.ConfigValue.Elements()
	keys := make([]string, 0, len(elems))
	for k := range elems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	known := map[string]string{}
	allKnown := true
	for _, k := range keys {
		if v.key != nil {
			if err := v.key(k); err != nil {
				resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), v.summary, err.Error())
			}
		}
		s, ok := elems[k].(types.String)
		if !ok || s.IsNull() || s.IsUnknown() {
			allKnown = false
			continue
		}
		known[k] = s.ValueString()
		if v.value != nil {
			if err := v.value(k, s.ValueString()); err != nil {
				resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), v.summary, err.Error())
			}
		}
	}
	if v.all != nil && allKnown {
		if err := v.all(known); err != nil {
			resp.Diagnostics.AddAttributeError(req.Path, v.summary, err.Error())
		}
	}
}

var (
	validData = mapCheck{
		desc:    "Secret keys (letters, digits, '-', '_' and '.', at most 253 characters) with string values, at most 1 MiB in total",
		summary: "Invalid Secret data",
		key: func(k string) error {
			return problems("key", k, validation.IsConfigMapKey(k))
		},
		all: func(m map[string]string) error {
			total := 0
			for _, v := range m {
				total += len(v)
			}
			if total > MaxSize {
				return fmt.Errorf("the values add up to %d bytes; a Secret holds at most %d bytes (1 MiB)", total, MaxSize)
			}
			return nil
		},
	}
	validLabels = mapCheck{
		desc:    "Kubernetes labels: qualified names as keys (optionally prefixed, e.g. example.com/team), values of at most 63 characters",
		summary: "Invalid label",
		key: func(k string) error {
			return problems("label key", k, validation.IsQualifiedName(k))
		},
		value: func(k, v string) error {
			return problems("value of label "+k+":", v, validation.IsValidLabelValue(v))
		},
	}
)

// requiredKeys are the data keys the API server requires for a Secret type
// (one of them for basic-auth).
var requiredKeys = map[string]struct {
	keys  []string
	anyOf bool
}{
	"kubernetes.io/dockercfg":        {keys: []string{".dockercfg"}},
	"kubernetes.io/dockerconfigjson": {keys: []string{".dockerconfigjson"}},
	"kubernetes.io/basic-auth":       {keys: []string{"username", "password"}, anyOf: true},
	"kubernetes.io/ssh-auth":         {keys: []string{"ssh-privatekey"}},
	"kubernetes.io/tls":              {keys: []string{"tls.crt", "tls.key"}},
}

// missingKeys returns why data lacks what typ requires ("" when nothing).
func missingKeys(typ string, data map[string]bool) string {
	req, ok := requiredKeys[typ]
	if !ok {
		return ""
	}
	var missing []string
	for _, k := range req.keys {
		if !data[k] {
			missing = append(missing, k)
		}
	}
	switch {
	case len(missing) == 0, req.anyOf && len(missing) < len(req.keys):
		return ""
	case req.anyOf:
		return fmt.Sprintf("a Secret of type %s needs at least one of the keys %s in data", typ, strings.Join(req.keys, ", "))
	}
	return fmt.Sprintf("a Secret of type %s needs the key(s) %s in data", typ, strings.Join(missing, ", "))
}
