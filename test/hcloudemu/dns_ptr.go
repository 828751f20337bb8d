package hcloudemu

import "net/netip"

// staticPtr is the reverse DNS entry Hetzner gives an IPv4 address until
// it is changed.
func staticPtr(addr string) string { return "static." + addr + ".clients.your-server.de" }

// addrIn reports whether addr is the address ipOrNet or inside the
// network ipOrNet (an IPv6 /64).
func addrIn(ipOrNet, addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	if pfx, err := netip.ParsePrefix(ipOrNet); err == nil {
		return pfx.Contains(a)
	}
	return a.String() == ipOrNet
}

// changePtr is change_dns_ptr on any resource with public addresses: addr
// must be one of what's addresses (belongs), the entry a valid hostname or
// null; null resets the entry to reset, or removes it when reset is "".
func changePtr(ptrs *map[string]string, what string, belongs bool, addr string, ptr *string, reset string) *APIError {
	if !belongs {
		return errInvalid("ip", "ip does not belong to the "+what)
	}
	if ptr != nil && (len(*ptr) > 255 || *ptr == "") {
		return errInvalid("dns_ptr", "must be a valid hostname or null")
	}
	if *ptrs == nil {
		*ptrs = map[string]string{}
	}
	switch {
	case ptr != nil:
		(*ptrs)[addr] = *ptr
	case reset != "":
		(*ptrs)[addr] = reset
	default:
		delete(*ptrs, addr)
	}
	return nil
}
