package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strconv"
)

// StartLoopbackControlPlane starts etcd and kube-apiserver with a fresh
// cluster PKI on a random loopback address 127.2xx.y.z:6443, for tests that
// need a real API server but no sandbox cluster (CRDs, server-side apply,
// dry-run, CEL). Its state lives under dir; AdminConfig gives a
// system:masters client. The caller stops it with Stop. An address that turns
// out to be taken is retried on another one.
func StartLoopbackControlPlane(ctx context.Context, dir string, opts ControlPlaneOptions) (*ControlPlane, error) {
	pki, err := GenerateClusterPKI()
	if err != nil {
		return nil, err
	}
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		// 127.200-254.*: apart from the 127.100-199.* subnets the sandbox tests pick.
		ip := fmt.Sprintf("127.%d.%d.%d", 200+rand.IntN(55), rand.IntN(256), 2+rand.IntN(250))
		if l, err := net.Listen("tcp", net.JoinHostPort(ip, "6443")); err != nil {
			last = err
			continue
		} else {
			_ = l.Close()
		}
		cp, err := NewControlPlane(filepath.Join(dir, "cp"+strconv.Itoa(attempt)), pki, "", opts)
		if err != nil {
			return nil, err
		}
		if err := cp.Start(ctx, ip, servingSANs([]string{ip}, cp.ServiceIP, "")); err != nil {
			cp.Stop()
			last = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		return cp, nil
	}
	return nil, fmt.Errorf("loopback control plane: %w", last)
}
