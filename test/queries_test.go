package test

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestQueriesOverUDPAndTCP asks the demo server every kind of name the
// Kubernetes DNS specification defines, over UDP and TCP, and compares the
// whole reply: rcode, answer, authority and additional sections.
func TestQueriesOverUDPAndTCP(t *testing.T) {
	t.Parallel()
	s, _ := startDemo(t, "")

	// The demo's TTL is 30 (`ttl 30`); SOA serials are zeroed before
	// comparing, as they stamp the time of the last change.
	const soa = "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 30"
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		ns     []string
		extra  []string
	}{
		{
			name:   "ClusterIP A",
			qname:  "web.prod.svc.cluster.local.",
			qtype:  dns.TypeA,
			answer: []string{"web.prod.svc.cluster.local. 30 IN A " + demoWebIP},
		},
		{
			name:   "answers keep the query's case",
			qname:  "WeB.PrOd.svc.cluster.local.",
			qtype:  dns.TypeA,
			answer: []string{"WeB.PrOd.svc.cluster.local. 30 IN A " + demoWebIP},
		},
		{
			name:   "ClusterIP in another namespace",
			qname:  "web.staging.svc.cluster.local.",
			qtype:  dns.TypeA,
			answer: []string{"web.staging.svc.cluster.local. 30 IN A " + demoStagingWebIP},
		},
		{
			name:   "dual stack A",
			qname:  "api.prod.svc.cluster.local.",
			qtype:  dns.TypeA,
			answer: []string{"api.prod.svc.cluster.local. 30 IN A " + demoAPIIPv4},
		},
		{
			name:   "dual stack AAAA",
			qname:  "api.prod.svc.cluster.local.",
			qtype:  dns.TypeAAAA,
			answer: []string{"api.prod.svc.cluster.local. 30 IN AAAA " + demoAPIIPv6},
		},
		{
			name:  "AAAA of an IPv4 service is NODATA",
			qname: "web.prod.svc.cluster.local.",
			qtype: dns.TypeAAAA,
			ns:    []string{soa},
		},
		{
			name:  "headless A lists the ready endpoints",
			qname: "db.prod.svc.cluster.local.",
			qtype: dns.TypeA,
			answer: []string{
				"db.prod.svc.cluster.local. 30 IN A " + demoDB["db-0"],
				"db.prod.svc.cluster.local. 30 IN A " + demoDB["db-1"],
				"db.prod.svc.cluster.local. 30 IN A " + demoDB["db-2"],
			},
		},
		{
			name:   "headless with publishNotReadyAddresses lists the not ready endpoint",
			qname:  "cache.prod.svc.cluster.local.",
			qtype:  dns.TypeA,
			answer: []string{"cache.prod.svc.cluster.local. 30 IN A " + demoCacheIP},
		},
		{
			name:   "endpoint by hostname",
			qname:  "db-1.db.prod.svc.cluster.local.",
			qtype:  dns.TypeA,
			answer: []string{"db-1.db.prod.svc.cluster.local. 30 IN A " + demoDB["db-1"]},
		},
		{
			name:  "SRV of a headless service, targets in additional",
			qname: "_postgres._tcp.db.prod.svc.cluster.local.",
			qtype: dns.TypeSRV,
			answer: []string{
				"_postgres._tcp.db.prod.svc.cluster.local. 30 IN SRV 0 33 5432 db-0.db.prod.svc.cluster.local.",
				"_postgres._tcp.db.prod.svc.cluster.local. 30 IN SRV 0 33 5432 db-1.db.prod.svc.cluster.local.",
				"_postgres._tcp.db.prod.svc.cluster.local. 30 IN SRV 0 33 5432 db-2.db.prod.svc.cluster.local.",
			},
			extra: []string{
				"db-0.db.prod.svc.cluster.local. 30 IN A " + demoDB["db-0"],
				"db-1.db.prod.svc.cluster.local. 30 IN A " + demoDB["db-1"],
				"db-2.db.prod.svc.cluster.local. 30 IN A " + demoDB["db-2"],
			},
		},
		{
			name:   "SRV of a ClusterIP service",
			qname:  "_https._tcp.web.prod.svc.cluster.local.",
			qtype:  dns.TypeSRV,
			answer: []string{"_https._tcp.web.prod.svc.cluster.local. 30 IN SRV 0 100 443 web.prod.svc.cluster.local."},
			extra:  []string{"web.prod.svc.cluster.local. 30 IN A " + demoWebIP},
		},
		{
			name:  "_tcp under a service with TCP ports is an empty non-terminal",
			qname: "_tcp.web.prod.svc.cluster.local.",
			qtype: dns.TypeSRV,
			ns:    []string{soa},
		},
		{
			name:   "ExternalName CNAME",
			qname:  "search.prod.svc.cluster.local.",
			qtype:  dns.TypeA,
			answer: []string{"search.prod.svc.cluster.local. 30 IN CNAME " + demoSearchTarget},
		},
		{
			name:   "pod A under pods insecure",
			qname:  "10-244-1-7.prod.pod.cluster.local.",
			qtype:  dns.TypeA,
			answer: []string{"10-244-1-7.prod.pod.cluster.local. 30 IN A 10.244.1.7"},
		},
		{
			name:  "pod A in a namespace that does not exist",
			qname: "10-244-1-7.nope.pod.cluster.local.",
			qtype: dns.TypeA,
			rcode: dns.RcodeNameError,
			ns:    []string{soa},
		},
		{
			name:   "PTR of a cluster IP",
			qname:  "10.100.96.10.in-addr.arpa.",
			qtype:  dns.TypePTR,
			answer: []string{"10.100.96.10.in-addr.arpa. 30 IN PTR web.prod.svc.cluster.local."},
		},
		{
			name:   "PTR of an IPv6 cluster IP",
			qname:  "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.",
			qtype:  dns.TypePTR,
			answer: []string{"0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 30 IN PTR api.prod.svc.cluster.local."},
		},
		{
			name:   "PTR of an endpoint with a hostname",
			qname:  "20.1.244.10.in-addr.arpa.",
			qtype:  dns.TypePTR,
			answer: []string{"20.1.244.10.in-addr.arpa. 30 IN PTR db-0.db.prod.svc.cluster.local."},
		},
		{
			name:   "dns-version TXT",
			qname:  "dns-version.cluster.local.",
			qtype:  dns.TypeTXT,
			answer: []string{`dns-version.cluster.local. 28800 IN TXT "1.1.0"`},
		},
		{
			name:   "apex SOA",
			qname:  "cluster.local.",
			qtype:  dns.TypeSOA,
			answer: []string{soa},
		},
		{
			name:   "apex NS",
			qname:  "cluster.local.",
			qtype:  dns.TypeNS,
			answer: []string{"cluster.local. 30 IN NS ns.dns.cluster.local."},
			// Bound to loopback only (localize binds 127.0.0.1), the
			// server's glue is its loopback address.
			extra: []string{"ns.dns.cluster.local. 30 IN A 127.0.0.1"},
		},
		{
			name:   "ns.dns A",
			qname:  "ns.dns.cluster.local.",
			qtype:  dns.TypeA,
			answer: []string{"ns.dns.cluster.local. 30 IN A 127.0.0.1"},
		},
		{
			name:  "namespace is NODATA",
			qname: "prod.svc.cluster.local.",
			qtype: dns.TypeA,
			ns:    []string{soa},
		},
		{
			name:  "NXDOMAIN with the SOA in authority",
			qname: "nope.prod.svc.cluster.local.",
			qtype: dns.TypeA,
			rcode: dns.RcodeNameError,
			ns:    []string{soa},
		},
		{
			name:  "service in a namespace that does not exist",
			qname: "web.nope.svc.cluster.local.",
			qtype: dns.TypeA,
			rcode: dns.RcodeNameError,
			ns:    []string{soa},
		},
		{
			name:  "SRV of a port the service does not have",
			qname: "_nope._tcp.web.prod.svc.cluster.local.",
			qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError,
			ns:    []string{soa},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, network := range []string{"udp", "tcp"} {
				t.Run(network, func(t *testing.T) {
					r := query(t, s.Addr, network, tc.qname, tc.qtype)
					if r.Rcode != tc.rcode {
						t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
					}
					if !r.Authoritative {
						t.Errorf("reply is not authoritative")
					}
					if r.Truncated {
						t.Errorf("reply is truncated")
					}
					if len(r.Question) != 1 || r.Question[0].Name != tc.qname {
						t.Errorf("question %v, want %s", r.Question, tc.qname)
					}
					compareSection(t, "answer", r.Answer, tc.answer)
					compareSection(t, "authority", r.Ns, tc.ns)
					compareSection(t, "additional", r.Extra, tc.extra)
					if t.Failed() {
						t.Logf("reply:\n%v", r)
					}
				})
			}
		})
	}
}

// compareSection compares the records of a section, in any order (the demo
// runs loadbalance), with want in zone file text. Names compare with their
// case; SOA serials are ignored; OPT records are left out.
func compareSection(t *testing.T, section string, got []dns.RR, want []string) {
	t.Helper()
	gotText := normalize(t, got)
	var wantRRs []dns.RR
	for _, w := range want {
		rr, err := dns.NewRR(w)
		if err != nil {
			t.Fatalf("bad expected record %q: %v", w, err)
		}
		wantRRs = append(wantRRs, rr)
	}
	wantText := normalize(t, wantRRs)
	if !slices.Equal(gotText, wantText) {
		t.Errorf("%s section:\n  got  %s\n  want %s", section, strings.Join(gotText, "\n       "), strings.Join(wantText, "\n       "))
	}
}

func normalize(t *testing.T, rrs []dns.RR) []string {
	t.Helper()
	var out []string
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dns.OPT:
			continue
		case *dns.SOA:
			c := *rr
			c.Serial = 0
			out = append(out, c.String())
		default:
			out = append(out, rr.String())
		}
	}
	slices.Sort(out)
	return out
}
