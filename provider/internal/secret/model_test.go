package secret

import (
	"maps"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sre-platform/platform/provider/internal/kube"
)

func TestSecretFromModel(t *testing.T) {
	m := model{
		Namespace: types.StringValue("kube-system"), Name: types.StringValue("hcloud"), Type: types.StringNull(),
		Data:   stringMap(map[string]string{"token": "t", "network": "42"}),
		Labels: types.MapNull(types.StringType),
	}
	s := m.secret()
	if s.Namespace != "kube-system" || s.Name != "hcloud" || s.Type != "Opaque" {
		t.Errorf("secret %+v", s)
	}
	if !maps.Equal(s.Data, map[string]string{"token": "t", "network": "42"}) {
		t.Errorf("data %v", s.Data)
	}
	if !maps.Equal(s.Labels, map[string]string{kube.ManagedByLabel: kube.FieldManager}) {
		t.Errorf("labels %v", s.Labels)
	}
	// Labels may override the managed-by label.
	m.Labels = stringMap(map[string]string{kube.ManagedByLabel: "terraform", "team": "sre"})
	m.Type = types.StringValue("kubernetes.io/tls")
	s = m.secret()
	if s.Labels[kube.ManagedByLabel] != "terraform" || s.Labels["team"] != "sre" || s.Type != "kubernetes.io/tls" {
		t.Errorf("secret %+v", s)
	}
	if m.id() != "kube-system/hcloud" {
		t.Errorf("id %q", m.id())
	}
}

func TestReflectLiveKeepsOnlyManagedKeys(t *testing.T) {
	m := model{
		Type:   types.StringValue("Opaque"),
		Data:   stringMap(map[string]string{"token": "t", "network": "42", "gone": "x"}),
		Labels: stringMap(map[string]string{"team": "sre", "tier": "infra"}),
	}
	live := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "ops", kube.ManagedByLabel: kube.FieldManager, "other": "y"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"token": []byte("changed"), "network": []byte("42"), "foreign": []byte("z")},
	}
	m.reflectLive(live)
	if got := entries(m.Data); !maps.Equal(got, map[string]string{"token": "changed", "network": "42"}) {
		t.Errorf("data %v: want the managed keys with live values, no foreign key, the removed key absent", got)
	}
	if got := entries(m.Labels); !maps.Equal(got, map[string]string{"team": "ops"}) {
		t.Errorf("labels %v", got)
	}

	// Null labels stay null; the live type is recorded.
	m = model{Type: types.StringValue("Opaque"), Data: stringMap(map[string]string{"a": "1"}), Labels: types.MapNull(types.StringType)}
	m.reflectLive(&corev1.Secret{Type: "kubernetes.io/tls", Data: map[string][]byte{"a": []byte("1")}})
	if !m.Labels.IsNull() || m.Type.ValueString() != "kubernetes.io/tls" {
		t.Errorf("labels %v type %v", m.Labels, m.Type)
	}
	// Every key gone: an empty map, not null (a diff against the config).
	m.reflectLive(&corev1.Secret{Type: "Opaque"})
	if m.Data.IsNull() || len(m.Data.Elements()) != 0 {
		t.Errorf("data %v, want an empty map", m.Data)
	}
}

func TestMissingKeys(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		keys []string
		want string // substring; "" means none missing
	}{
		{"Opaque", nil, ""},
		{"example.com/custom", nil, ""},
		{"kubernetes.io/tls", []string{"tls.crt", "tls.key"}, ""},
		{"kubernetes.io/tls", []string{"tls.crt"}, "needs the key(s) tls.key"},
		{"kubernetes.io/dockerconfigjson", []string{"config.json"}, ".dockerconfigjson"},
		{"kubernetes.io/basic-auth", []string{"password"}, ""},
		{"kubernetes.io/basic-auth", []string{"user"}, "at least one of the keys username, password"},
		{"kubernetes.io/ssh-auth", nil, "ssh-privatekey"},
	} {
		keys := map[string]bool{}
		for _, k := range tc.keys {
			keys[k] = true
		}
		got := missingKeys(tc.typ, keys)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("missingKeys(%s, %v) = %q, want %q", tc.typ, tc.keys, got, tc.want)
		}
	}
}
