package index_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// addrN is the n-th address of 10.0.0.0/8.
func addrN(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
}

// benchSlice is slice s of headless service "web.prod", with endpoints at
// addresses first, first+1, ... (n of them), all ready.
func benchSlice(s, first, n int) *object.EndpointSlice {
	es := &object.EndpointSlice{
		Meta:        object.Meta{Name: fmt.Sprintf("web-%03d", s), Namespace: "prod"},
		ServiceName: "web",
		Ports:       []object.Port{{Name: "http", Protocol: "tcp", Port: 80}},
		Endpoints:   make([]object.Endpoint, n),
	}
	for i := range es.Endpoints {
		es.Endpoints[i] = object.Endpoint{Addresses: []netip.Addr{addrN(first + i)}, Ready: true}
	}
	return es
}

func benchIndex(slices []*object.EndpointSlice) *index.Index {
	ix := index.New(index.Options{})
	changes := []index.Change{svcChange(&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.Headless, HasSelector: true})}
	for _, es := range slices {
		changes = append(changes, sliceChange(es))
	}
	ix.Apply(changes...)
	ix.Synced()
	return ix
}

// addRest adds the rest of a cluster to ix: n endpoints of another
// headless service, "rest.prod", in slices of 1,000, at addresses from
// 1<<22 on, apart from benchSlice's.
func addRest(ix *index.Index, n int) {
	changes := []index.Change{svcChange(&object.Service{Meta: object.Meta{Name: "rest", Namespace: "prod"}, Type: object.Headless, HasSelector: true})}
	for s := range n / 1000 {
		es := benchSlice(s, 1<<22+s*1000, 1000)
		es.Name, es.ServiceName = fmt.Sprintf("rest-%03d", s), "rest"
		changes = append(changes, sliceChange(es))
	}
	ix.Apply(changes...)
}

// BenchmarkSliceUpdate is one EndpointSlice change in a headless service of
// 50 slices of 1,000 endpoints. Each change replaces every address of one
// slice (a rollout step), alternating between two sets of addresses.
// "deferred" is the writer-lock time of the event as the API source applies
// it (ApplyDeferred), what every other change waits behind; "published"
// adds publishing it alone (Apply).
func BenchmarkSliceUpdate(b *testing.B) {
	const nSlices, perSlice = 50, 1000
	var versions [2][]*object.EndpointSlice
	for v := range versions {
		for s := range nSlices {
			versions[v] = append(versions[v], benchSlice(s, (v*nSlices+s)*perSlice, perSlice))
		}
	}
	for _, deferred := range []bool{true, false} {
		name := map[bool]string{true: "deferred", false: "published"}[deferred]
		b.Run(name, func(b *testing.B) {
			ix := benchIndex(versions[0])
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				c := sliceChange(versions[(i/nSlices+1)%2][i%nSlices])
				if deferred {
					ix.ApplyDeferred(c)
				} else {
					ix.Apply(c)
				}
			}
			b.StopTimer()
			index.PublishPending(ix)
		})
	}
}

// BenchmarkRollout replaces every pod of a headless service one at a time,
// as a Deployment rollout does: each step moves one endpoint of a 100-
// endpoint slice to a new address. Its ns/endpoint must stay flat as the
// service grows: a step costs what its slice holds, not what the service
// does. Each change is applied as the API source does (ApplyDeferred) and
// published at the end of each slice's 100 changes, standing in for
// RunPublisher's coalescing.
//
// Measured on the 2 shared cores of a busy machine (2026-12-07), 4a28fb3
// ("before": each publish copied the service's endpoints into one array
// and rebuilt its name table) alternating with the endpoints published in
// chunks that the next publish shares (endpointset.go, "after"), at 1k,
// 2.5k and 5k endpoints:
//   - allocated an endpoint (exact): 16.2, 18.4, 22.0 kB before; 15.6,
//     16.5, 18.3 kB after;
//   - CPU time (user+sys, GOMAXPROCS=1, two rounds) an endpoint rolled:
//     15–17, 15–21, 19–26 µs before; 13–15, 14–15, 17–21 µs after;
//   - ns/endpoint as reported, ten rounds: 17k–67k, 25k–72k, 38k–76k
//     before; 16k–70k, 20k–49k, 30k–53k after: the machine's load, more
//     than the index.
//
// By CPU profile, what still grew was the reverse index, the whole
// cluster's: a publish copied each of its fixed 256 shards that its
// changes fell in (reverse.go), so a step cost 1/256 of the cluster's
// addresses. Its shards now double past 128 entries on average, which
// "endpoints=1000,rest=100000" shows: the same rollout with 100k other
// addresses in the index (addRest). Measured 2026-12-07, 69f27c3
// ("before") alternating with the shards that grow ("after"), CPU time
// (user+sys, GOMAXPROCS=1) of 5 rollouts (a 5x run less a 1x run, which
// leaves the setup out), four rounds:
//   - at 1k, 2.5k and 5k endpoints, under the 32k entries where the
//     shards start to double, alike: 11.4–12.6, 14.3–15.5, 14.0–15.5 µs
//     CPU an endpoint before; 12.4–15.4, 13.4–17.0, 14.5–16.9 µs after;
//     allocated (exact) 15.6, 16.5, 18.3 kB before; 15.5, 16.2, 17.3 kB
//     after;
//   - 1k endpoints in 100k: 45–70 µs CPU and 39.2 kB an endpoint before,
//     29–46 µs and 20.7 kB after. The rest to 1k's figures is the copy of
//     a shard of ~100 entries for each address out and in (27% of the CPU
//     by profile), bounded by reverseShardMax, not by the cluster.
func BenchmarkRollout(b *testing.B) {
	const perSlice = 100
	for _, bc := range []struct{ n, rest int }{{1000, 0}, {2500, 0}, {5000, 0}, {1000, 100_000}} {
		name := fmt.Sprintf("endpoints=%d", bc.n)
		if bc.rest > 0 {
			name += fmt.Sprintf(",rest=%d", bc.rest)
		}
		b.Run(name, func(b *testing.B) {
			n, nSlices := bc.n, bc.n/perSlice
			var start []*object.EndpointSlice
			for s := range nSlices {
				start = append(start, benchSlice(s, s*perSlice, perSlice))
			}
			ix := benchIndex(start)
			addRest(ix, bc.rest)
			current := start
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				// Rollout i moves every endpoint to generation i+1's
				// address, slice by slice, one endpoint per change.
				base := (i + 1) % 2 * n
				for s := range nSlices {
					es := current[s]
					for j := range perSlice {
						next := *es
						next.Endpoints = append([]object.Endpoint(nil), es.Endpoints...)
						next.Endpoints[j] = object.Endpoint{Addresses: []netip.Addr{addrN(base + s*perSlice + j + 1<<20)}, Ready: true}
						es = &next
						ix.ApplyDeferred(sliceChange(es))
					}
					index.PublishPending(ix)
					current[s] = es
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/endpoint")
		})
	}
}

// BenchmarkServiceMemory reports the heap an index holds per endpoint of a
// headless service with 1,000 endpoints in 10 slices, the slices included.
func BenchmarkServiceMemory(b *testing.B) {
	const n, perSlice = 1000, 100
	var before, after runtime.MemStats
	var keep []*index.Index
	for range b.N {
		runtime.GC()
		runtime.ReadMemStats(&before)
		var ss []*object.EndpointSlice
		for s := range n / perSlice {
			ss = append(ss, benchSlice(s, s*perSlice, perSlice))
		}
		keep = append(keep, benchIndex(ss))
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/endpoint")
	runtime.KeepAlive(keep)
}
