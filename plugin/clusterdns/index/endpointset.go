package index

import (
	"iter"
	"slices"
)

// endpointSet is what a Service publishes of its endpoints: each slice's
// won endpoints as one chunk, in the merge's slice order, and an index of
// them by name. It is immutable once published.
//
// It is kept in chunks so that a publish costs what changed, not what the
// service holds. A flat copy of the merged endpoints and a name table
// rebuilt at each publish made a rollout of a 5,000-endpoint service,
// published once a slice, copy the whole service 50 times: O(N²)
// (BenchmarkRollout). Now a publish shares every chunk but the changed
// slices' (a chunk is the merge's own won endpoints, not a copy) and every
// leaf of the name index that the changed names do not fall in.
type endpointSet struct {
	// chunks are the endpoints, one chunk a slice of the merge, empty ones
	// included: an entry of the name index refers to a chunk by position.
	chunks [][]Endpoint
	// leaves index the endpoints by name, once there are more than
	// byNameThreshold of them (nil: scan). An endpoint whose name hashes
	// to h is in leaf h&(len(leaves)-1) as h<<32 | ref(chunk, position);
	// a leaf is in ascending order, so a lookup stops past h and meets the
	// endpoints that share a name (a dual-stack pod) in their order. A
	// slice event copies the leaves its names fall in, about eight entries
	// each, and the leaf headers: 3 to 6 bytes an endpoint, against the
	// 64 a flat copy and its name table cost.
	leaves [][]uint64
	n      int32 // endpoints
	// dups counts the endpoints whose name an earlier one has: then SRV
	// answers dedupe their targets (Service.SharedNames).
	dups int32
}

// refPosBits is the width of an endpoint's position in its chunk in a
// name index entry: the API server holds a slice to 1,000 endpoints of at
// most 100 addresses each. The rest of the 32 bits number the chunk. A
// set that does not fit (from a manifests file, which has no such limits)
// is scanned (newEndpointSet).
const refPosBits = 17

func ref(chunk, pos int) uint64 { return uint64(chunk)<<refPosBits | uint64(pos) }

// at is the endpoint an index entry refers to, in chunks.
func at(chunks [][]Endpoint, entry uint64) *Endpoint {
	r := uint32(entry)
	return &chunks[r>>refPosBits][r&(1<<refPosBits-1)]
}

// leafCount is how many leaves the name index of n endpoints starts with:
// about eight endpoints a leaf.
func leafCount(n int) int {
	size := 2
	for size*8 < n {
		size *= 2
	}
	return size
}

// newEndpointSet makes the published endpoints of a merge whose slices won
// chunks, of n endpoints in all (nil if none). prev is the set it
// replaces (nil: none): its name index is updated for the chunks that
// changed rather than built anew, while the chunks are as many and the
// leaves within a factor of two of their count for n.
func newEndpointSet(chunks [][]Endpoint, n int, prev *endpointSet) *endpointSet {
	if n == 0 {
		return nil
	}
	set := &endpointSet{chunks: chunks, n: int32(n)}
	switch {
	case n <= byNameThreshold:
		// Few endpoints: a scan is as fast as an index and costs nothing.
		var names [byNameThreshold]string
		k := 0
		for ep := range set.all() {
			if slices.Contains(names[:k], ep.Name) {
				set.dups++
			}
			names[k] = ep.Name
			k++
		}
	case len(chunks) >= 1<<(32-refPosBits) || slices.ContainsFunc(chunks, func(c []Endpoint) bool { return len(c) >= 1<<refPosBits }):
		// More than an entry can refer to (see refPosBits): scan, and
		// dedupe SRV targets to be safe.
		set.dups = 1
	case prev != nil && prev.leaves != nil && len(prev.chunks) == len(chunks) &&
		len(prev.leaves) <= 2*leafCount(n) && 2*len(prev.leaves) >= leafCount(n):
		set.updateLeaves(prev)
	default:
		set.buildLeaves()
	}
	return set
}

// all are the set's endpoints, in order (none for a nil set).
func (set *endpointSet) all() iter.Seq[*Endpoint] {
	return func(yield func(*Endpoint) bool) {
		if set == nil {
			return
		}
		for _, c := range set.chunks {
			for i := range c {
				if !yield(&c[i]) {
					return
				}
			}
		}
	}
}

