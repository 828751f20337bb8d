package cluster_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sre-platform/platform/provider/internal/acctest"
	"github.com/sre-platform/platform/provider/internal/k3s"
)

func config(name, version, endpoint string, adminDays int) string {
	ep := ""
	if endpoint != "" {
		ep = fmt.Sprintf("api_endpoint = %q", endpoint)
	}
	return fmt.Sprintf(`
resource "platform_k3s_cluster" "test" {
  name                = %q
  k3s_version         = %q
  admin_validity_days = %d
  %s
}
`, name, version, adminDays, ep)
}

func attrs(s *terraform.State) map[string]string {
	return s.RootModule().Resources["platform_k3s_cluster.test"].Primary.Attributes
}

func TestAccCluster(t *testing.T) {
	var first map[string]string
	capture := func(s *terraform.State) error { first = attrs(s); return nil }

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		Steps: []resource.TestStep{
			{
				Config: config("demo", "v1.31.4+k3s1", "203.0.113.10", 365),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestMatchResourceAttr("platform_k3s_cluster.test", "token", regexp.MustCompile(`^K10[0-9a-f]{64}::server:[0-9a-f]{48}$`)),
					resource.TestMatchResourceAttr("platform_k3s_cluster.test", "agent_token", regexp.MustCompile(`^K10[0-9a-f]{64}::node:[0-9a-f]{48}$`)),
					resource.TestCheckResourceAttr("platform_k3s_cluster.test", "ca_validity_days", "3650"),
					resource.TestCheckResourceAttrSet("platform_k3s_cluster.test", "ca_expires_at"),
					capture,
					func(s *terraform.State) error {
						a := attrs(s)
						cfg, err := clientcmd.Load([]byte(a["kubeconfig"]))
						if err != nil {
							return fmt.Errorf("kubeconfig does not parse: %w", err)
						}
						if got := cfg.Clusters["demo"].Server; got != "https://203.0.113.10:6443" {
							return fmt.Errorf("server %q", got)
						}
						b, err := k3s.DecodeBundle(a["server_bundle"])
						if err != nil {
							return err
						}
						if b.Token != a["token"] || b.AgentToken != a["agent_token"] || b.ServerCA.CertPEM != a["server_ca_certificate"] {
							return fmt.Errorf("bundle does not match the exported tokens and CA")
						}
						return verifyAdmin(a["admin_client_certificate"], a["client_ca_certificate"])
					},
				),
			},
			{
				// A new endpoint re-renders the kubeconfig; the PKI stays.
				Config: config("demo", "v1.31.4+k3s1", "api.demo.example.com", 365),
				Check: func(s *terraform.State) error {
					a := attrs(s)
					for _, k := range []string{"token", "agent_token", "server_bundle", "admin_client_certificate", "id"} {
						if a[k] != first[k] {
							return fmt.Errorf("%s changed on an endpoint update", k)
						}
					}
					cfg, err := clientcmd.Load([]byte(a["kubeconfig"]))
					if err != nil {
						return err
					}
					if got := cfg.Clusters["demo"].Server; got != "https://api.demo.example.com:6443" {
						return fmt.Errorf("server %q", got)
					}
					return nil
				},
			},
			{
				// A new admin validity issues a new admin cert from the same CA.
				Config: config("demo", "v1.32.1+k3s2", "api.demo.example.com", 30),
				Check: func(s *terraform.State) error {
					a := attrs(s)
					if a["admin_client_certificate"] == first["admin_client_certificate"] {
						return fmt.Errorf("admin certificate not renewed")
					}
					if a["token"] != first["token"] || a["server_bundle"] != first["server_bundle"] {
						return fmt.Errorf("cluster PKI changed on an admin renewal")
					}
					return verifyAdmin(a["admin_client_certificate"], a["client_ca_certificate"])
				},
			},
			{
				// Without an endpoint there is no kubeconfig.
				Config: config("demo", "v1.32.1+k3s2", "", 30),
				Check:  resource.TestCheckNoResourceAttr("platform_k3s_cluster.test", "kubeconfig"),
			},
		},
	})
}

func TestAccClusterValidation(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		Steps: []resource.TestStep{
			{Config: config("Demo_1", "v1.31.4+k3s1", "", 365), PlanOnly: true, ExpectError: regexp.MustCompile(`must be a DNS label`)},
			{Config: config("demo", "1.31.4", "", 365), PlanOnly: true, ExpectError: regexp.MustCompile(`vX.Y.Z\+k3sN`)},
			{Config: config("demo", "v1.31.4+k3s1", "https://x:6443", 365), PlanOnly: true, ExpectError: regexp.MustCompile(`Invalid API endpoint`)},
			{Config: config("demo", "v1.31.4+k3s1", "", 0), PlanOnly: true, ExpectError: regexp.MustCompile(`admin_validity_days`)},
		},
	})
}

func verifyAdmin(certPEM, caPEM string) error {
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil {
		return fmt.Errorf("admin certificate is not PEM")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	_, err = c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}
