package hcloudemu

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// guardAdmin lets admin requests through on loopback; a request arriving
// on any other local address needs Authorization: Bearer <token>, and is
// refused outright when no token is configured.
func guardAdmin(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !arrivedOnLoopback(r) {
			if token == "" {
				writeError(w, newErr("forbidden", "the admin API answers on loopback only; configure an admin token to serve it elsewhere"))
				return
			}
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
				writeError(w, newErr("unauthorized", "unable to authenticate"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// arrivedOnLoopback reports whether the request came in on a loopback
// address of this machine (a handler called without a listener counts as
// local).
func arrivedOnLoopback(r *http.Request) bool {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return true
	}
	ap, err := netip.ParseAddrPort(addr.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// CheckAdminListen refuses an admin listen address that is not loopback
// when no admin token is set (commands call it before listening).
func CheckAdminListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("admin listen address %q: %w", addr, err)
	}
	if token != "" {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("admin listen address %q is not loopback: set an admin token", addr)
}