// buildLeaves indexes every endpoint by name, in one array cut into the
// leaves.
func (set *endpointSet) buildLeaves() {
	count := leafCount(int(set.n))
	mask := uint32(count - 1)
	sizes := make([]int32, count)
	for _, c := range set.chunks {
		for i := range c {
			sizes[c[i].hash&mask]++
		}
	}
	entries := make([]uint64, set.n)
	set.leaves = make([][]uint64, count)
	off := 0
	for l, size := range sizes {
		end := off + int(size)
		set.leaves[l] = entries[off:off:end]
		off = end
	}
	for ci, c := range set.chunks {
		for i := range c {
			l := c[i].hash & mask
			set.leaves[l] = append(set.leaves[l], uint64(c[i].hash)<<32|ref(ci, i))
		}
	}
	for _, leaf := range set.leaves {
		slices.Sort(leaf)
		for j, e := range leaf {
			if named(set.chunks, leaf[:j], uint32(e>>32), at(set.chunks, e).Name) {
				set.dups++
			}
		}
	}
}

// updateLeaves makes the name index prev's, but for the chunks that
// changed: their old endpoints leave it and their new ones join it. Only
// the leaves they fall in are copied, each once.
func (set *endpointSet) updateLeaves(prev *endpointSet) {
	set.leaves, set.dups = slices.Clone(prev.leaves), prev.dups
	u := leafUpdate{set: set, owned: make([]bool, len(set.leaves)), chunks: slices.Clone(prev.chunks)}
	for ci, next := range set.chunks {
		old := prev.chunks[ci]
		if sameChunk(old, next) {
			continue
		}
		for i := range old {
			u.remove(ci, i)
		}
		u.chunks[ci] = next
		for i := range next {
			u.add(ci, i)
		}
	}
}

// leafUpdate is one updateLeaves under way.
type leafUpdate struct {
	set *endpointSet
	// owned marks the leaves copied already, which this update may write.
	owned []bool
	// chunks are what the index refers to at this point of the update:
	// prev's chunks, each replaced by the set's once its entries are.
	chunks [][]Endpoint
}

// leaf returns the leaf of hash h for writing, with its position.
func (u *leafUpdate) leaf(h uint32) (int, []uint64) {
	l := int(h & uint32(len(u.set.leaves)-1))
	if !u.owned[l] {
		old := u.set.leaves[l]
		u.set.leaves[l] = append(make([]uint64, 0, len(old)+2), old...)
		u.owned[l] = true
	}
	return l, u.set.leaves[l]
}

// remove takes the entry of the endpoint at pos of chunk ci out.
func (u *leafUpdate) remove(ci, pos int) {
	ep := &u.chunks[ci][pos]
	l, leaf := u.leaf(ep.hash)
	i, found := slices.BinarySearch(leaf, uint64(ep.hash)<<32|ref(ci, pos))
	if !found {
		return
	}
	leaf = slices.Delete(leaf, i, i+1)
	u.set.leaves[l] = leaf
	if named(u.chunks, leaf, ep.hash, ep.Name) {
		u.set.dups--
	}
}

// add puts the entry of the endpoint at pos of chunk ci in.
func (u *leafUpdate) add(ci, pos int) {
	ep := &u.chunks[ci][pos]
	l, leaf := u.leaf(ep.hash)
	e := uint64(ep.hash)<<32 | ref(ci, pos)
	if named(u.chunks, leaf, ep.hash, ep.Name) {
		u.set.dups++
	}
	i, _ := slices.BinarySearch(leaf, e)
	u.set.leaves[l] = slices.Insert(leaf, i, e)
}

// named tells whether entries of leaf, which refer to chunks, name an
// endpoint name, whose hash is h.
func named(chunks [][]Endpoint, leaf []uint64, h uint32, name string) bool {
	for _, e := range leaf {
		if uint32(e>>32) == h && at(chunks, e).Name == name {
			return true
		}
	}
	return false
}

// sameChunk tells whether two chunks are the same memory, as a slice's
// chunk is until the slice changes.
func sameChunk(a, b []Endpoint) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// sameEndpointSets tells whether two sets hold the same endpoints in the
// same order, whatever their chunks.
func sameEndpointSets(a, b *endpointSet) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.n != b.n {
		return false
	}
	if len(a.chunks) == len(b.chunks) {
		// As at every publish but one that adds or drops a slice: only
		// the chunks that changed are compared.
		for i := range a.chunks {
			if !sameChunk(a.chunks[i], b.chunks[i]) && !sameEndpoints(a.chunks[i], b.chunks[i]) {
				return false
			}
		}
		return true
	}
	next, stop := iter.Pull(b.all())
	defer stop()
	for ea := range a.all() {
		eb, ok := next()
		if !ok || !sameEndpoint(*ea, *eb) {
			return false
		}
	}
	return true
}
