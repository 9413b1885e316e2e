package resolver

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	"k8s.io/apimachinery/pkg/labels"
)

var zones = []string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."}

// soa is the SOA of zone, spelled as the question spelled it, with stock's
// TTLs: the header's is the ttl option capped at 300, the minimum is the
// ttl option.
func soa(zone string, ttl uint32) dns.RR {
	hdr := min(ttl, 300)
	return test.SOA(fmt.Sprintf("%s %d IN SOA ns.dns.%s hostmaster.%s 0 7200 1800 86400 %d", zone, hdr, zone, zone, ttl))
}

// nxdomain is the authority section of every negative answer in
// cluster.local. with the default TTL.
var nxdomain = []dns.RR{soa("cluster.local.", 5)}

// reverseNeg is the authority section of a negative answer (NXDOMAIN or
// NODATA) in in-addr.arpa.: the zone's name, and the name server of the
// first zone.
var reverseNeg = []dns.RR{test.SOA("in-addr.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.in-addr.arpa. 0 7200 1800 86400 5")}

// run answers every case from a resolver and index built from cfg and opts.
func run(t *testing.T, cfg Config, opts index.Options, cases []test.Case) {
	t.Helper()
	resolveCases(t, cfg, indextest.Index(opts).View(), cases, sortAndCheck)
}

// sortAndCheck compares a result with its case as CoreDNS's plugin tests
// do (test.SortAndCheck): rcode, and each section's records in any order.
func sortAndCheck(t *testing.T, res Result, tc test.Case) {
	m := new(dns.Msg)
	m.Rcode, m.Answer, m.Ns, m.Extra = res.Rcode, res.Answer, res.Ns, res.Extra
	if err := test.SortAndCheck(m, tc); err != nil {
		t.Errorf("%v\n%v", err, m)
	}
}

// resolveCases resolves each case's question from view with a resolver of
// cfg (the test zones and TTL 5 unless set) and hands the result to check.
func resolveCases(t *testing.T, cfg Config, view *index.View, cases []test.Case, check func(*testing.T, Result, test.Case)) {
	t.Helper()
	if cfg.Zones == nil {
		cfg.Zones = zones
	}
	if cfg.TTL == 0 {
		cfg.TTL = 5
	}
	r := New(cfg)
	for _, tc := range cases {
		t.Run(dns.TypeToString[tc.Qtype]+" "+tc.Qname, func(t *testing.T) {
			res, ok := r.Resolve(view, index.Client{}, tc.Qname, tc.Qtype)
			if !ok {
				t.Fatalf("%s is outside the zones", tc.Qname)
			}
			// Explain answers with the same code: the same answer, and a
			// reason for it. (Before check, which sorts the sections.)
			var tr Trace
			explained, _ := r.Explain(view, index.Client{}, tc.Qname, tc.Qtype, &tr)
			if !reflect.DeepEqual(explained, res) {
				t.Errorf("Explain answers %v, Resolve %v", explained, res)
			}
			if len(tr.Steps) == 0 || tr.Steps[len(tr.Steps)-1].Rule == RuleNone {
				t.Errorf("Explain recorded no rule: %+v", tr.Steps)
			}
			check(t, res, tc)
		})
	}
}

