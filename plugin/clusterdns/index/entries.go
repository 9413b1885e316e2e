package index

import "hash/maphash"

// The service entries of a view were a shards map (shards.go) of
// map[string]*Service: each slot held the key's string header beside the
// entry's pointer, 24 bytes the collector scans, at a map's load of about
// 60%, some 45 bytes a Service, and the memory limit's headroom is what
// the collector scans (memory.go in source/api). Here a shard is an
// open-addressing table of entry pointers with linear probing, keyed by
// the entry's own name, "name.namespace" (its object's, in lower case:
// buildService): 8 bytes a slot at a load of at most 3/4. A lookup hashes
// the key once, for the shard and the slot both, and compares it with the
// entry's name and namespace in place.
//
// The hash is seeded per process (hash/maphash), as a Go map's is: the
// keys are names anyone who may create a Service chooses, and with a hash
// known in advance (FNV) names made to share a slot would pile up in one
// probe run, and every lookup in it would walk them all.

// entryTable is one published table of service entries, by key.
type entryTable [shardCount]entryShard

// entryShard is a table of 0 or a power of two slots; nil is empty.
type entryShard []*Service

// entrySeed seeds the tables' hash.
var entrySeed = maphash.MakeSeed()

// keyHash is the tables' hash of key; a query's key is bytes
// (maphash.Bytes), the writer's a string (maphash.String), with equal
// hashes for equal keys.
func keyHash(key string) uint64 { return maphash.String(entrySeed, key) }

// shardOf is the shard of a key whose hash is h: its top byte, where
// slot takes the low bits.
func shardOf(h uint64) uint8 { return uint8(h >> 56) }

// slot is where a probe for hash h starts.
func (s entryShard) slot(h uint64) int { return int(h) & (len(s) - 1) }

// find returns the position of the entry keyed key, whose hash is h, or
// that of the empty slot that ends its probe; ok tells which.
func find[T string | []byte](s entryShard, h uint64, key T) (i int, ok bool) {
	mask := len(s) - 1
	for i = s.slot(h); s[i] != nil; i = (i + 1) & mask {
		if hasKey(s[i], key) {
			return i, true
		}
	}
	return i, false
}

// hasKey tells whether e is keyed key: "name.namespace". The string
// conversions in the comparisons do not allocate.
func hasKey[T string | []byte](e *Service, key T) bool {
	n := len(e.Name)
	return len(key) == n+1+len(e.Namespace) && key[n] == '.' &&
		string(key[:n]) == e.Name && string(key[n+1:]) == e.Namespace
}

// entryHash is keyHash of e's key, without making the key: maphash hashes
// what is written to it as one string, however it is cut up.
func entryHash(e *Service) uint64 {
	var h maphash.Hash
	h.SetSeed(entrySeed)
	h.WriteString(e.Name)
	h.WriteByte('.')
	h.WriteString(e.Namespace)
	return h.Sum64()
}

// lookup returns the entry keyed key, or nil.
func (t *entryTable) lookup(key []byte) *Service {
	h := maphash.Bytes(entrySeed, key)
	s := t[shardOf(h)]
	if len(s) == 0 {
		return nil
	}
	if i, ok := find(s, h, key); ok {
		return s[i]
	}
	return nil
}

// all calls fn for each entry.
func (t *entryTable) all(fn func(*Service)) {
	for _, s := range t {
		for _, e := range s {
			if e != nil {
				fn(e)
			}
		}
	}
}

// len is the number of entries.
func (t *entryTable) len() int {
	n := 0
	t.all(func(*Service) { n++ })
	return n
}

// sameEntries tells whether two tables hold the same keys with entries
// that show the same (sameEntry).
func sameEntries(a, b *entryTable) bool {
	if a.len() != b.len() {
		return false
	}
	same := true
	var key []byte // one buffer for every entry's key
	a.all(func(e *Service) {
		if !same {
			return
		}
		key = append(append(append(key[:0], e.Name...), '.'), e.Namespace...)
		w := b.lookup(key)
		same = w != nil && sameEntry(e, w)
	})
	return same
}

// entryWriter builds the next version of an entry table from the
// published one, copying the shard array and each touched shard once per
// batch, as shardWriter does for the maps. The published version is never
// written to: readers hold it without locks.
type entryWriter struct {
	next       *entryTable
	counts     [shardCount]int32 // entries in each shard of next
	arrayOwned bool
	owned      [shardCount]bool
}

func newEntryWriter() *entryWriter { return &entryWriter{next: &entryTable{}} }

// own returns shard i of next, copied if the batch has not yet; with room,
// in a table grown if need be to keep room for one more entry.
func (w *entryWriter) own(i uint8, room bool) entryShard {
	if !w.arrayOwned {
		cp := *w.next
		w.next = &cp
		w.arrayOwned = true
	}
	s := w.next[i]
	switch {
	case room && 4*(int(w.counts[i])+1) > 3*len(s):
		s = grown(s, max(8, 2*len(s)))
	case !w.owned[i]:
		s = append(entryShard(nil), s...)
	}
	w.next[i], w.owned[i] = s, true
	return s
}

// grown copies the entries of s into a table of size slots.
func grown(s entryShard, size int) entryShard {
	out := make(entryShard, size)
	mask := size - 1
	for _, e := range s {
		if e == nil {
			continue
		}
		i := out.slot(entryHash(e))
		for out[i] != nil {
			i = (i + 1) & mask
		}
		out[i] = e
	}
	return out
}

func (w *entryWriter) get(key string) (*Service, bool) {
	h := keyHash(key)
	s := w.next[shardOf(h)]
	if len(s) == 0 {
		return nil, false
	}
	if i, ok := find(s, h, key); ok {
		return s[i], true
	}
	return nil, false
}

// set makes e the entry keyed key; e's name must be key.
func (w *entryWriter) set(key string, e *Service) {
	h := keyHash(key)
	n := shardOf(h)
	if s := w.next[n]; len(s) > 0 {
		if i, ok := find(s, h, key); ok {
			s = w.own(n, false)
			s[i] = e
			return
		}
	}
	s := w.own(n, true)
	i, _ := find(s, h, key)
	s[i] = e
	w.counts[n]++
}

func (w *entryWriter) delete(key string) {
	h := keyHash(key)
	n := shardOf(h)
	if len(w.next[n]) == 0 {
		return
	}
	if _, ok := find(w.next[n], h, key); !ok {
		return
	}
	s := w.own(n, false)
	i, _ := find(s, h, key)
	// Backward-shift deletion: the entries after i in its run move back
	// to the slot they would have taken had i been empty, so that every
	// probe still meets its entry before an empty slot.
	mask := len(s) - 1
	for j := (i + 1) & mask; s[j] != nil; j = (j + 1) & mask {
		if home := s.slot(entryHash(s[j])); (j-home)&mask >= (j-i)&mask {
			s[i] = s[j]
			i = j
		}
	}
	s[i] = nil
	w.counts[n]--
}

// publish returns the version built so far and starts a new batch.
func (w *entryWriter) publish() *entryTable {
	w.arrayOwned = false
	w.owned = [shardCount]bool{}
	return w.next
}
