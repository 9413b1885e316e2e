package index

import (
	"cmp"
	"encoding/binary"
	"math/bits"
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

// The shards are as many as keep each to reverseShardMax entries on
// average, a power of two, never fewer than 1<<reverseMinBits: a batch
// copies the shards its changes fall in, so a shard's size is what a
// change costs to publish, and with a fixed number of them that grew with
// the whole cluster's addresses (in a cluster of 100k addresses, each
// address a rollout moved copied two shards of ~390 entries). The shard
// headers, 48 bytes each, are cut into pages of reversePageSize behind a
// directory of pointers, so that a batch copies the directory (8 bytes a
// page) and the pages it writes, not every header: one flat array of
// headers would cost a publish 0.75 bytes an address of the cluster.

// reverseTable is one published reverse index. A view holds it by value,
// so a lookup loads the directory, a page and the shard.
type reverseTable struct {
	pages []*reversePage
	mask  uint64 // shards - 1: the hash's low bits pick the shard
}

type reversePage [reversePageSize]reverseShard

const (
	reversePageBits = 4
	reversePageSize = 1 << reversePageBits // 768 bytes of headers
	// reverseMinBits is the log2 of the fixed count of shards this grew
	// from (256): below 32k entries it keeps the shards as they were,
	// smaller than reverseShardMax, which a rollout copies less of.
	reverseMinBits = 8
	// reverseShardMax is the most entries a shard holds on average before
	// the shards double; they hold at least half as many after, so their
	// headers cost the collector at most 0.75 bytes an entry to scan,
	// against the 16 of an entry's name.
	reverseShardMax = 128
)

// emptyReversePage is every page of an empty table; a writer copies a page
// before it writes it, so it is never written.
var emptyReversePage reversePage

// newReverseTable is an empty table of 1<<log2 shards.
func newReverseTable(log2 uint8) reverseTable {
	pages := make([]*reversePage, 1<<log2>>reversePageBits)
	for i := range pages {
		pages[i] = &emptyReversePage
	}
	return reverseTable{pages: pages, mask: 1<<log2 - 1}
}

// index is the number of k's shard.
func (t *reverseTable) index(k reverseKey) uint64 { return k.hash() & t.mask }

func (t *reverseTable) shard(i uint64) *reverseShard {
	return &t.pages[i>>reversePageBits][i&(reversePageSize-1)]
}

func (t *reverseTable) shardCount() int { return len(t.pages) << reversePageBits }

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

// hash folds the address's last bytes, which vary most between the
// addresses of a cluster, as the pod table does (pods.go): in a range of
// consecutive addresses, as the pods of a node or a CIDR get, its low
// bits, which pick the shard, are as many different values as the range
// holds, and neighbours share a page. A shard's entries split by the next
// bit when the shards double, each half in the order it was
// (reverseWriter.double).
func (k reverseKey) hash() uint64 { return k.lo ^ k.lo>>8 }

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
	s := t.shard(t.index(k))
	i, j := s.span(k)
	if i == j {
		return nil
	}
	return s.names[i:j:j]
}

// same tells whether t and o are one published version.
func (t *reverseTable) same(o *reverseTable) bool {
	return len(t.pages) == len(o.pages) && &t.pages[0] == &o.pages[0]
}

// reverseWriter builds the next version of a reverse table from the
// published one, copying the directory, each page and each shard a batch
// touches once per batch, as shardWriter does for the maps.
type reverseWriter struct {
	next       reverseTable
	entries    int // in next
	dirOwned   bool
	pageOwned  []bool   // by page of next
	shardOwned []bool   // by shard of next
	touched    []uint32 // the shards owned, to disown at publish
}

func newReverseWriter() *reverseWriter {
	w := &reverseWriter{next: newReverseTable(reverseMinBits)}
	w.pageOwned, w.shardOwned = make([]bool, len(w.next.pages)), make([]bool, w.next.shardCount())
	return w
}

func (w *reverseWriter) own(i uint64) *reverseShard {
	if !w.dirOwned {
		w.next.pages = slices.Clone(w.next.pages)
		w.dirOwned = true
	}
	if p := i >> reversePageBits; !w.pageOwned[p] {
		cp := *w.next.pages[p]
		w.next.pages[p] = &cp
		w.pageOwned[p] = true
	}
	s := w.next.shard(i)
	if !w.shardOwned[i] {
		s.addrs, s.names = withRoom(s.addrs), withRoom(s.names)
		w.shardOwned[i] = true
		w.touched = append(w.touched, uint32(i))
	}
	return s
}

