package resolver

import (
	"bytes"
	"net/netip"
)

// The name helpers work on lower-case names without the trailing dot,
// as slices of the query's stack buffer: the grammar allocates nothing.

// cutLast splits "a.b.c" into "a.b" and "c".
func cutLast(name []byte) (rest, last []byte) {
	i := bytes.LastIndexByte(name, '.')
	if i < 0 {
		return nil, name
	}
	return name[:i], name[i+1:]
}

// cutFirst splits "a.b.c" into "a" and "b.c".
func cutFirst(name []byte) (first, rest []byte) {
	i := bytes.IndexByte(name, '.')
	if i < 0 {
		return name, nil
	}
	return name[:i], name[i+1:]
}

// countLabels counts the labels of name; an empty label (as in "a..b")
// makes the name invalid and counts as too many.
func countLabels(name []byte) int {
	if len(name) == 0 {
		return 0
	}
	n := 1
	prev := byte('.')
	for _, c := range name {
		if c == '.' {
			if prev == '.' {
				return 1 << 10
			}
			n++
		}
		prev = c
	}
	if prev == '.' {
		return 1 << 10
	}
	return n
}

// parseDashedIP parses a pod name label: "10-244-1-7" or "fd00--7".
// Like the stock plugin, four parts without "--" are IPv4, anything else
// is IPv6 with dashes for colons, in any form an address parses from
// ("fd00-10-244-3--", "fd00-10-244-3--0", "--1"). An IPv4-mapped address
// ("--ffff-a00-1") comes back as such: it is answered with an A record, as
// stock does, and is no pod's address as the API writes them.
func parseDashedIP(label []byte) (netip.Addr, bool) {
	if bytes.Count(label, []byte{'-'}) == 3 && !bytes.Contains(label, []byte("--")) {
		var b [4]byte
		part := 0
		val := -1
		for _, c := range label {
			switch {
			case c == '-':
				if val < 0 {
					return netip.Addr{}, false
				}
				b[part] = byte(val)
				part++
				val = -1
			case '0' <= c && c <= '9':
				if val < 0 {
					val = 0
				} else if val == 0 {
					return netip.Addr{}, false // no leading zeros, like netip
				}
				val = val*10 + int(c-'0')
				if val > 255 {
					return netip.Addr{}, false
				}
			default:
				return netip.Addr{}, false
			}
		}
		if val < 0 {
			return netip.Addr{}, false
		}
		b[3] = byte(val)
		return netip.AddrFrom4(b), true
	}
	if len(label) > 39 {
		return netip.Addr{}, false
	}
	var buf [39]byte
	for i, c := range label {
		if c == '-' {
			c = ':'
		}
		buf[i] = c
	}
	a, err := netip.ParseAddr(string(buf[:len(label)]))
	if err != nil || !a.Is6() || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// parseReverse parses a full reverse name ("7.1.244.10.in-addr.arpa." or
// 32 nibbles under ip6.arpa.) into an address.
func parseReverse(name []byte) (netip.Addr, bool) {
	switch {
	case bytes.HasSuffix(name, []byte(".in-addr.arpa.")):
		labels := name[:len(name)-len(".in-addr.arpa.")]
		var b [4]byte
		for i := 3; i >= 0; i-- {
			var l []byte
			l, labels = cutFirst(labels)
			if len(l) == 0 || len(l) > 3 || (len(l) > 1 && l[0] == '0') {
				return netip.Addr{}, false
			}
			v := 0
			for _, c := range l {
				if c < '0' || c > '9' {
					return netip.Addr{}, false
				}
				v = v*10 + int(c-'0')
			}
			if v > 255 {
				return netip.Addr{}, false
			}
			b[i] = byte(v)
		}
		if len(labels) != 0 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4(b), true
	case bytes.HasSuffix(name, []byte(".ip6.arpa.")):
		labels := name[:len(name)-len(".ip6.arpa.")]
		if len(labels) != 63 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i := 0; i < 32; i++ {
			c := labels[i*2]
			if i < 31 && labels[i*2+1] != '.' {
				return netip.Addr{}, false
			}
			var v byte
			switch {
			case '0' <= c && c <= '9':
				v = c - '0'
			case 'a' <= c && c <= 'f':
				v = c - 'a' + 10
			default:
				return netip.Addr{}, false
			}
			// Nibbles come least significant first.
			pos := 31 - i
			if pos%2 == 0 {
				b[pos/2] |= v << 4
			} else {
				b[pos/2] |= v
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
