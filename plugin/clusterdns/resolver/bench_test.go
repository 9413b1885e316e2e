package resolver

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// benchIndex is a 10k-service cluster: 100 namespaces of 100 services,
// every 10th headless with 10 endpoints, the rest ClusterIP with 3.
func benchIndex(b *testing.B) *index.View {
	b.Helper()
	ix := index.New(index.Options{})
	var cs []index.Change
	for n := 0; n < 100; n++ {
		ns := fmt.Sprintf("ns-%d", n)
		for s := 0; s < 100; s++ {
			name := fmt.Sprintf("svc-%d", s)
			i := n*100 + s
			svc := (&object.Service{Meta: object.Meta{Name: name, Namespace: ns}, Type: object.ClusterIP,
				Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}}).SetClusterIPs([]netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})})
			eps := 3
			if s%10 == 0 {
				svc.Type, eps = object.Headless, 10
				svc.SetClusterIPs(nil)
			}
			es := &object.EndpointSlice{Meta: object.Meta{Name: name + "-x", Namespace: ns}, ServiceName: name,
				Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 8080}}}
			for e := 0; e < eps; e++ {
				es.Endpoints = append(es.Endpoints, object.Endpoint{Ready: true,
					Addresses: []netip.Addr{netip.AddrFrom4([4]byte{10, byte(100 + e), byte(i >> 8), byte(i)})}})
			}
			cs = append(cs,
				index.Change{Kind: object.KindService, Namespace: ns, Name: name, Object: svc},
				index.Change{Kind: object.KindEndpointSlice, Namespace: ns, Name: es.Name, Object: es})
		}
	}
	ix.Replace(cs)
	return ix.View()
}

func BenchmarkResolve(b *testing.B) {
	snap := benchIndex(b)
	r := New(Config{Zones: zones, TTL: 5, Pods: PodsInsecure})
	for _, bc := range []struct {
		name  string
		qname string
		qtype uint16
	}{
		{"clusterip A", "svc-55.ns-42.svc.cluster.local.", dns.TypeA},
		{"clusterip AAAA nodata", "svc-55.ns-42.svc.cluster.local.", dns.TypeAAAA},
		{"headless A", "svc-50.ns-42.svc.cluster.local.", dns.TypeA},
		{"srv", "_http._tcp.svc-55.ns-42.svc.cluster.local.", dns.TypeSRV},
		{"nxdomain search path", "www.example.com.ns-42.svc.cluster.local.", dns.TypeA},
		{"pod", "10-244-1-7.ns-42.pod.cluster.local.", dns.TypeA},
		{"ptr", "55.42.96.10.in-addr.arpa.", dns.TypePTR},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Resolve(snap, index.Client{}, bc.qname, bc.qtype)
			}
		})
	}
}
