package flux

import (
	"encoding/base64"
	"encoding/json"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// GHCRServer is the registry the GHCR pull credentials are for.
const GHCRServer = "ghcr.io"

// secretObject builds a Secret in flux-system; values are base64-encoded into
// data so server-side apply owns exactly these keys.
func secretObject(name, typ string, values map[string]string) *unstructured.Unstructured {
	data := map[string]any{}
	for k, v := range values {
		data[k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata": map[string]any{
			"name":      name,
			"namespace": Namespace,
			"labels":    map[string]any{"app.kubernetes.io/managed-by": FieldManager},
		},
		"type": typ,
		"data": data,
	}}
}

// dockerConfigJSON renders a .dockerconfigjson for one registry.
func dockerConfigJSON(server, username, password string) string {
	auth := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
	b, _ := json.Marshal(map[string]any{
		"auths": map[string]any{
			server: map[string]string{"username": username, "password": password, "auth": auth},
		},
	})
	return string(b)
}

// secrets are the Secrets the model asks for, by name.
func (m *model) secrets() map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	if known(m.SopsAgeKey) {
		out[SopsSecret] = secretObject(SopsSecret, "Opaque", map[string]string{SopsSecretKey: m.SopsAgeKey.ValueString()})
	}
	if g := m.GitCredentials; g != nil {
		user, pass := g.Username.ValueString(), g.Password.ValueString()
		if known(g.Token) {
			// Git hosts take a token as the password of HTTPS basic auth;
			// "git" is the conventional user name (GitHub, Gitea).
			user, pass = "git", g.Token.ValueString()
			if known(g.Username) {
				user = g.Username.ValueString()
			}
		}
		out[m.gitSecretName()] = secretObject(m.gitSecretName(), "Opaque", map[string]string{"username": user, "password": pass})
	}
	if g := m.GHCRCredentials; g != nil {
		out[m.ghcrSecretName()] = secretObject(m.ghcrSecretName(), "kubernetes.io/dockerconfigjson", map[string]string{
			".dockerconfigjson": dockerConfigJSON(GHCRServer, g.Username.ValueString(), g.Password.ValueString()),
		})
	}
	return out
}

// secretNames lists the Secrets a model creates, sorted.
func (m *model) secretNames() []string {
	var names []string
	for n := range m.secrets() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
