package index

import (
	"maps"
)

// shardCount is the number of shards each snapshot map is cut into. A batch of
// changes copies only the shards it touches, so a single change costs
// O(entries/shardCount) instead of O(entries), while a reader still finds a
// key with one hash and one map lookup. 256 keeps shards of a 150k-pod index
// around 600 entries.
const shardCount = 256

// shards is one immutable map of a snapshot, cut into shards.
type shards[K comparable, V any] [shardCount]map[K]V

// nameShard picks the shard of a DNS name key (FNV-1a). It is generic over
// string and []byte so the query path can hash the lower-cased query name in
// its stack buffer without converting it to a string.
func nameShard[T string | []byte](key T) uint8 { return foldShard(fnv32(key)) }

// foldShard is the shard of a name whose fnv32 hash is h.
func foldShard(h uint32) uint8 { return uint8(h ^ h>>8 ^ h>>16 ^ h>>24) }

// fnv32 is the FNV-1a hash of a name.
func fnv32[T string | []byte](key T) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h
}

// lookupName finds a name-keyed entry. The string(b) conversion inside the
// index expression does not allocate.
func lookupName[V any](s *shards[string, V], b []byte) (V, bool) {
	v, ok := s[nameShard(b)][string(b)]
	return v, ok
}

// shardWriter builds the next version of a shards map from the published one,
// copying the shard array and each touched shard once per batch. The
// published version is never written to: readers hold it without locks.
type shardWriter[K comparable, V any] struct {
	next       *shards[K, V]
	shard      func(K) uint8
	arrayOwned bool
	owned      [shardCount]bool
}

func newShardWriter[K comparable, V any](shard func(K) uint8) *shardWriter[K, V] {
	s := &shards[K, V]{}
	return &shardWriter[K, V]{next: s, shard: shard}
}

func (w *shardWriter[K, V]) own(i uint8) map[K]V {
	if !w.arrayOwned {
		cp := *w.next
		w.next = &cp
		w.arrayOwned = true
	}
	if !w.owned[i] {
		if w.next[i] == nil {
			w.next[i] = make(map[K]V)
		} else {
			w.next[i] = maps.Clone(w.next[i])
		}
		w.owned[i] = true
	}
	return w.next[i]
}

func (w *shardWriter[K, V]) get(k K) (V, bool) {
	v, ok := w.next[w.shard(k)][k]
	return v, ok
}

func (w *shardWriter[K, V]) set(k K, v V) {
	w.own(w.shard(k))[k] = v
}

func (w *shardWriter[K, V]) delete(k K) {
	i := w.shard(k)
	if _, ok := w.next[i][k]; !ok {
		return
	}
	delete(w.own(i), k)
}

// publish returns the version built so far and starts a new batch: from here
// on, it belongs to readers and is copied before the next write.
func (w *shardWriter[K, V]) publish() *shards[K, V] {
	w.arrayOwned = false
	w.owned = [shardCount]bool{}
	return w.next
}
