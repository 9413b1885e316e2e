package testkit

import (
	"net/netip"
	"strings"
)

// Dashed is an address as the Kubernetes DNS specification spells it in a
// name: its dots, or colons, turned to dashes (10-244-1-7, fd00-244--5). A
// string that is no address is returned as it is.
func Dashed(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	return strings.NewReplacer(".", "-", ":", "-").Replace(a.String())
}
