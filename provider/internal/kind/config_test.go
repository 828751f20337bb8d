package kind

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

func port(container, host int64, addr, proto string) portModel {
	p := portModel{ContainerPort: types.Int64Value(container), HostPort: types.Int64Null(), ListenAddress: types.StringNull(), Protocol: types.StringNull()}
	if host != 0 {
		p.HostPort = types.Int64Value(host)
	}
	if addr != "" {
		p.ListenAddress = types.StringValue(addr)
	}
	if proto != "" {
		p.Protocol = types.StringValue(proto)
	}
	return p
}

func labels(kv ...string) types.Map {
	m := map[string]attr.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = types.StringValue(kv[i+1])
	}
	return types.MapValueMust(types.StringType, m)
}

func TestRenderConfig(t *testing.T) {
	m := &model{Name: types.StringValue("local"), NodeImage: types.StringNull()}
	c := renderConfig(m)
	if len(c.Nodes) != 1 || c.Nodes[0].Role != v1alpha4.ControlPlaneRole || c.Nodes[0].Image != DefaultNodeImage {
		t.Fatalf("default nodes %+v", c.Nodes)
	}
	if !strings.HasPrefix(DefaultNodeImage, "kindest/node:v1.37.0@sha256:") {
		t.Fatalf("kind v0.33.0 default image changed: %s", DefaultNodeImage)
	}

	m.NodeImage = types.StringValue("kindest/node:v1.36.2")
	m.Nodes = []nodeModel{
		{Role: types.StringValue("control-plane"), Labels: labels("ingress-ready", "true"),
			ExtraPortMappings: []portModel{port(80, 8080, "127.0.0.1", ""), port(443, 8443, "127.0.0.1", "TCP")}},
		{Role: types.StringValue("worker"), Labels: types.MapNull(types.StringType)},
	}
	y, err := configYAML(renderConfig(m))
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: kind.x-k8s.io/v1alpha4
kind: Cluster
name: local
networking: {}
nodes:
- extraPortMappings:
  - containerPort: 80
    hostPort: 8080
    listenAddress: 127.0.0.1
  - containerPort: 443
    hostPort: 8443
    listenAddress: 127.0.0.1
    protocol: TCP
  image: kindest/node:v1.36.2
  labels:
    ingress-ready: "true"
  role: control-plane
- image: kindest/node:v1.36.2
  role: worker
`
	if y != want {
		t.Fatalf("config:\n%s\nwant:\n%s", y, want)
	}
	if errs := validateConfig(renderConfig(m)); len(errs) != 0 {
		t.Fatalf("valid config refused: %v", errs)
	}
}

func TestValidateConfig(t *testing.T) {
	cp := func(ports ...portModel) nodeModel {
		return nodeModel{Role: types.StringValue("control-plane"), ExtraPortMappings: ports, Labels: types.MapNull(types.StringType)}
	}
	worker := func(l types.Map, ports ...portModel) nodeModel {
		return nodeModel{Role: types.StringValue("worker"), ExtraPortMappings: ports, Labels: l}
	}
	for name, tc := range map[string]struct {
		nodes []nodeModel
		want  string
	}{
		"no control plane":     {[]nodeModel{worker(types.MapNull(types.StringType))}, "at least one node with role control-plane"},
		"same host port":       {[]nodeModel{cp(port(80, 8080, "", "")), worker(types.MapNull(types.StringType), port(81, 8080, "", ""))}, "host port 0.0.0.0:8080/TCP is already mapped by nodes[0].extra_port_mappings[0]"},
		"wildcard overlaps":    {[]nodeModel{cp(port(80, 8080, "127.0.0.1", ""), port(81, 8080, "::", ""))}, "already mapped"},
		"bad listen address":   {[]nodeModel{cp(port(80, 8080, "localhost", ""))}, "not an IP address"},
		"bad label key":        {[]nodeModel{cp(), worker(labels("bad key!", "x"))}, `key "bad key!"`},
		"bad label value":      {[]nodeModel{cp(), worker(labels("tier", "has space"))}, `value "has space"`},
		"container port range": {[]nodeModel{cp(port(70000, 0, "", ""))}, "container_port 70000"},
	} {
		t.Run(name, func(t *testing.T) {
			errs := validateConfig(renderConfig(&model{Name: types.StringValue("x"), Nodes: tc.nodes}))
			joined := ""
			for _, e := range errs {
				joined += e.Error() + "\n"
			}
			if !strings.Contains(joined, tc.want) {
				t.Fatalf("errors %q, want one mentioning %q", joined, tc.want)
			}
		})
	}
	// Different protocols, addresses or random host ports do not collide.
	ok := []nodeModel{cp(port(53, 5353, "", "TCP"), port(53, 5353, "", "UDP"), port(80, 0, "", ""), port(81, 0, "", "")),
		worker(types.MapNull(types.StringType), port(80, 9090, "127.0.0.1", ""), port(80, 9090, "127.0.0.2", ""))}
	if errs := validateConfig(renderConfig(&model{Name: types.StringValue("x"), Nodes: ok})); len(errs) != 0 {
		t.Fatalf("valid mappings refused: %v", errs)
	}
}

func TestParseWait(t *testing.T) {
	for s, ok := range map[string]bool{"0s": true, "3m": true, "1h": true, "2h": false, "-1s": false, "soon": false} {
		if _, err := parseWait(types.StringValue(s)); (err == nil) != ok {
			t.Errorf("%q: %v", s, err)
		}
	}
	if d, _ := parseWait(types.StringNull()); d.String() != "3m0s" {
		t.Errorf("default wait %s", d)
	}
}

func TestParseKubeconfig(t *testing.T) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kind-local"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:41235", CertificateAuthorityData: []byte("CA")}
	cfg.AuthInfos["kind-local"] = &clientcmdapi.AuthInfo{ClientCertificateData: []byte("CERT"), ClientKeyData: []byte("KEY")}
	cfg.Contexts["kind-local"] = &clientcmdapi.Context{Cluster: "kind-local", AuthInfo: "kind-local"}
	cfg.CurrentContext = "kind-local"
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseKubeconfig(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if c != (credentials{Endpoint: "https://127.0.0.1:41235", CA: "CA", Cert: "CERT", Key: "KEY"}) {
		t.Fatalf("credentials %+v", c)
	}
	if _, err := parseKubeconfig("current-context: nope\n"); err == nil {
		t.Fatal("a kubeconfig without the current context must fail")
	}
}

func TestImageRe(t *testing.T) {
	for _, s := range []string{DefaultNodeImage, "kindest/node:v1.36.2", "registry.local:5000/kind/node:v1.37.0", "node"} {
		if !imageRe.MatchString(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "Kindest/Node", "kindest/node:v1 bad", "kindest/node@sha256:short"} {
		if imageRe.MatchString(s) {
			t.Errorf("%q accepted", s)
		}
	}
}
