package index_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// TestReversePublishCostsWhatChanged guards the reverse index's share of
// BenchmarkRollout without timing it: applying and publishing a change
// that moves every endpoint of a 100-endpoint slice to new addresses
// allocates what the change touches, the same in a cluster of 10k other
// addresses as in one of 100k. When the reverse index had a fixed 256
// shards, each move copied a shard of 1/256 of the cluster's addresses:
// 4.9 MB here at 100k, 0.60 MB at 10k; now 0.93 MB at 100k and 0.41 MB at
// 10k, where the shards are still the 256 they start as, smaller than
// reverseShardMax.
func TestReversePublishCostsWhatChanged(t *testing.T) {
	const perSlice = 100
	// A shard holds at most reverseShardMax (128) entries on average, and
	// its copy room for 4 more, at 40 bytes an entry (its address and its
	// name's header): each of the change's moves, an endpoint's address
	// out and its new one in, copies one shard at most. 256 kB is the rest
	// of the publish: the service's endpoints and names, the pages of
	// shard headers the moves fall in (768 bytes each).
	const limit = 2*perSlice*(128+4)*40 + 256<<10
	for _, cluster := range []int{10_000, 100_000} {
		t.Run(fmt.Sprintf("cluster=%d", cluster), func(t *testing.T) {
			ix := benchIndex([]*object.EndpointSlice{benchSlice(0, 0, perSlice)})
			addRest(ix, cluster)
			var before, after runtime.MemStats
			for round := range 3 {
				// The new addresses are in shards apart from the old ones'.
				es := benchSlice(0, (round+1)%2*(1<<21+128), perSlice)
				runtime.ReadMemStats(&before)
				ix.ApplyDeferred(sliceChange(es))
				index.PublishPending(ix)
				runtime.ReadMemStats(&after)
				got := after.TotalAlloc - before.TotalAlloc
				t.Logf("round %d: %d bytes", round, got)
				if got > limit {
					t.Errorf("round %d: moving %d endpoints in a cluster of %d addresses allocated %d bytes, want at most %d",
						round, perSlice, cluster, got, limit)
				}
				if names := ix.View().ReverseNames(es.Endpoints[perSlice/2].Addresses[0]); len(names) != 1 {
					t.Fatalf("round %d: reverse names of a moved endpoint %v, want one", round, names)
				}
				if names := ix.View().ReverseNames(netip.AddrFrom4([4]byte{10, 64, 0, 7})); len(names) != 1 {
					t.Fatalf("round %d: reverse names of the rest's endpoint %v, want one", round, names)
				}
			}
		})
	}
}
