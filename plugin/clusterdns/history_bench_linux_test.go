package clusterdns

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// BenchmarkServeDNSHistory is the cost per query of the explain query
// history (make bench's figure is the ratio of CPU per query on to off):
// "256 clients" asks in turn from 256 addresses, "one client" from one, as
// make bench's load does, "next plugin" a name the plugin passes on.
// Batches of queries to a server without the history and to one with it
// alternate, so that the load of a shared machine weighs on both alike,
// counted in CPU time of the benchmark's thread (as BenchmarkVisibility).
func BenchmarkServeDNSHistory(b *testing.B) {
	servers := make([]*ClusterDNS, 2) // off, on
	for i := range servers {
		servers[i] = newTestPlugin(b, true)
	}
	servers[1].history = newHistory(defaultHistoryPerClient, defaultHistoryMaxClients)
	ws := make([]dns.ResponseWriter, 256)
	for i := range ws {
		ws[i] = &remoteWriter{ResponseWriter: &test.ResponseWriter{}, remote: &net.UDPAddr{IP: net.IPv4(10, 244, byte(i/250), byte(i%250+1)), Port: 40000}}
	}
	ours := test.Case{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA}.Msg()
	for _, bc := range []struct {
		name    string
		clients int
		m       *dns.Msg
	}{
		{name: "256 clients", clients: 256, m: ours},
		{name: "one client", clients: 1, m: ours},
		{name: "next plugin", clients: 1, m: test.Case{Qname: "example.org.", Qtype: dns.TypeA}.Msg()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const batch = 256
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var took [2]time.Duration
			for b.Loop() {
				for i, cd := range servers {
					start := threadCPU(b)
					for q := range batch {
						cd.ServeDNS(context.Background(), ws[q%bc.clients], bc.m)
					}
					took[i] += threadCPU(b) - start
				}
			}
			queries := float64(b.N * batch)
			b.ReportMetric(float64(took[0].Nanoseconds())/queries, "cpu-ns/query-off")
			b.ReportMetric(float64(took[1].Nanoseconds())/queries, "cpu-ns/query-on")
			b.ReportMetric(float64(took[1]-took[0])/queries, "cpu-ns/query-added")
			b.ReportMetric(float64(took[1])/float64(took[0]), "on/off")
		})
	}
}
