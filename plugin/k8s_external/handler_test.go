package external

import (
	"context"
	"net"
	"testing"

	"github.com/coredns/coredns/plugin/etcd/msg"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// fixedBackend answers External from a table of names, as the kubernetes
// plugin fills its msg.Service values (Key under /c/<zone>, service TTL
// 30, port -1 for no port); a name not in it is NXDOMAIN.
type fixedBackend struct {
	names map[string][]msg.Service
	rcode map[string]int
}

func (b *fixedBackend) External(state request.Request, _ bool) ([]msg.Service, int) {
	if rcode, ok := b.rcode[state.Name()]; ok {
		return nil, rcode
	}
	if s, ok := b.names[state.Name()]; ok {
		return s, dns.RcodeSuccess
	}
	return nil, dns.RcodeNameError
}

func (b *fixedBackend) ExternalAddress(request.Request, bool) []dns.RR {
	return []dns.RR{
		&dns.A{Hdr: dns.RR_Header{Name: "ignored.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.IPv4(127, 0, 0, 53)},
		&dns.AAAA{Hdr: dns.RR_Header{Name: "ignored.", Rrtype: dns.TypeAAAA, Class: dns.ClassINET}, AAAA: net.ParseIP("::53")},
	}
}

func (b *fixedBackend) ExternalServices(string, bool) ([]msg.Service, map[string][]msg.Service) {
	return nil, nil
}

func (b *fixedBackend) ExternalSerial(string) uint32 { return 1499347823 }

const (
	lbKey = "/c/org/example/prod/lb"
	dbKey = "/c/org/example/prod/db"
)

var backend = &fixedBackend{
	names: map[string][]msg.Service{
		// Two external addresses, each listed once per port (http, none).
		"lb.prod.example.org.": {
			{Host: "192.0.2.1", Port: 80, TTL: 30, Key: lbKey},
			{Host: "192.0.2.1", Port: -1, TTL: 30, Key: lbKey},
			{Host: "2001:db8::1", Port: 80, TTL: 30, Key: lbKey},
			{Host: "2001:db8::1", Port: -1, TTL: 30, Key: lbKey},
		},
		"_http._tcp.lb.prod.example.org.": {
			{Host: "192.0.2.1", Port: 80, TTL: 30, Key: lbKey},
			{Host: "2001:db8::1", Port: 80, TTL: 30, Key: lbKey},
		},
		// A load balancer known by host name.
		"named.prod.example.org.": {{Host: "lb.cloud.example.net", Port: 443, TTL: 30, Key: "/c/org/example/prod/named"}},
		// A headless service's endpoints.
		"db.prod.example.org.": {
			{Host: "10.244.0.1", Port: 5432, TTL: 30, Key: dbKey + "/db-0"},
			{Host: "10.244.0.2", Port: 5432, TTL: 30, Key: dbKey + "/db-1"},
			{Host: "10.244.0.3", Port: 5432, TTL: 30, Key: dbKey + "/db-2"},
		},
		"noport.prod.example.org.": {{Host: "192.0.2.9", Port: -1, TTL: 30, Key: "/c/org/example/prod/noport"}},
		"prod.example.org.":        nil, // the namespace: NODATA (the backend's rcode is success)
		// A reverse name: the backend gives <svc>.<ns>.
		"1.2.0.192.in-addr.arpa.": {{Host: "lb.prod", TTL: 30}, {Host: "lb.prod", TTL: 30}},
	},
	rcode: map[string]int{
		"prod.example.org.":        dns.RcodeSuccess,
		"broken.prod.example.org.": dns.RcodeServerFailure,
	},
}

// apexSOA is the zone's SOA record, and negative the authority section of
// its negative answers.
var (
	apexSOA  = test.SOA("example.org. 5 IN SOA ns1.dns.example.org. hostmaster.dns.example.org. 1499347823 7200 1800 86400 5")
	negative = []dns.RR{apexSOA}
)

func newTestExternal(through bool) *External {
	e := New()
	e.setZones([]string{"example.org.", "2.0.192.in-addr.arpa."})
	e.backend = backend
	e.Next = test.NextHandler(dns.RcodeRefused, nil)
	if through {
		e.Fall = fall.Root
	}
	return e
}

func TestServeDNS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		through bool
		test.Case
	}{
		{name: "A of external addresses, each once", Case: test.Case{Qname: "lb.prod.example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("lb.prod.example.org. 5 IN A 192.0.2.1")}}},
		{name: "AAAA", Case: test.Case{Qname: "lb.prod.example.org.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("lb.prod.example.org. 5 IN AAAA 2001:db8::1")}}},
		{name: "question case is kept", Case: test.Case{Qname: "LB.Prod.example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("LB.Prod.example.org. 5 IN A 192.0.2.1")}}},
		{name: "SRV: the service's TTL, weights split, port -1 left out, zone TTL glue", Case: test.Case{Qname: "lb.prod.example.org.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("lb.prod.example.org. 30 IN SRV 0 25 80 lb.prod.example.org.")},
			Extra: []dns.RR{
				test.A("lb.prod.example.org. 5 IN A 192.0.2.1"),
				test.AAAA("lb.prod.example.org. 5 IN AAAA 2001:db8::1"),
			}}},
		{name: "SRV of a port", Case: test.Case{Qname: "_http._tcp.lb.prod.example.org.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_http._tcp.lb.prod.example.org. 30 IN SRV 0 50 80 lb.prod.example.org.")},
			Extra: []dns.RR{
				test.A("lb.prod.example.org. 5 IN A 192.0.2.1"),
				test.AAAA("lb.prod.example.org. 5 IN AAAA 2001:db8::1"),
			}}},
		{name: "headless SRV: one per endpoint", Case: test.Case{Qname: "db.prod.example.org.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("db.prod.example.org. 30 IN SRV 0 33 5432 db-0.db.prod.example.org."),
				test.SRV("db.prod.example.org. 30 IN SRV 0 33 5432 db-1.db.prod.example.org."),
				test.SRV("db.prod.example.org. 30 IN SRV 0 33 5432 db-2.db.prod.example.org."),
			},
			Extra: []dns.RR{
				test.A("db-0.db.prod.example.org. 5 IN A 10.244.0.1"),
				test.A("db-1.db.prod.example.org. 5 IN A 10.244.0.2"),
				test.A("db-2.db.prod.example.org. 5 IN A 10.244.0.3"),
			}}},
		{name: "headless A", Case: test.Case{Qname: "db.prod.example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{
				test.A("db.prod.example.org. 5 IN A 10.244.0.1"),
				test.A("db.prod.example.org. 5 IN A 10.244.0.2"),
				test.A("db.prod.example.org. 5 IN A 10.244.0.3"),
			}}},
		{name: "host name: CNAME, chased only in a running server", Case: test.Case{Qname: "named.prod.example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.CNAME("named.prod.example.org. 30 IN CNAME lb.cloud.example.net.")}}},
		{name: "host name SRV targets the host", Case: test.Case{Qname: "named.prod.example.org.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("named.prod.example.org. 30 IN SRV 0 100 443 lb.cloud.example.net.")}}},
		{name: "no port: no SRV, NODATA", Case: test.Case{Qname: "noport.prod.example.org.", Qtype: dns.TypeSRV, Ns: negative}},
		{name: "other type: NODATA", Case: test.Case{Qname: "lb.prod.example.org.", Qtype: dns.TypeTXT, Ns: negative}},
		{name: "the namespace: NODATA", Case: test.Case{Qname: "prod.example.org.", Qtype: dns.TypeA, Ns: negative}},
		{name: "no such name: NXDOMAIN", Case: test.Case{Qname: "nope.prod.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: negative}},
		{name: "fallthrough on NXDOMAIN", through: true, Case: test.Case{Qname: "nope.prod.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused}},
		{name: "no fallthrough on NODATA", through: true, Case: test.Case{Qname: "lb.prod.example.org.", Qtype: dns.TypeTXT, Ns: negative}},
		{name: "the backend's SERVFAIL", through: true, Case: test.Case{Qname: "broken.prod.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure, Ns: negative}},
		{name: "PTR: each service once, in the first zone", Case: test.Case{Qname: "1.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("1.2.0.192.in-addr.arpa. 5 IN PTR lb.prod.example.org.")}}},
		{name: "apex SOA", Case: test.Case{Qname: "example.org.", Qtype: dns.TypeSOA,
			Answer: []dns.RR{apexSOA}}},
		{name: "apex NS with glue", Case: test.Case{Qname: "example.org.", Qtype: dns.TypeNS,
			Answer: []dns.RR{test.NS("example.org. 5 IN NS ns1.dns.example.org.")},
			Extra: []dns.RR{
				test.A("ns1.dns.example.org. 5 IN A 127.0.0.53"),
				test.AAAA("ns1.dns.example.org. 5 IN AAAA ::53"),
			}}},
		{name: "apex other type: NODATA", Case: test.Case{Qname: "example.org.", Qtype: dns.TypeA, Ns: negative}},
		{name: "name server A", Case: test.Case{Qname: "ns1.dns.example.org.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("ns1.dns.example.org. 5 IN A 127.0.0.53")}}},
		{name: "name server AAAA", Case: test.Case{Qname: "ns1.dns.example.org.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("ns1.dns.example.org. 5 IN AAAA ::53")}}},
		{name: "name server other type: NODATA", Case: test.Case{Qname: "ns1.dns.example.org.", Qtype: dns.TypeTXT, Ns: negative}},
		{name: "apex subdomain: empty non-terminal", Case: test.Case{Qname: "dns.example.org.", Qtype: dns.TypeA, Ns: negative}},
		{name: "other name in the apex subdomain: NXDOMAIN", Case: test.Case{Qname: "ns2.dns.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: negative}},
		{name: "deeper in the apex subdomain: NXDOMAIN", Case: test.Case{Qname: "a.ns1.dns.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: negative}},
		{name: "outside the zones: the next plugin's", Case: test.Case{Qname: "example.net.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestExternal(tc.through)
			w := dnstest.NewRecorder(&test.ResponseWriter{})
			rcode, err := e.ServeDNS(context.Background(), w, tc.Msg())
			if err != nil {
				t.Fatal(err)
			}
			if w.Msg == nil {
				// Passed on: the next plugin's rcode, nothing written.
				if rcode != tc.Rcode {
					t.Fatalf("rcode %s, want %s", dns.RcodeToString[rcode], dns.RcodeToString[tc.Rcode])
				}
				return
			}
			if !w.Msg.Authoritative {
				t.Error("answer is not authoritative")
			}
			if err := test.SortAndCheck(w.Msg, tc.Case); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestServeDNSAllocations holds the query path to the allocations of the
// reply itself: no map per query to give each record once.
func TestServeDNSAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	e := newTestExternal(false)
	m := new(dns.Msg)
	m.SetQuestion("lb.prod.example.org.", dns.TypeSRV)
	w := &test.ResponseWriter{}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := e.ServeDNS(context.Background(), w, m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 18 {
		t.Errorf("%v allocations per SRV query, want at most 18", allocs)
	}
}

func TestSeenSet(t *testing.T) {
	var s seenSet[int]
	for round := range 2 {
		for i := range 20 { // past the fixed array, into the map
			if got := s.add(i); got != (round == 0) {
				t.Fatalf("round %d: add(%d) = %v", round, i, got)
			}
		}
	}
}

func TestInDomain(t *testing.T) {
	for _, tc := range []struct {
		name, domain string
		want         bool
	}{
		{name: "dns.example.org.", domain: "dns.example.org.", want: true},
		{name: "ns1.dns.example.org.", domain: "dns.example.org.", want: true},
		{name: "xdns.example.org.", domain: "dns.example.org.", want: false},
		{name: `a\.dns.example.org.`, domain: "dns.example.org.", want: false},
		{name: `a\\.dns.example.org.`, domain: "dns.example.org.", want: true},
		{name: "example.org.", domain: "dns.example.org.", want: false},
		{name: "example.org.", domain: ".", want: true},
		{name: ".", domain: ".", want: true},
	} {
		if got := inDomain(tc.name, tc.domain); got != tc.want {
			t.Errorf("inDomain(%q, %q) = %v, want %v", tc.name, tc.domain, got, tc.want)
		}
		if got := dns.IsSubDomain(tc.domain, tc.name); got != tc.want {
			t.Errorf("dns.IsSubDomain(%q, %q) = %v, this test's want %v", tc.domain, tc.name, got, tc.want)
		}
	}
}

// FuzzServeDNS sends any question to the plugin: it must answer or pass
// the question on, never panic.
func FuzzServeDNS(f *testing.F) {
	for _, seed := range []string{"lb.prod.example.org.", "ns1.dns.example.org.", `a\.dns.example.org.`, "1.2.0.192.in-addr.arpa.", "example.org."} {
		f.Add(seed, uint16(dns.TypeA))
		f.Add(seed, uint16(dns.TypeSRV))
	}
	e := newTestExternal(false)
	f.Fuzz(func(t *testing.T, qname string, qtype uint16) {
		if _, ok := dns.IsDomainName(qname); !ok {
			return
		}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(qname), qtype)
		w := dnstest.NewRecorder(&test.ResponseWriter{})
		if _, err := e.ServeDNS(context.Background(), w, m); err != nil {
			t.Fatal(err)
		}
	})
}