func TestServices(t *testing.T) {
	run(t, Config{Pods: PodsInsecure}, index.Options{}, []test.Case{
		// ClusterIP.
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
		{Qname: "WeB.PrOd.SvC.ClUsTeR.LoCaL.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("WeB.PrOd.SvC.ClUsTeR.LoCaL. 5 IN A 10.96.0.10")}},
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Ns: nxdomain},
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeTXT, Ns: nxdomain},
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeANY,
			Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("web.prod.svc.cluster.local. 5 IN SRV 0 25 443 web.prod.svc.cluster.local."),
				test.SRV("web.prod.svc.cluster.local. 5 IN SRV 0 25 53 web.prod.svc.cluster.local."),
				test.SRV("web.prod.svc.cluster.local. 5 IN SRV 0 25 80 web.prod.svc.cluster.local."),
				test.SRV("web.prod.svc.cluster.local. 5 IN SRV 0 25 8080 web.prod.svc.cluster.local."),
			},
			Extra: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
		{Qname: "_http._tcp.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_http._tcp.web.prod.svc.cluster.local. 5 IN SRV 0 100 80 web.prod.svc.cluster.local.")},
			Extra:  []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
		{Qname: "_dns._udp.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_dns._udp.web.prod.svc.cluster.local. 5 IN SRV 0 100 53 web.prod.svc.cluster.local.")},
			Extra:  []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
		{Qname: "_http._udp.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "_nope._tcp.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "_http._tcp.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "http.tcp.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: nxdomain},
		// _tcp.<svc> is an empty non-terminal, _sctp.<svc> does not exist.
		{Qname: "_tcp.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "_sctp.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		// Endpoints of a ClusterIP service, by dashed IP; not-ready ones are hidden.
		{Qname: "10-244-1-7.web.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("10-244-1-7.web.prod.svc.cluster.local. 5 IN A 10.244.1.7")}},
		{Qname: "10-244-1-9.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "web-a.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "quiet.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("quiet.prod.svc.cluster.local. 5 IN A 10.96.0.30")}},

		// Headless.
		{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{
				test.A("db.prod.svc.cluster.local. 5 IN A 10.244.2.1"),
				test.A("db.prod.svc.cluster.local. 5 IN A 10.244.2.2"),
			}},
		{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Ns: nxdomain},
		{Qname: "db-0.db.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.2.1")}},
		{Qname: "DB-1.db.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("DB-1.db.prod.svc.cluster.local. 5 IN A 10.244.2.2")}},
		{Qname: "db-0.db.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Ns: nxdomain},
		{Qname: "db-2.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "10-244-2-1.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "_postgres._tcp.db.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("_postgres._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local."),
				test.SRV("_postgres._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-1.db.prod.svc.cluster.local."),
			},
			Extra: []dns.RR{
				test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.2.1"),
				test.A("db-1.db.prod.svc.cluster.local. 5 IN A 10.244.2.2"),
			}},
		{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local."),
				test.SRV("db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-1.db.prod.svc.cluster.local."),
			},
			Extra: []dns.RR{
				test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.2.1"),
				test.A("db-1.db.prod.svc.cluster.local. 5 IN A 10.244.2.2"),
			}},
		{Qname: "nohosts.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "cache.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("cache.prod.svc.cluster.local. 5 IN A 10.244.3.1")}},

		// IPv6 and dual-stack.
		{Qname: "api.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("api.prod.svc.cluster.local. 5 IN A 10.96.0.20")}},
		{Qname: "api.prod.svc.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("api.prod.svc.cluster.local. 5 IN AAAA fd00:10:96::20")}},
		{Qname: "fd00-244--41.api.prod.svc.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("fd00-244--41.api.prod.svc.cluster.local. 5 IN AAAA fd00:244::41")}},
		{Qname: "v6.prod.svc.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{
				test.AAAA("v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::5"),
				test.AAAA("v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::6"),
			}},
		{Qname: "v6.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("v6.prod.svc.cluster.local. 5 IN A 10.244.6.6")}},
		{Qname: "fd00-244--5.v6.prod.svc.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("fd00-244--5.v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::5")}},
		{Qname: "db-x.v6.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("db-x.v6.prod.svc.cluster.local. 5 IN A 10.244.6.6")}},
		{Qname: "db-x.v6.prod.svc.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("db-x.v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::6")}},
		// A dual-stack endpoint is one SRV target with both addresses,
		// weighed as two records (stock's weights, counted before it drops
		// the duplicate).
		{Qname: "_http._tcp.v6.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("_http._tcp.v6.prod.svc.cluster.local. 5 IN SRV 0 33 80 db-x.v6.prod.svc.cluster.local."),
				test.SRV("_http._tcp.v6.prod.svc.cluster.local. 5 IN SRV 0 33 80 fd00-244--5.v6.prod.svc.cluster.local."),
			},
			Extra: []dns.RR{
				test.A("db-x.v6.prod.svc.cluster.local. 5 IN A 10.244.6.6"),
				test.AAAA("db-x.v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::6"),
				test.AAAA("fd00-244--5.v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::5"),
			}},

		// ExternalName.
		{Qname: "search.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.CNAME("search.prod.svc.cluster.local. 5 IN CNAME search.example.com.")}},
		{Qname: "search.prod.svc.cluster.local.", Qtype: dns.TypeCNAME,
			Answer: []dns.RR{test.CNAME("search.prod.svc.cluster.local. 5 IN CNAME search.example.com.")}},
		{Qname: "alias.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{
				test.CNAME("alias.prod.svc.cluster.local. 5 IN CNAME web.prod.svc.cluster.local."),
				test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10"),
			}},
		{Qname: "_http._tcp.search.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: nxdomain},

		// The tree above services: empty non-terminals are NODATA, the rest NXDOMAIN.
		{Qname: "cluster.local.", Qtype: dns.TypeSOA,
			Answer: []dns.RR{soa("cluster.local.", 5)}},
		{Qname: "cluster.local.", Qtype: dns.TypeNS,
			Answer: []dns.RR{test.NS("cluster.local. 5 IN NS ns.dns.cluster.local.")}},
		{Qname: "cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "dns-version.cluster.local.", Qtype: dns.TypeTXT,
			Answer: []dns.RR{test.TXT(`dns-version.cluster.local. 28800 IN TXT "1.1.0"`)}},
		{Qname: "dns-version.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "x.dns-version.cluster.local.", Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "dns.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "svc.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "empty.svc.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "nope.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "nope.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "web.nope.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "foo.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "a.b.c.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		// Search-list expansions of an external name do not exist.
		{Qname: "www.example.com.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "www.example.com.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "www.example.com.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		// Wildcards are not served (removed from the stock plugin in 1.9).
		{Qname: "*.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "*.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "web.*.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "_*._*.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: nxdomain},

		// Pods, insecure.
		{Qname: "10-244-1-7.prod.pod.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("10-244-1-7.prod.pod.cluster.local. 5 IN A 10.244.1.7")}},
		{Qname: "10-0-0-1.prod.pod.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("10-0-0-1.prod.pod.cluster.local. 5 IN A 10.0.0.1")}},
		{Qname: "10-244-1-7.prod.pod.cluster.local.", Qtype: dns.TypeAAAA, Ns: nxdomain},
		{Qname: "fd00-244--5.prod.pod.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("fd00-244--5.prod.pod.cluster.local. 5 IN AAAA fd00:244::5")}},
		{Qname: "10-244-1-7.nope.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "1-2-3.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "300-1-1-1.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "01-1-1-1.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "web-a.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "pod.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "prod.pod.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "x.10-244-1-7.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},

		// Reverse.
		{Qname: "10.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("10.0.96.10.in-addr.arpa. 5 IN PTR web.prod.svc.cluster.local.")}},
		{Qname: "7.1.244.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("7.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-7.web.prod.svc.cluster.local.")}},
		{Qname: "1.2.244.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("1.2.244.10.in-addr.arpa. 5 IN PTR db-0.db.prod.svc.cluster.local.")}},
		{Qname: "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR api.prod.svc.cluster.local.")}},
		{Qname: "10.0.96.10.in-addr.arpa.", Qtype: dns.TypeA, Ns: reverseNeg},
		{Qname: "9.9.9.9.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: reverseNeg},
		{Qname: "1.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: reverseNeg},
		{Qname: "300.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: reverseNeg},
	})
}

// A service's clusterdns.io/ttl overrides the zone's ttl for its own
// records, not for negative answers (the SOA minimum) nor for the records of
// a CNAME target in another service.
func TestServiceTTL(t *testing.T) {
	ix := index.New(index.Options{})
	meta := func(name string) object.Meta { return object.Meta{Name: name, Namespace: "ns"} }
	ix.Replace([]index.Change{
		{Kind: object.KindService, Namespace: "ns", Name: "long", Object: (&object.Service{Meta: meta("long"), Type: object.ClusterIP,
			Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}, TTL: 300, HasTTL: true}).SetClusterIPs(indextest.Addrs("10.0.0.1"))},
		{Kind: object.KindService, Namespace: "ns", Name: "zero", Object: &object.Service{Meta: meta("zero"), Type: object.Headless, TTL: 0, HasTTL: true}},
		{Kind: object.KindEndpointSlice, Namespace: "ns", Name: "zero-1", Object: &object.EndpointSlice{Meta: meta("zero-1"), ServiceName: "zero",
			Endpoints: []object.Endpoint{{Addresses: indextest.Addrs("10.1.0.1"), Hostname: "a", Ready: true}}}},
		{Kind: object.KindService, Namespace: "ns", Name: "alias", Object: &object.Service{Meta: meta("alias"), Type: object.ExternalName,
			Extra: &object.ServiceExtra{ExternalName: "plain.ns.svc.cluster.local."}, TTL: 60, HasTTL: true}},
		{Kind: object.KindService, Namespace: "ns", Name: "plain", Object: (&object.Service{Meta: meta("plain"), Type: object.ClusterIP}).SetClusterIPs(indextest.Addrs("10.0.0.2"))},
	})
	resolveCases(t, Config{}, ix.View(), []test.Case{
		{Qname: "long.ns.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("long.ns.svc.cluster.local. 300 IN A 10.0.0.1")}},
		{Qname: "_http._tcp.long.ns.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_http._tcp.long.ns.svc.cluster.local. 300 IN SRV 0 100 80 long.ns.svc.cluster.local.")},
			Extra:  []dns.RR{test.A("long.ns.svc.cluster.local. 300 IN A 10.0.0.1")}},
		{Qname: "long.ns.svc.cluster.local.", Qtype: dns.TypeAAAA, Ns: nxdomain},
		{Qname: "a.zero.ns.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("a.zero.ns.svc.cluster.local. 0 IN A 10.1.0.1")}},
		{Qname: "alias.ns.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{
				test.CNAME("alias.ns.svc.cluster.local. 60 IN CNAME plain.ns.svc.cluster.local."),
				test.A("plain.ns.svc.cluster.local. 5 IN A 10.0.0.2"),
			}},
	}, sortAndCheck)
}

func TestPodModes(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		run(t, Config{Pods: PodsDisabled}, index.Options{}, []test.Case{
			{Qname: "10-244-1-7.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
			{Qname: "pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
			{Qname: "prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		})
	})
	t.Run("verified", func(t *testing.T) {
		run(t, Config{Pods: PodsVerified}, index.Options{Pods: true}, []test.Case{
			{Qname: "10-244-1-7.prod.pod.cluster.local.", Qtype: dns.TypeA,
				Answer: []dns.RR{test.A("10-244-1-7.prod.pod.cluster.local. 5 IN A 10.244.1.7")}},
			{Qname: "fd00-244--5.prod.pod.cluster.local.", Qtype: dns.TypeAAAA,
				Answer: []dns.RR{test.AAAA("fd00-244--5.prod.pod.cluster.local. 5 IN AAAA fd00:244::5")}},
			{Qname: "10-244-1-7.staging.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
			{Qname: "10-0-0-1.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
			{Qname: "prod.pod.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		})
	})
	// Services are served before the pods are listed (SyncedBeforePods):
	// a pod name is SERVFAIL until they are, never NXDOMAIN; the rest of
	// the zone answers.
	t.Run("verified, pods not listed yet", func(t *testing.T) {
		ix := index.New(index.Options{Pods: true})
		var notPods []index.Change
		for _, c := range indextest.Cluster() {
			if c.Kind != object.KindPod {
				notPods = append(notPods, c)
			}
		}
		ix.Apply(notPods...)
		ix.SyncedBeforePods()
		resolveCases(t, Config{Pods: PodsVerified}, ix.View(), []test.Case{
			{Qname: "10-244-1-7.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			{Qname: "10-244-1-7.nope.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
			{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA,
				Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
		}, sortAndCheck)
	})
}

func TestOptions(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cfg   Config
		opts  index.Options
		cases []test.Case
	}{
		{
			name: "ignore empty_service",
			cfg:  Config{IgnoreEmptyService: true},
			cases: []test.Case{
				{Qname: "quiet.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
				{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
			},
		},
		{
			name: "noendpoints",
			opts: index.Options{NoEndpoints: true},
			cases: []test.Case{
				{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
				{Qname: "db-0.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
				{Qname: "10-244-1-7.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
				{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
				{Qname: "7.1.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: reverseNeg},
			},
		},
		{
			name: "endpoint_pod_names",
			opts: index.Options{EndpointPodNames: true},
			cases: []test.Case{
				{Qname: "web-a.web.prod.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{test.A("web-a.web.prod.svc.cluster.local. 5 IN A 10.244.1.7")}},
				{Qname: "10-244-1-7.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
				{Qname: "db-0.db.prod.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.2.1")}},
				{Qname: "7.1.244.10.in-addr.arpa.", Qtype: dns.TypePTR,
					Answer: []dns.RR{test.PTR("7.1.244.10.in-addr.arpa. 5 IN PTR web-a.web.prod.svc.cluster.local.")}},
			},
		},
		{
			name: "ttl",
			cfg:  Config{TTL: 30},
			cases: []test.Case{
				{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 30 IN A 10.96.0.10")}},
				{Qname: "nope.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa("cluster.local.", 30)}},
			},
		},
		{
			name: "namespaces",
			opts: index.Options{Filter: index.Filter{Namespaces: map[string]struct{}{"prod": {}}}},
			cases: []test.Case{
				{Qname: "web.staging.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
				{Qname: "staging.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
				{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
				{Qname: "10.0.1.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: reverseNeg},
			},
		},
		{
			name: "namespace_labels",
			opts: index.Options{Filter: index.Filter{NamespaceLabels: labels.SelectorFromSet(labels.Set{"env": "staging"})}},
			cases: []test.Case{
				{Qname: "web.staging.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{test.A("web.staging.svc.cluster.local. 5 IN A 10.96.1.10")}},
				{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
				{Qname: "prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
			},
		},
		{
			name: "labels",
			opts: index.Options{Filter: index.Filter{Labels: labels.SelectorFromSet(labels.Set{"app": "web"})}},
			cases: []test.Case{
				{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
				{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
			},
		},
		{
			name: "several forward zones",
			cfg:  Config{Zones: []string{"cluster.local.", "example.org."}},
			cases: []test.Case{
				{Qname: "web.prod.svc.example.org.", Qtype: dns.TypeA,
					Answer: []dns.RR{test.A("web.prod.svc.example.org. 5 IN A 10.96.0.10")}},
				{Qname: "nope.prod.svc.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError,
					Ns: []dns.RR{test.SOA("example.org. 5 IN SOA ns.dns.example.org. hostmaster.example.org. 0 7200 1800 86400 5")}},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.cfg, tt.opts, tt.cases) })
	}
}

func TestOutsideZones(t *testing.T) {
	r := New(Config{Zones: zones, TTL: 5})
	snap := indextest.Index(index.Options{}).View()
	for _, name := range []string{"example.com.", "local.", "xcluster.local.", ".", "web.prod.svc.cluster.local"} {
		if _, ok := r.Resolve(snap, index.Client{}, name, dns.TypeA); ok {
			t.Errorf("%q answered, want it left to the next plugin", name)
		}
	}
}

func TestExternalNameChase(t *testing.T) {
	r := New(Config{Zones: zones, TTL: 5})
	snap := indextest.Index(index.Options{}).View()
	res, _ := r.Resolve(snap, index.Client{}, "search.prod.svc.cluster.local.", dns.TypeA)
	if res.Chase != "search.example.com." {
		t.Errorf("Chase = %q, want the external target", res.Chase)
	}
	res, _ = r.Resolve(snap, index.Client{}, "alias.prod.svc.cluster.local.", dns.TypeA)
	if res.Chase != "" {
		t.Errorf("Chase = %q for an in-cluster target, want it answered here", res.Chase)
	}
	// Services pointing at each other are NODATA, as in stock.
	res, _ = r.Resolve(snap, index.Client{}, "loop-a.prod.svc.cluster.local.", dns.TypeA)
	if len(res.Answer) != 0 || res.Rcode != dns.RcodeSuccess {
		t.Errorf("a CNAME loop gave %s with %d records, want NODATA", dns.RcodeToString[res.Rcode], len(res.Answer))
	}
}

func TestNSAddrs(t *testing.T) {
	// The server runs as endpoint 10.244.2.1 of prod/db (headless: no
	// cluster IP), so ns.dns falls back to its own address.
	r := New(Config{Zones: zones, TTL: 5, LocalAddrs: indextest.Addrs("10.244.2.1")})
	snap := indextest.Index(index.Options{}).View()
	res, _ := r.Resolve(snap, index.Client{}, "ns.dns.cluster.local.", dns.TypeA)
	if len(res.Answer) != 1 || res.Answer[0].(*dns.A).A.String() != "10.244.2.1" {
		t.Errorf("ns.dns = %v, want the local address", res.Answer)
	}
	// As endpoint 10.244.1.7 of prod/web it answers with web's cluster IP.
	r = New(Config{Zones: zones, TTL: 5, LocalAddrs: indextest.Addrs("10.244.1.7")})
	res, _ = r.Resolve(snap, index.Client{}, "cluster.local.", dns.TypeNS)
	if len(res.Extra) != 1 || res.Extra[0].(*dns.A).A.String() != "10.96.0.10" {
		t.Errorf("NS glue = %v, want the service's cluster IP", res.Extra)
	}
}
