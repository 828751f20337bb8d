package oci

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Platform of every image built here.
const (
	OS           = "linux"
	Architecture = "amd64"
)

// LayerSpec is one layer of an image and the history line describing it.
type LayerSpec struct {
	Tree      *Tree
	CreatedBy string
}

// NewImage assembles an OCI image (OCI manifest and config media types,
// linux/amd64) from layers and the runtime config cfg. The creation time
// is Epoch, so equal inputs give equal digests.
func NewImage(cfg v1.Config, layers ...LayerSpec) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	adds := make([]mutate.Addendum, 0, len(layers))
	for _, l := range layers {
		layer, err := l.Tree.Layer()
		if err != nil {
			return nil, fmt.Errorf("oci: layer %q: %w", l.CreatedBy, err)
		}
		adds = append(adds, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{CreatedBy: l.CreatedBy, Created: v1.Time{Time: Epoch}},
		})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("oci: append layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("oci: config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = OS
	cf.Architecture = Architecture
	cf.Created = v1.Time{Time: Epoch}
	cf.Config = cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("oci: config: %w", err)
	}
	return img, nil
}

// Ports turns "8080/tcp"-style port names into the config's ExposedPorts set.
func Ports(ports ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(ports))
	for _, p := range ports {
		m[p] = struct{}{}
	}
	return m
}
