package node_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/sre-platform/platform/provider/internal/acctest"
)

func etcdS3ServerHCL(extra string) string {
	return fmt.Sprintf(clusterHCL, "s3", k3sVersion) + `
resource "platform_k3s_server" "s1" {
  name           = "s3-cp-1"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  cluster_init   = true
  wait_for_ready = false
  drain          = false
  ` + extra + `
}
`
}

// etcd_s3 and etcd_snapshot_retention are checked at plan and reach the
// server's k3s config as k3s' etcd-s3-* keys; a new secret key replaces the
// server (the settings are part of its cloud-init).
func TestAccEtcdS3Snapshots(t *testing.T) {
	env := acctest.Start(t, acctest.Options{Speed: 50})
	s3 := func(secret string) string {
		return `etcd_snapshot_cron      = "0 */6 * * *"
  etcd_snapshot_retention = 28
  etcd_s3 = {
    endpoint   = "fsn1.your-objectstorage.com"
    bucket     = "platform-etcd"
    folder     = "clusters/s3"
    region     = "fsn1"
    access_key = "AKIAEXAMPLE"
    secret_key = "` + secret + `"
  }`
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy:             func(*terraform.State) error { return env.CheckNoLeaks() },
		Steps: []resource.TestStep{
			{Config: etcdS3ServerHCL(`etcd_s3 = {
    endpoint   = "https://fsn1.your-objectstorage.com"
    bucket     = "Platform_Etcd"
    access_key = "a"
    secret_key = "b"
  }`), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Invalid etcd_s3.*without a scheme.*bucket "Platform_Etcd"`)},
			{Config: etcdS3ServerHCL(`etcd_snapshot_retention = 0`), PlanOnly: true, ExpectError: regexp.MustCompile(`between 1 and 1000`)},
			{Config: etcdS3ServerHCL(`etcd_s3 = {
    endpoint   = "fsn1.your-objectstorage.com"
    bucket     = "platform-etcd"
    access_key = "a"
  }`), PlanOnly: true, ExpectError: regexp.MustCompile(`attribute "secret_key" is\s+required`)},
			{
				Config: etcdS3ServerHCL(s3("first-secret")),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "etcd_s3.bucket", "platform-etcd"),
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "etcd_snapshot_retention", "28"),
					func(*terraform.State) error {
						ud := env.UserData("s3-cp-1")
						for _, want := range []string{"etcd-snapshot-schedule-cron: 0 */6 * * *\n", "etcd-snapshot-retention: 28\n",
							"etcd-s3: true\n", "etcd-s3-endpoint: fsn1.your-objectstorage.com\n", "etcd-s3-bucket: platform-etcd\n",
							"etcd-s3-folder: clusters/s3\n", "etcd-s3-region: fsn1\n", "etcd-s3-access-key: AKIAEXAMPLE\n",
							"etcd-s3-secret-key: first-secret\n"} {
							if !strings.Contains(ud, want) {
								return fmt.Errorf("server user data lacks %q", strings.TrimSpace(want))
							}
						}
						return nil
					}),
			},
			{
				Config: etcdS3ServerHCL(s3("rotated-secret")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("platform_k3s_server.s1", plancheck.ResourceActionReplace)}},
				Check: func(*terraform.State) error {
					if ud := env.UserData("s3-cp-1"); !strings.Contains(ud, "etcd-s3-secret-key: rotated-secret\n") {
						return fmt.Errorf("the replacement server's user data lacks the new secret key")
					}
					return nil
				},
			},
		},
	})
}
