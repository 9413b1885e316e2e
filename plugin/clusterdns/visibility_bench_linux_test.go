package clusterdns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"

	"golang.org/x/sys/unix"
)

// scaleChanges is a cluster at the Kubernetes scale limits: 100 namespaces
// of 100 ClusterIP services (10k) and 1,500 pods (150k), every tenth
// namespace exporting itself to namespaces labelled tier=front, which
// every other namespace is. The pod at test.ResponseWriter's address
// (10.240.0.1) runs in ns-42.
func scaleChanges() []index.Change {
	var cs []index.Change
	for n := range 100 {
		ns := fmt.Sprintf("ns-%d", n)
		o := &object.Namespace{Meta: object.Meta{Name: ns}}
		if n%2 == 0 {
			o.Labels = map[string]string{"tier": "front"}
		}
		if n%10 == 0 {
			o.VisibleTo = "tier=front"
		}
		cs = append(cs, index.Change{Kind: object.KindNamespace, Name: ns, Object: o})
		for s := range 100 {
			i := n*100 + s
			name := fmt.Sprintf("svc-%d", s)
			cs = append(cs, index.Change{Kind: object.KindService, Namespace: ns, Name: name, Object: (&object.Service{
				Meta: object.Meta{Name: name, Namespace: ns}, Type: object.ClusterIP,
				Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}}).SetClusterIPs([]netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})})})
		}
		for p := range 1500 {
			i := n*1500 + p
			name := fmt.Sprintf("pod-%d", p)
			cs = append(cs, index.Change{Kind: object.KindPod, Namespace: ns, Name: name, Object: &object.Pod{
				Meta: object.Meta{Name: name, Namespace: ns}, IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, byte(244 + i>>16), byte(i >> 8), byte(i)})}}})
		}
	}
	return append(cs, index.Change{Kind: object.KindPod, Namespace: "ns-42", Name: "client", Object: &object.Pod{
		Meta: object.Meta{Name: "client", Namespace: "ns-42"}, IPs: []netip.Addr{netip.MustParseAddr("10.240.0.1")}}})
}

// threadCPU is the CPU time the calling thread has used.
func threadCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fixedAddrWriter returns one client address, allocated once, as the
// server's writer does (test.ResponseWriter allocates one per call).
type fixedAddrWriter struct {
	test.ResponseWriter
	addr net.Addr
}

func (w *fixedAddrWriter) RemoteAddr() net.Addr { return w.addr }

// BenchmarkVisibility is the cost of the visibility option per query,
// through ServeDNS, at 10k services and 150k pods. The answers compared are
// the same with and without it (the client's own namespace, one exported to
// it, a PTR into that one); "hidden" is the NXDOMAIN a namespace exported
// elsewhere gets instead of the address. Batches of queries to a server
// without the option and to one with it alternate, so that the load of a
// shared machine weighs on both alike: on/off is the ratio of their times
// (target: at most 1.1), counted in CPU time of the benchmark's thread.
func BenchmarkVisibility(b *testing.B) {
	changes := scaleChanges()
	w := &fixedAddrWriter{addr: (&test.ResponseWriter{}).RemoteAddr()}
	servers := make([]*ClusterDNS, 2) // off, on
	for i := range servers {
		cd := New([]string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."})
		cd.cfg.Pods = resolver.PodsInsecure
		cd.cfg.index.Pods = true
		if i == 1 {
			cd.cfg.index.Visibility = &index.Visibility{}
		}
		cd.index = index.New(cd.cfg.index)
		cd.index.Replace(changes)
		cd.resolver = resolver.New(cd.cfg.Config)
		servers[i] = cd
	}
	for _, bc := range []struct {
		name   string
		qname  string
		qtype  uint16
		hidden bool
	}{
		{name: "own A", qname: "svc-55.ns-42.svc.cluster.local.", qtype: dns.TypeA},
		{name: "exported A", qname: "svc-55.ns-30.svc.cluster.local.", qtype: dns.TypeA},
		{name: "exported PTR", qname: "239.11.96.10.in-addr.arpa.", qtype: dns.TypePTR},
		{name: "hidden A", qname: "svc-55.ns-43.svc.cluster.local.", qtype: dns.TypeA, hidden: true},
	} {
		m := new(dns.Msg).SetQuestion(bc.qname, bc.qtype)
		for i, cd := range servers {
			rec := dnstest.NewRecorder(w)
			cd.ServeDNS(context.Background(), rec, m)
			if rec.Msg == nil || (len(rec.Msg.Answer) == 0) != (bc.hidden && i == 1) {
				b.Fatalf("%s: reply %v", bc.name, rec.Msg)
			}
		}
		b.Run(bc.name, func(b *testing.B) {
			const batch = 200
			// CPU time of this thread, not wall time: time the scheduler
			// gives to others' work on a shared machine is not counted.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var took [2]time.Duration
			b.ReportAllocs()
			for b.Loop() {
				for i, cd := range servers {
					start := threadCPU(b)
					for range batch {
						cd.ServeDNS(context.Background(), w, m)
					}
					took[i] += threadCPU(b) - start
				}
			}
			queries := float64(b.N * batch)
			b.ReportMetric(float64(took[0].Nanoseconds())/queries, "cpu-ns/query-off")
			b.ReportMetric(float64(took[1].Nanoseconds())/queries, "cpu-ns/query-on")
			b.ReportMetric(float64(took[1])/float64(took[0]), "on/off")
		})
	}
}
