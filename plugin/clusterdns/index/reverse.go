package index

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// The reverse index holds the names that point at each address: a
// service's cluster IPs and its endpoints', about two a Service at the
// bench's 10k size. As a map of netip.Addr to []string it cost the
// collector about 190 bytes a Service to scan (the map's slots hold
// netip.Addr's pointer and a slice, and each slice is an allocation of
// its own), and the memory limit's headroom is what the collector scans
// (memory.go in source/api). Here a shard is two sorted arrays: the
// addresses, without pointers, and beside them the names, so only the
// names' string headers are scanned, 16 bytes a name. The names of one
// address are adjacent, in the order they were added, and a lookup
// returns them as a slice of the shard's array without allocating.

// reverseTable is one published reverse index, cut into shards by
// address like the snapshot maps (shards.go).
type reverseTable [shardCount]reverseShard

type reverseShard struct {
	addrs []reverseKey // ascending; an address once per name
	names []string     // names[i] points at addrs[i]
}

// reverseKey is an address as the reverse index keys it: a number, without
// netip.Addr's pointer, and whether it is an IPv4 address rather than the
// IPv4-mapped IPv6 one, which netip.Addr tells apart too.
type reverseKey struct {
	hi, lo uint64
	is4    bool
}

func reverseKeyOf(a netip.Addr) reverseKey {
	if a.Is4() {
		b := a.As4()
		return reverseKey{lo: uint64(binary.BigEndian.Uint32(b[:])), is4: true}
	}
	b := a.As16()
	return reverseKey{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

// shard is the pod table's (pods.go): from the last two bytes of the
// address, which vary most between the addresses of a cluster.
func (k reverseKey) shard() uint8 { return uint8(k.lo) ^ uint8(k.lo>>8) }

func compareReverseKeys(x, y reverseKey) int {
	if c := cmp.Compare(x.hi, y.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(x.lo, y.lo); c != 0 {
		return c
	}
	switch {
	case x.is4 == y.is4:
		return 0
	case x.is4:
		return -1
	}
	return 1
}

// span returns where k's names are in the shard: [i, j).
func (s *reverseShard) span(k reverseKey) (i, j int) {
	i, _ = slices.BinarySearchFunc(s.addrs, k, compareReverseKeys)
	j = i
	for j < len(s.addrs) && s.addrs[j] == k {
		j++
	}
	return i, j
}

// names returns the names that point at a. The slice must not be
// modified; it has no room to append to.
func (t *reverseTable) names(a netip.Addr) []string {
	k := reverseKeyOf(a)
	s := &t[k.shard()]
	i, j := s.span(k)
	if i == j {
		return nil
	}
	return s.names[i:j:j]
}

// reverseWriter builds the next version of a reverse table from the
// published one, copying the shard array and each touched shard once per
// batch, as shardWriter does for the maps.
type reverseWriter struct {
	next       *reverseTable
	arrayOwned bool
	owned      [shardCount]bool
}

func newReverseWriter() *reverseWriter { return &reverseWriter{next: &reverseTable{}} }

func (w *reverseWriter) own(i uint8) *reverseShard {
	if !w.arrayOwned {
		cp := *w.next
		w.next = &cp
		w.arrayOwned = true
	}
	s := &w.next[i]
	if !w.owned[i] {
		s.addrs, s.names = withRoom(s.addrs), withRoom(s.names)
		w.owned[i] = true
	}
	return s
}

// get returns the names that point at a in the next version.
func (w *reverseWriter) get(a netip.Addr) []string { return w.next.names(a) }

// add adds name to a's names, after those it has.
func (w *reverseWriter) add(a netip.Addr, name string) {
	k := reverseKeyOf(a)
	s := w.own(k.shard())
	_, j := s.span(k)
	s.addrs = slices.Insert(s.addrs, j, k)
	s.names = slices.Insert(s.names, j, name)
}

// remove removes name+suffix from a's names, if it is there; the caller
// passes the two apart to spare a concatenation per endpoint.
func (w *reverseWriter) remove(a netip.Addr, name, suffix string) {
	k := reverseKeyOf(a)
	i, j := w.next[k.shard()].span(k)
	for n := i; n < j; n++ {
		if r := w.next[k.shard()].names[n]; len(r) == len(name)+len(suffix) && r[:len(name)] == name && r[len(name):] == suffix {
			s := w.own(k.shard())
			s.addrs = slices.Delete(s.addrs, n, n+1)
			s.names = slices.Delete(s.names, n, n+1)
			return
		}
	}
}

// publish returns the version built so far and starts a new batch. The
// shards it wrote that grew past their room (appends double it) are
// copied again with just that room: room is scanned by the collector as
// if it held names.
func (w *reverseWriter) publish() *reverseTable {
	if w.arrayOwned {
		for i, owned := range w.owned {
			if s := &w.next[i]; owned && cap(s.names) > len(s.names)+reverseRoom {
				s.addrs, s.names = withRoom(s.addrs), withRoom(s.names)
			}
		}
	}
	w.arrayOwned = false
	w.owned = [shardCount]bool{}
	return w.next
}

// reverseRoom is the room a shard's copy has for names to come: a batch
// that adds a few to a shard (a slice event, a rollout step) then copies
// it once, not once more at its first add, and the published shards hold
// at most 256×reverseRoom names' worth of room.
const reverseRoom = 4

// withRoom copies s into an array of its length plus reverseRoom.
func withRoom[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	out := make([]T, len(s), len(s)+reverseRoom)
	copy(out, s)
	return out
}

// sameReverse tells whether two reverse tables hold the same names at the
// same addresses, in the same order.
func sameReverse(a, b *reverseTable) bool {
	for i := range a {
		if !slices.Equal(a[i].addrs, b[i].addrs) || !slices.Equal(a[i].names, b[i].names) {
			return false
		}
	}
	return true
}
