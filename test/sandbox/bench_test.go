package sandbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkThreeClustersMemory runs three one-server clusters at once and
// reports the RSS of their control planes (apiserver + etcd), sampled every
// second for 15 s after each answered some traffic, as a provider would
// cause: the peak of the sum. Target: 4 GiB for the three together.
func BenchmarkThreeClustersMemory(b *testing.B) {
	for b.Loop() {
		threeClustersMemory(b)
	}
}

func threeClustersMemory(t *testing.B) {
	bins := kubeBins(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := startStack(t, bins, t.TempDir(), testSubnet())
	type cl struct {
		pki *ClusterPKI
		srv *hcloud.Server
	}
	var cls []cl
	for i := range 3 {
		pki, err := GenerateClusterPKI()
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("c%d-cp", i)
		ud, _ := RenderCloudInit(CloudInitSpec{Hostname: name, PKI: pki, Config: map[string]any{
			"token": FullToken(pki.ServerCA.CertPEM, fmt.Sprint("secret-", i)), "cluster-init": true}})
		cls = append(cls, cl{pki, s.createServer(ctx, name, ud)})
	}
	for i, c := range cls {
		admin := clientFor(t, "https://"+c.srv.PublicNet.IPv4.IP.String()+":6443", c.pki, "admin", "system:masters")
		eventually(t, 3*time.Minute, c.srv.Name+" Ready", func() error { _, err := nodeReady(ctx, admin, fmt.Sprintf("c%d-cp", i)); return err })
		// A little traffic, as a provider would cause.
		for range 20 {
			if _, err := admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(s.sb.Clusters()) != 3 {
		t.Fatalf("want 3 clusters, got %d", len(s.sb.Clusters()))
	}
	var peak int64
	per := map[string]int64{}
	for range 15 {
		time.Sleep(time.Second)
		var total int64
		for _, st := range s.sb.Clusters() {
			total += st.APIServerMB + st.EtcdMB
			per[st.ID] = max(per[st.ID], st.APIServerMB+st.EtcdMB)
		}
		peak = max(peak, total)
	}
	for id, mb := range per {
		t.Logf("cluster %s: apiserver + etcd peak %d MiB RSS", id, mb)
	}
	t.Logf("three clusters: peak %d MiB RSS in total", peak)
	t.ReportMetric(float64(peak), "MiB_rss_3_clusters")
	t.ReportMetric(float64(peak)/3, "MiB_rss/cluster")
	if peak > 4096 {
		t.Errorf("three control planes use %d MiB RSS, more than 4 GiB", peak)
	}
}