// get returns the names that point at a in the next version.
func (w *reverseWriter) get(a netip.Addr) []string { return w.next.names(a) }

// add adds name to a's names, after those it has.
func (w *reverseWriter) add(a netip.Addr, name string) {
	if w.entries >= reverseShardMax*w.next.shardCount() {
		w.double()
	}
	k := reverseKeyOf(a)
	s := w.own(w.next.index(k))
	_, j := s.span(k)
	s.addrs = slices.Insert(s.addrs, j, k)
	s.names = slices.Insert(s.names, j, name)
	w.entries++
}

// remove removes name+suffix from a's names, if it is there; the caller
// passes the two apart to spare a concatenation per endpoint.
func (w *reverseWriter) remove(a netip.Addr, name, suffix string) {
	k := reverseKeyOf(a)
	i := w.next.index(k)
	from, to := w.next.shard(i).span(k)
	for n := from; n < to; n++ {
		if r := w.next.shard(i).names[n]; len(r) == len(name)+len(suffix) && r[:len(name)] == name && r[len(name):] == suffix {
			s := w.own(i)
			s.addrs = slices.Delete(s.addrs, n, n+1)
			s.names = slices.Delete(s.names, n, n+1)
			w.entries--
			return
		}
	}
}

// double rebuilds next with twice the shards, all of them owned by the
// batch: a full copy, once each time the index doubles, so an add costs
// it amortized O(1). Shard i splits into i and i+n (n the old count) by
// the hash's next bit, each in the order it was, so sorted, and an
// address's names stay in theirs.
func (w *reverseWriter) double() {
	old := w.next
	n := uint64(old.shardCount())
	w.next = newReverseTable(uint8(bits.Len64(old.mask)) + 1)
	for p := range w.next.pages {
		w.next.pages[p] = new(reversePage)
	}
	for i := range n {
		from := old.shard(i)
		high := 0
		for _, k := range from.addrs {
			high += int(w.next.index(k) / n)
		}
		lo, hi := w.next.shard(i), w.next.shard(i+n)
		lo.addrs, lo.names = make([]reverseKey, 0, len(from.addrs)-high+reverseRoom), make([]string, 0, len(from.addrs)-high+reverseRoom)
		hi.addrs, hi.names = make([]reverseKey, 0, high+reverseRoom), make([]string, 0, high+reverseRoom)
		for j, k := range from.addrs {
			to := lo
			if w.next.index(k) != i {
				to = hi
			}
			to.addrs, to.names = append(to.addrs, k), append(to.names, from.names[j])
		}
	}
	w.dirOwned = true
	w.pageOwned = make([]bool, len(w.next.pages))
	w.shardOwned = make([]bool, w.next.shardCount())
	w.touched = w.touched[:0]
	for i := range w.shardOwned {
		w.shardOwned[i] = true
		w.touched = append(w.touched, uint32(i))
	}
	for p := range w.pageOwned {
		w.pageOwned[p] = true
	}
}

// publish returns the version built so far and starts a new batch. The
// shards it wrote that grew past their room (appends double it) are
// copied again with just that room: room is scanned by the collector as
// if it held names. A shard a batch removed from keeps the room its names
// left, up to reverseRoom more, rather than cost the batch a second copy.
func (w *reverseWriter) publish() reverseTable {
	for _, i := range w.touched {
		if s := w.next.shard(uint64(i)); cap(s.names) > len(s.names)+2*reverseRoom {
			s.addrs, s.names = withRoom(s.addrs), withRoom(s.names)
		}
		w.shardOwned[i] = false
		w.pageOwned[i>>reversePageBits] = false
	}
	w.touched = w.touched[:0]
	w.dirOwned = false
	return w.next
}

// reverseRoom is the room a shard's copy has for names to come: a batch
// that adds a few to a shard (a slice event, a rollout step) then copies
// it once, not once more at its first add, and the published shards hold
// at most reverseRoom names' worth of room each.
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
// same addresses, in the same order. Tables of different shard counts are
// told apart without a look: they were doubled in between, by adds, and
// telling them apart only costs a view its serial.
func sameReverse(a, b *reverseTable) bool {
	if a.mask != b.mask {
		return false
	}
	for i := range uint64(a.shardCount()) {
		x, y := a.shard(i), b.shard(i)
		if !slices.Equal(x.addrs, y.addrs) || !slices.Equal(x.names, y.names) {
			return false
		}
	}
	return true
}
