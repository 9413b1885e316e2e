package index_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// The clusterset of the bench size: 10k Services with a slice of
// 10 endpoints each, and 1k headless ServiceImports whose endpoints (10
// per cluster) come from 3 clusters.
const (
	benchServices, benchImports, benchClusters, benchPerSlice = 10_000, 1_000, 3, 10
)

var benchClusterIDs = [benchClusters]string{"cluster-a", "cluster-b", "cluster-c"}

// clustersetChanges is that cluster, as a source delivers it.
func clustersetChanges() []index.Change {
	var cs []index.Change
	n := 0
	slice := func(es *object.EndpointSlice) {
		es.Ports = []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}
		es.Endpoints = make([]object.Endpoint, benchPerSlice)
		for i := range es.Endpoints {
			es.Endpoints[i] = object.Endpoint{Addresses: []netip.Addr{addrN(n)}, Ready: true}
			n++
		}
		cs = append(cs, sliceChange(es))
	}
	for s := range benchServices {
		name := fmt.Sprintf("svc-%05d", s)
		cs = append(cs, svcChange((&object.Service{Meta: object.Meta{Name: name, Namespace: "prod"}, Type: object.ClusterIP,
			HasSelector: true}).SetClusterIPs([]netip.Addr{netip.AddrFrom4([4]byte{172, 16, byte(s >> 8), byte(s)})})))
		slice(&object.EndpointSlice{Meta: object.Meta{Name: name + "-x", Namespace: "prod"}, ServiceName: name})
	}
	for i := range benchImports {
		name := fmt.Sprintf("imp-%04d", i)
		cs = append(cs, importChange(&object.ServiceImport{Meta: object.Meta{Name: name, Namespace: "prod"}, Type: object.Headless}))
		for _, cl := range benchClusterIDs {
			slice(mcSlice(name+"-"+cl, name, cl))
		}
	}
	return cs
}

// BenchmarkClustersetSliceUpdate is one slice changing (every address
// moves), applied as the API source does and published every 100 changes
// as RunPublisher coalesces them: "import" is one member cluster's slice of
// a ServiceImport, "service" a Service's slice in the same index. The
// import's costs what its slice holds, as the Service's does, whatever
// the other clusters and imports hold.
func BenchmarkClustersetSliceUpdate(b *testing.B) {
	for _, kind := range []string{"import", "service"} {
		b.Run(kind, func(b *testing.B) {
			ix := index.New(index.Options{Multicluster: true})
			ix.Replace(clustersetChanges())
			var versions [2][]*object.EndpointSlice
			for v := range versions {
				for i := range benchImports {
					var es *object.EndpointSlice
					if kind == "import" {
						name := fmt.Sprintf("imp-%04d", i)
						es = mcSlice(name+"-cluster-b", name, "cluster-b")
					} else {
						name := fmt.Sprintf("svc-%05d", i)
						es = &object.EndpointSlice{Meta: object.Meta{Name: name + "-x", Namespace: "prod"}, ServiceName: name,
							Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}}
					}
					for j := range benchPerSlice {
						es.Endpoints = append(es.Endpoints, object.Endpoint{Addresses: []netip.Addr{addrN(1<<22 + (v*benchImports+i)*benchPerSlice + j)}, Ready: true})
					}
					versions[v] = append(versions[v], es)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				ix.ApplyDeferred(sliceChange(versions[(i/benchImports+1)%2][i%benchImports]))
				if i%100 == 99 {
					index.PublishPending(ix)
				}
			}
			b.StopTimer()
			index.PublishPending(ix)
		})
	}
}

// BenchmarkClustersetMemory reports the heap the index holds for the
// clusterset, per ServiceImport (3 slices of 10 endpoints each), beyond
// what the same index holds with multicluster off (where the imports and
// their slices are dropped).
func BenchmarkClustersetMemory(b *testing.B) {
	changes := clustersetChanges()
	heap := func(opts index.Options) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ix := index.New(opts)
		ix.Replace(changes)
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(ix)
		return after.HeapAlloc - before.HeapAlloc
	}
	var on, off uint64
	for range b.N {
		off = heap(index.Options{})
		on = heap(index.Options{Multicluster: true})
	}
	b.ReportMetric(float64(int64(on)-int64(off))/benchImports, "B/import")
	b.ReportMetric(float64(off)/benchServices, "B/service")
}
