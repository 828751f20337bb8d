package acctest

import "net/netip"

type netipPrefixT = netip.Prefix

func parsePrefix(s string) (netip.Prefix, error) { return netip.ParsePrefix(s) }
