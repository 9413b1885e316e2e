package index_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// BenchmarkReverseNames looks up the names of a cluster IP, of an
// endpoint and of an address nothing has, among the bench's 10k Services
// (every tenth headless with 10 endpoints).
func BenchmarkReverseNames(b *testing.B) {
	ix := index.New(index.Options{})
	var changes []index.Change
	for i := range 10_000 {
		ns, name := fmt.Sprintf("bench-%d", (i/10)%10), fmt.Sprintf("svc-%d", i)
		svc := (&object.Service{Meta: object.Meta{Name: name, Namespace: ns}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})})
		if i%10 == 9 {
			svc.Type = object.Headless
			svc.SetClusterIPs(nil)
			es := &object.EndpointSlice{Meta: object.Meta{Name: name + "-0", Namespace: ns}, ServiceName: name}
			for k := range 10 {
				es.Endpoints = append(es.Endpoints, object.Endpoint{Ready: true,
					Addresses: []netip.Addr{netip.AddrFrom4([4]byte{10, byte(128 + k), byte(i >> 8), byte(i)})}})
			}
			changes = append(changes, index.Change{Kind: object.KindEndpointSlice, Namespace: ns, Name: es.Name, Object: es})
		}
		changes = append(changes, index.Change{Kind: object.KindService, Namespace: ns, Name: name, Object: svc})
	}
	ix.Replace(changes)
	view := ix.View()
	for _, bc := range []struct {
		name string
		addr netip.Addr
		want int
	}{
		{"cluster IP", netip.MustParseAddr("10.96.16.8"), 1},
		{"endpoint", netip.MustParseAddr("10.133.3.231"), 1},
		{"none", netip.MustParseAddr("10.200.0.1"), 0},
	} {
		if got := len(view.ReverseNames(bc.addr)); got != bc.want {
			b.Fatalf("%s: %d names of %s, want %d", bc.name, got, bc.addr, bc.want)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				view.ReverseNames(bc.addr)
			}
		})
	}
}
