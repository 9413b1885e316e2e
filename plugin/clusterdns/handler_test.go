package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// nextRcode is what the stand-in next plugin answers, to tell that a query
// was passed on.
const nextRcode = dns.RcodeRefused

// newTestPlugin returns a plugin serving the test cluster, or nothing synced
// yet when synced is false.
func newTestPlugin(t testing.TB, synced bool, fallZones ...string) *ClusterDNS {
	t.Helper()
	cd := New([]string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."})
	cd.cfg.Pods = resolver.PodsInsecure
	cd.index = index.New(index.Options{})
	if synced {
		cd.index = indextest.Index(index.Options{})
	}
	cd.resolver = resolver.New(cd.cfg.Config)
	if len(fallZones) > 0 {
		cd.Fall.SetZonesFromArgs(fallZones)
	}
	cd.Next = test.NextHandler(nextRcode, nil)
	return cd
}

func serve(t *testing.T, cd *ClusterDNS, m *dns.Msg) (int, *dns.Msg, error) {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	rcode, err := cd.ServeDNS(context.Background(), rec, m)
	return rcode, rec.Msg, err
}

func TestServeDNS(t *testing.T) {
	cd := newTestPlugin(t, true, "in-addr.arpa.")
	for _, tc := range []test.Case{
		{Qname: "Web.Prod.Svc.Cluster.Local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("Web.Prod.Svc.Cluster.Local. 5 IN A 10.96.0.10")}},
		{Qname: "nope.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError,
			Ns: []dns.RR{test.SOA("cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5")}},
		{Qname: "prod.svc.cluster.local.", Qtype: dns.TypeA,
			Ns: []dns.RR{test.SOA("cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5")}},
	} {
		t.Run(tc.Qname, func(t *testing.T) {
			rcode, m, err := serve(t, cd, tc.Msg())
			if err != nil || rcode != dns.RcodeSuccess {
				t.Fatalf("rcode %d, err %v: the plugin must write its own answer", rcode, err)
			}
			if !m.Authoritative {
				t.Error("answer is not authoritative")
			}
			if err := test.SortAndCheck(m, tc); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestServeDNSPassesOn(t *testing.T) {
	cd := newTestPlugin(t, true, "in-addr.arpa.")
	for _, tt := range []struct {
		name string
		msg  *dns.Msg
	}{
		{name: "outside the zones", msg: new(dns.Msg).SetQuestion("example.com.", dns.TypeA)},
		{name: "fallthrough on NXDOMAIN in a fallthrough zone", msg: new(dns.Msg).SetQuestion("9.9.9.9.in-addr.arpa.", dns.TypePTR)},
		{name: "class CHAOS", msg: func() *dns.Msg {
			m := new(dns.Msg).SetQuestion("web.prod.svc.cluster.local.", dns.TypeTXT)
			m.Question[0].Qclass = dns.ClassCHAOS
			return m
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rcode, _, _ := serve(t, cd, tt.msg)
			if rcode != nextRcode {
				t.Errorf("rcode %s, want the query passed to the next plugin", dns.RcodeToString[rcode])
			}
		})
	}
	// Without fallthrough for the zone, NXDOMAIN is answered here.
	rcode, m, _ := serve(t, cd, new(dns.Msg).SetQuestion("nope.prod.svc.cluster.local.", dns.TypeA))
	if rcode != dns.RcodeSuccess || m.Rcode != dns.RcodeNameError {
		t.Errorf("rcode %d / %d, want NXDOMAIN written", rcode, m.Rcode)
	}
}

func TestServeDNSBeforeSync(t *testing.T) {
	cd := newTestPlugin(t, false)
	rcode, _, err := serve(t, cd, new(dns.Msg).SetQuestion("web.prod.svc.cluster.local.", dns.TypeA))
	if rcode != dns.RcodeServerFailure || err == nil {
		t.Errorf("rcode %s, err %v: want SERVFAIL with an error before the first sync", dns.RcodeToString[rcode], err)
	}
	if cd.Ready() {
		t.Error("Ready before the first sync")
	}
	rcode, _, _ = serve(t, cd, new(dns.Msg).SetQuestion("example.com.", dns.TypeA))
	if rcode != nextRcode {
		t.Errorf("names outside the zones must pass on before sync, got %s", dns.RcodeToString[rcode])
	}
	cd.index.Synced()
	if !cd.Ready() {
		t.Error("not Ready after sync")
	}
	rcode, m, _ := serve(t, cd, new(dns.Msg).SetQuestion("web.prod.svc.cluster.local.", dns.TypeA))
	if rcode != dns.RcodeSuccess || m == nil || m.Rcode != dns.RcodeNameError {
		t.Fatalf("after an empty sync: rcode %d, reply %v; want NXDOMAIN written", rcode, m)
	}
}

func TestServeDNSOpcode(t *testing.T) {
	cd := newTestPlugin(t, true)
	m := new(dns.Msg).SetQuestion("web.prod.svc.cluster.local.", dns.TypeSOA)
	m.Opcode = dns.OpcodeNotify
	if rcode, _, _ := serve(t, cd, m); rcode != dns.RcodeNotImplemented {
		t.Errorf("NOTIFY got %s, want NOTIMP", dns.RcodeToString[rcode])
	}
}

// FuzzServeDNS feeds arbitrary wire messages to the handler: it must never
// panic, and when it says it answered, the answer must pack.
func FuzzServeDNS(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"web.prod.svc.cluster.local.", dns.TypeA},
		{"_http._tcp.web.prod.svc.cluster.local.", dns.TypeSRV},
		{"search.prod.svc.cluster.local.", dns.TypeCNAME},
		{"7.1.244.10.in-addr.arpa.", dns.TypePTR},
		{"10-244-1-7.prod.pod.cluster.local.", dns.TypeANY},
		{"cluster.local.", dns.TypeNS},
	} {
		m := new(dns.Msg).SetQuestion(q.name, q.qtype)
		m.SetEdns0(4096, true)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	cd := newTestPlugin(f, true, "in-addr.arpa.")
	f.Fuzz(func(t *testing.T, wire []byte) {
		m := new(dns.Msg)
		if err := m.Unpack(wire); err != nil || len(m.Question) == 0 {
			return // the server answers FORMERR before any plugin runs
		}
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		rcode, _ := cd.ServeDNS(context.Background(), rec, m)
		if rcode != dns.RcodeSuccess || rec.Msg == nil {
			return
		}
		if _, err := rec.Msg.Pack(); err != nil {
			t.Fatalf("reply to %v does not pack: %v", m.Question, err)
		}
	})
}
