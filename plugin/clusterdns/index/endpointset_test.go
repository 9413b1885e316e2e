package index_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// TestPublishCostsWhatChanged guards BenchmarkRollout without timing it:
// the publish after a change of one slice of a headless service of 50
// slices of 1,000 endpoints allocates what the slice holds, not what the
// service does. When each publish copied the service's endpoints into one
// array and rebuilt its name table, it allocated 3.9 MB here (77 bytes an
// endpoint of the service, 3,860 an endpoint of the slice), and a rollout,
// which publishes once a slice or so, cost O(N²).
func TestPublishCostsWhatChanged(t *testing.T) {
	const nSlices, perSlice, changed = 50, 1000, 7
	var start []*object.EndpointSlice
	for s := range nSlices {
		start = append(start, benchSlice(s, s*perSlice, perSlice))
	}
	ix := benchIndex(start)
	var before, after runtime.MemStats
	for round := range 3 {
		// Every endpoint of the slice is renamed (a StatefulSet replaced),
		// at the same addresses: the reverse index, which is the whole
		// cluster's and cut into shards by address (reverse.go), keeps the
		// size of each (TestReversePublishCostsWhatChanged guards a
		// publish's copies of them).
		es := benchSlice(changed, changed*perSlice, perSlice)
		for i := range es.Endpoints {
			es.Endpoints[i].Hostname = fmt.Sprintf("r%d-%d", round, i)
		}
		ix.ApplyDeferred(sliceChange(es))
		runtime.ReadMemStats(&before)
		index.PublishPending(ix)
		runtime.ReadMemStats(&after)
		// The endpoints are the merge's own arrays, shared, and the name
		// index copies the leaves the slice's old and new names fall in,
		// about 150 bytes an endpoint of the slice, and its leaves'
		// headers, 4 bytes an endpoint of the service: 345 kB here.
		const limit = 12 * perSlice * 48 // 12 times the slice's endpoints
		if got := after.TotalAlloc - before.TotalAlloc; got > limit {
			t.Errorf("round %d: publishing a change of %d endpoints in a service of %d allocated %d bytes, want at most %d",
				round, perSlice, nSlices*perSlice, got, limit)
		}
		svc := ix.View().Service([]byte("web.prod"))
		found := 0
		svc.EndpointsNamed([]byte(fmt.Sprintf("r%d-%d", round, perSlice/2)), func(*index.Endpoint) bool { found++; return true })
		if svc.EndpointCount() != nSlices*perSlice || found != 1 {
			t.Fatalf("round %d: %d endpoints, %d named r%d-%d; want %d and 1", round, svc.EndpointCount(), found, round, perSlice/2, nSlices*perSlice)
		}
	}
}

// TestSliceTooBigToIndexIsScanned: a slice of more addresses than a name
// index entry can tell apart (2^17, past the API server's limits, but a
// manifests file has none) is published without an index, and its
// endpoints are still found by name.
func TestSliceTooBigToIndexIsScanned(t *testing.T) {
	const n = 1<<17 + 1
	ix := benchIndex([]*object.EndpointSlice{benchSlice(0, 0, n)})
	svc := ix.View().Service([]byte("web.prod"))
	var found []*index.Endpoint
	svc.EndpointsNamed([]byte(index.DashedIP(addrN(n-1))), func(e *index.Endpoint) bool { found = append(found, e); return true })
	if svc.EndpointCount() != n || len(found) != 1 || found[0].Addr != addrN(n-1) {
		t.Fatalf("%d endpoints, found %v by the last one's name; want %d and it", svc.EndpointCount(), found, n)
	}
}
