package k3s

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// EtcdS3 sends the servers' etcd snapshots to S3-compatible object storage
// (Hetzner Object Storage, AWS S3, MinIO, …) besides their local disk: k3s'
// `etcd-s3` and `etcd-s3-*` settings. Every scheduled snapshot is uploaded,
// and k3s keeps the newest `etcd-snapshot-retention` of them in the bucket
// folder as on disk.
type EtcdS3 struct {
	// Endpoint is the S3 API host (and port), without a scheme, e.g.
	// fsn1.your-objectstorage.com.
	Endpoint string
	Bucket   string
	// Folder is the key prefix inside the bucket ("" = the bucket's root).
	Folder string
	// Region is the bucket's region ("" = k3s' default, us-east-1).
	Region    string
	AccessKey string
	SecretKey string
}

var (
	// S3 endpoint: a host name or IPv4 address, optionally with a port.
	s3EndpointRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
	// S3 bucket naming rules: 3–63 of lower-case letters, digits, dots and
	// hyphens, starting and ending with a letter or digit.
	s3BucketRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// Folder: path segments of safe characters, no leading or trailing slash.
	s3FolderRe = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
	s3RegionRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
)

// MaxSnapshotRetention bounds etcd-snapshot-retention (snapshots kept per
// server, on disk and in the bucket).
const MaxSnapshotRetention = 1000

// Validate checks the S3 settings k3s would reject or misread; the messages
// name the Terraform attribute's words.
func (s *EtcdS3) Validate() error {
	var errs []error
	switch {
	case s.Endpoint == "":
		errs = append(errs, errors.New("etcd S3 endpoint is required (host[:port], e.g. fsn1.your-objectstorage.com)"))
	case strings.Contains(s.Endpoint, "://"):
		errs = append(errs, fmt.Errorf("etcd S3 endpoint %q must be a host[:port] without a scheme (k3s speaks HTTPS to it)", s.Endpoint))
	case !s3EndpointRe.MatchString(s.Endpoint):
		errs = append(errs, fmt.Errorf("etcd S3 endpoint %q must be a host[:port] without a path", s.Endpoint))
	}
	if !s3BucketRe.MatchString(s.Bucket) || strings.Contains(s.Bucket, "..") {
		errs = append(errs, fmt.Errorf("etcd S3 bucket %q must be 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit", s.Bucket))
	}
	if s.Folder != "" && !s3FolderRe.MatchString(s.Folder) {
		errs = append(errs, fmt.Errorf("etcd S3 folder %q must be path segments of letters, digits, '.', '_' and '-', without a leading or trailing '/'", s.Folder))
	}
	if s.Region != "" && !s3RegionRe.MatchString(s.Region) {
		errs = append(errs, fmt.Errorf("etcd S3 region %q must be lower-case letters, digits and hyphens, e.g. eu-central or us-east-1", s.Region))
	}
	if strings.TrimSpace(s.AccessKey) == "" || strings.TrimSpace(s.SecretKey) == "" {
		errs = append(errs, errors.New("etcd S3 access key and secret key are both required"))
	}
	return errors.Join(errs...)
}

// etcdS3Config is the part of a server's k3s config the S3 settings render
// to (appended to k3sConfig in this order).
type etcdS3Config struct {
	EtcdS3          bool   `yaml:"etcd-s3,omitempty"`
	EtcdS3Endpoint  string `yaml:"etcd-s3-endpoint,omitempty"`
	EtcdS3Bucket    string `yaml:"etcd-s3-bucket,omitempty"`
	EtcdS3Folder    string `yaml:"etcd-s3-folder,omitempty"`
	EtcdS3Region    string `yaml:"etcd-s3-region,omitempty"`
	EtcdS3AccessKey string `yaml:"etcd-s3-access-key,omitempty"`
	EtcdS3SecretKey string `yaml:"etcd-s3-secret-key,omitempty"`
}

func (s *EtcdS3) config() etcdS3Config {
	if s == nil {
		return etcdS3Config{}
	}
	return etcdS3Config{EtcdS3: true, EtcdS3Endpoint: s.Endpoint, EtcdS3Bucket: s.Bucket, EtcdS3Folder: s.Folder,
		EtcdS3Region: s.Region, EtcdS3AccessKey: s.AccessKey, EtcdS3SecretKey: s.SecretKey}
}
