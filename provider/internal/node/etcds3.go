package node

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/sre-platform/platform/provider/internal/k3s"
)

// etcdS3Model is the etcd_s3 block of platform_k3s_server.
type etcdS3Model struct {
	Endpoint  types.String `tfsdk:"endpoint"`
	Bucket    types.String `tfsdk:"bucket"`
	Folder    types.String `tfsdk:"folder"`
	Region    types.String `tfsdk:"region"`
	AccessKey types.String `tfsdk:"access_key"`
	SecretKey types.String `tfsdk:"secret_key"`
}

func (m etcdS3Model) k3s() *k3s.EtcdS3 {
	return &k3s.EtcdS3{Endpoint: m.Endpoint.ValueString(), Bucket: m.Bucket.ValueString(), Folder: m.Folder.ValueString(),
		Region: m.Region.ValueString(), AccessKey: m.AccessKey.ValueString(), SecretKey: m.SecretKey.ValueString()}
}

func (m etcdS3Model) known() bool {
	for _, v := range []types.String{m.Endpoint, m.Bucket, m.Folder, m.Region, m.AccessKey, m.SecretKey} {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

// etcdS3Attributes are the server attributes for etcd snapshots beyond the
// schedule: how many to keep, and the S3-compatible storage they go to.
func etcdS3Attributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"etcd_snapshot_retention": schema.Int64Attribute{Optional: true,
			Description: "Snapshots each server keeps (k3s `etcd-snapshot-retention`), on its disk and, with `etcd_s3`, in the bucket folder. " +
				"Null keeps k3s' default (5). Part of the cloud-init.",
			Validators: []validator.Int64{int64validator.Between(1, k3s.MaxSnapshotRetention)}},
		"etcd_s3": schema.SingleNestedAttribute{Optional: true,
			Description: "Upload every etcd snapshot to S3-compatible object storage as well (Hetzner Object Storage, AWS S3, MinIO; k3s `etcd-s3` " +
				"and `etcd-s3-*`), so the cluster can be restored after losing its servers (docs/runbooks/etcd-restore.md). " +
				"Part of the cloud-init: the credentials are in the server's user data (like the CA keys: the metadata guard keeps pods from it), " +
				"and changing any of these settings replaces the server. Use a key that can only read and write this bucket.",
			Validators: []validator.Object{etcdS3Validator{}},
			Attributes: map[string]schema.Attribute{
				"endpoint": schema.StringAttribute{Required: true,
					Description: "S3 API host and optional port, without a scheme (HTTPS is used), e.g. `fsn1.your-objectstorage.com`."},
				"bucket": schema.StringAttribute{Required: true, Description: "Bucket name (must exist)."},
				"folder": schema.StringAttribute{Optional: true,
					Description: "Key prefix in the bucket, e.g. `etcd/<cluster>`, without leading or trailing `/`. Null: the bucket's root."},
				"region": schema.StringAttribute{Optional: true,
					Description: "Bucket region, e.g. `fsn1` on Hetzner. Null: k3s' default (`us-east-1`)."},
				"access_key": schema.StringAttribute{Required: true, Sensitive: true, Description: "S3 access key ID."},
				"secret_key": schema.StringAttribute{Required: true, Sensitive: true, Description: "S3 secret access key."},
			}},
	}
}

func etcdS3FromObject(ctx context.Context, o types.Object) (*etcdS3Model, bool) {
	if o.IsNull() || o.IsUnknown() {
		return nil, !o.IsUnknown()
	}
	var m etcdS3Model
	if d := o.As(ctx, &m, basetypes.ObjectAsOptions{}); d.HasError() {
		return nil, false
	}
	return &m, m.known()
}

// etcdS3Config returns the k3s S3 settings of a server (nil without etcd_s3).
func (m *nodeModel) etcdS3Config(ctx context.Context) *k3s.EtcdS3 {
	s, _ := etcdS3FromObject(ctx, m.EtcdS3)
	if s == nil {
		return nil
	}
	return s.k3s()
}

// etcdSnapshotsKnown reports whether the snapshot settings are known at plan
// time (they are part of the cloud-init).
func (m *nodeModel) etcdSnapshotsKnown(ctx context.Context) bool {
	_, ok := etcdS3FromObject(ctx, m.EtcdS3)
	return ok && !m.EtcdSnapshotRetention.IsUnknown()
}

// etcdS3Validator checks the block with the same rules the renderer applies,
// at plan time, naming the attribute.
type etcdS3Validator struct{}

func (etcdS3Validator) Description(context.Context) string {
	return "endpoint host[:port] without scheme, S3 bucket name, folder without leading/trailing '/', both keys"
}
func (v etcdS3Validator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (etcdS3Validator) ValidateObject(ctx context.Context, req validator.ObjectRequest, resp *validator.ObjectResponse) {
	s, known := etcdS3FromObject(ctx, req.ConfigValue)
	if s == nil || !known {
		return
	}
	if err := s.k3s().Validate(); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid etcd_s3", err.Error())
	}
}
