//go:build !(linux && amd64)

package sandbox

import (
	"context"
	"errors"
	"net"
)

var errNoNetns = errors.New("real-node mode needs Linux network namespaces")

func listenInNetns(string, string) (net.Listener, error) { return nil, errNoNetns }

func dialInNetns(context.Context, string, string) (net.Conn, error) { return nil, errNoNetns }
