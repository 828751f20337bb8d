package k3s

import (
	"strings"
	"testing"
)

func validS3() *EtcdS3 {
	return &EtcdS3{Endpoint: "fsn1.your-objectstorage.com", Bucket: "demo-etcd", Folder: "clusters/demo", Region: "eu-central",
		AccessKey: "AKIAEXAMPLE", SecretKey: "s3cr3t/key+value"}
}

// The S3 settings render into the server's k3s config as k3s' own keys, after
// the snapshot schedule, and nothing of them appears without EtcdS3.
func TestEtcdS3RendersK3sKeys(t *testing.T) {
	srv := NodeConfig{Role: RoleServer, K3sVersion: "v1.31.4+k3s1", Token: "K10abc::server:s", ClusterInit: true, NodeName: "s",
		PKI: fakePKI(), EtcdSnapshotCron: "0 */6 * * *", EtcdSnapshotRetention: 28, EtcdS3: validS3()}
	out, err := CloudInit(srv)
	if err != nil {
		t.Fatal(err)
	}
	_, _, files := k3sConfigOf(t, out)
	want := `etcd-snapshot-schedule-cron: 0 */6 * * *
etcd-snapshot-retention: 28
`
	wantS3 := `etcd-s3: true
etcd-s3-endpoint: fsn1.your-objectstorage.com
etcd-s3-bucket: demo-etcd
etcd-s3-folder: clusters/demo
etcd-s3-region: eu-central
etcd-s3-access-key: AKIAEXAMPLE
etcd-s3-secret-key: s3cr3t/key+value
`
	for _, w := range []string{want, wantS3} {
		if cfg := files[ConfigPath]; !strings.Contains(cfg, w) {
			t.Errorf("k3s config lacks the snapshot settings in this form:\n%s\ngot:\n%s", w, cfg)
		}
	}

	// Optional parts left out are not rendered (k3s' defaults apply).
	srv.EtcdSnapshotRetention, srv.EtcdS3.Folder, srv.EtcdS3.Region = 0, "", ""
	out, _ = CloudInit(srv)
	cfg, _, _ := k3sConfigOf(t, out)
	for _, k := range []string{"etcd-snapshot-retention", "etcd-s3-folder", "etcd-s3-region"} {
		if _, ok := cfg[k]; ok {
			t.Errorf("%s rendered though unset", k)
		}
	}
	if cfg["etcd-s3"] != true || cfg["etcd-s3-bucket"] != "demo-etcd" {
		t.Errorf("etcd-s3 = %v, bucket = %v", cfg["etcd-s3"], cfg["etcd-s3-bucket"])
	}

	srv.EtcdS3 = nil
	out, _ = CloudInit(srv)
	if strings.Contains(out, "etcd-s3") {
		t.Error("etcd-s3 keys rendered without EtcdS3")
	}
}

func TestEtcdS3Validation(t *testing.T) {
	server := NodeConfig{Role: RoleServer, K3sVersion: "v1.31.4+k3s1", Token: "K10abc::server:s", ClusterInit: true, NodeName: "s", PKI: fakePKI()}
	for name, tc := range map[string]struct {
		mut  func(*NodeConfig)
		want string
	}{
		"scheme in endpoint":  {func(c *NodeConfig) { c.EtcdS3.Endpoint = "https://fsn1.your-objectstorage.com" }, "without a scheme"},
		"path in endpoint":    {func(c *NodeConfig) { c.EtcdS3.Endpoint = "s3.example.com/bucket" }, "without a path"},
		"no endpoint":         {func(c *NodeConfig) { c.EtcdS3.Endpoint = "" }, "endpoint is required"},
		"upper-case bucket":   {func(c *NodeConfig) { c.EtcdS3.Bucket = "Demo" }, "bucket \"Demo\""},
		"short bucket":        {func(c *NodeConfig) { c.EtcdS3.Bucket = "ab" }, "bucket \"ab\""},
		"double dot bucket":   {func(c *NodeConfig) { c.EtcdS3.Bucket = "a..b" }, "bucket \"a..b\""},
		"leading slash":       {func(c *NodeConfig) { c.EtcdS3.Folder = "/snapshots" }, "folder \"/snapshots\""},
		"trailing slash":      {func(c *NodeConfig) { c.EtcdS3.Folder = "snapshots/" }, "folder \"snapshots/\""},
		"bad region":          {func(c *NodeConfig) { c.EtcdS3.Region = "EU Central" }, "region \"EU Central\""},
		"no secret key":       {func(c *NodeConfig) { c.EtcdS3.SecretKey = " " }, "access key and secret key are both required"},
		"negative retention":  {func(c *NodeConfig) { c.EtcdSnapshotRetention = -1 }, "retention must be between 1 and 1000"},
		"too large retention": {func(c *NodeConfig) { c.EtcdSnapshotRetention = 1001 }, "retention must be between 1 and 1000"},
		"agent with S3": {func(c *NodeConfig) {
			c.Role, c.PKI, c.ClusterInit, c.ServerURL = RoleAgent, nil, false, "https://10.0.0.2:6443"
		}, "etcd snapshots are a server setting"},
	} {
		t.Run(name, func(t *testing.T) {
			c := server
			c.EtcdS3 = validS3()
			tc.mut(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, err := CloudInit(c); err == nil {
				t.Error("CloudInit rendered an invalid config")
			}
		})
	}
	c := server
	c.EtcdS3 = validS3()
	c.EtcdS3.Endpoint = "127.0.0.1:9000"
	if err := c.Validate(); err != nil {
		t.Errorf("host:port endpoint rejected: %v", err)
	}
}
