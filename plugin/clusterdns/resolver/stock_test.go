package resolver

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// The cases in this file are answers of stock CoreDNS v1.15.0's kubernetes
// plugin, record for record: owner names (in the case asked), SOA fields
// and TTLs included, which test.SortAndCheck does not all compare.

// stockCluster is indextest's cluster with the objects these cases need:
//
//	prod/idle      ClusterIP 10.96.0.40, port http/80/tcp, without endpoints
//	prod/self      ExternalName to itself
//	prod/dangling  ExternalName to nope.prod.svc.cluster.local, which does not exist
//	prod/v6z       headless IPv6, endpoints fd00:10:244:3:: and ::5, port http/80/tcp
func stockCluster() []index.Change {
	cs := indextest.Cluster()
	svc := func(s *object.Service) {
		s.Namespace = "prod"
		cs = append(cs, index.Change{Kind: object.KindService, Namespace: s.Namespace, Name: s.Name, Object: s})
	}
	http := []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}
	svc((&object.Service{Meta: object.Meta{Name: "idle"}, Type: object.ClusterIP, HasSelector: true,
		Ports: http}).SetClusterIPs([]netip.Addr{netip.MustParseAddr("10.96.0.40")}))
	svc(&object.Service{Meta: object.Meta{Name: "self"}, Type: object.ExternalName, Extra: &object.ServiceExtra{ExternalName: "self.prod.svc.cluster.local."}})
	svc(&object.Service{Meta: object.Meta{Name: "dangling"}, Type: object.ExternalName, Extra: &object.ServiceExtra{ExternalName: "nope.prod.svc.cluster.local."}})
	svc(&object.Service{Meta: object.Meta{Name: "v6z"}, Type: object.Headless, HasSelector: true, Ports: http})
	es := &object.EndpointSlice{Meta: object.Meta{Name: "v6z-1", Namespace: "prod"}, ServiceName: "v6z", Ports: http,
		Endpoints: []object.Endpoint{
			{Addresses: []netip.Addr{netip.MustParseAddr("fd00:10:244:3::")}, Ready: true},
			{Addresses: []netip.Addr{netip.MustParseAddr("::5")}, Ready: true},
		}}
	cs = append(cs, index.Change{Kind: object.KindEndpointSlice, Namespace: "prod", Name: es.Name, Object: es})
	return cs
}

// runExact answers every case from stockCluster and compares each section
// record by record, in presentation form.
func runExact(t *testing.T, cfg Config, opts index.Options, cases []test.Case) {
	t.Helper()
	runExactOn(t, cfg, opts, stockCluster(), cases)
}

// runExactOn is runExact on the cluster objects.
func runExactOn(t *testing.T, cfg Config, opts index.Options, objects []index.Change, cases []test.Case) {
	t.Helper()
	ix := index.New(opts)
	ix.Replace(objects)
	resolveCases(t, cfg, ix.View(), cases, func(t *testing.T, res Result, tc test.Case) {
		if res.Rcode != tc.Rcode {
			t.Errorf("rcode %s, want %s", dns.RcodeToString[res.Rcode], dns.RcodeToString[tc.Rcode])
		}
		for _, s := range []struct {
			name      string
			got, want []dns.RR
		}{{"answer", res.Answer, tc.Answer}, {"authority", res.Ns, tc.Ns}, {"additional", res.Extra, tc.Extra}} {
			if g, w := rrStrings(s.got), rrStrings(s.want); !slices.Equal(g, w) {
				t.Errorf("%s section:\n%s\nwant\n%s", s.name, strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
		}
	})
}

// rrStrings is rrs in presentation form, sorted, with SOA serials zeroed:
// a serial is the time of the index's last change.
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		if soa, ok := rr.(*dns.SOA); ok {
			c := *soa
			c.Serial = 0
			rr = &c
		}
		out[i] = rr.String()
	}
	slices.Sort(out)
	return out
}

func TestStockIgnoreEmptyService(t *testing.T) {
	// Stock skips a ClusterIP service without ready endpoints for every
	// name under it: its ports and protocols are gone with it.
	runExact(t, Config{IgnoreEmptyService: true}, index.Options{}, []test.Case{
		{Qname: "_http._tcp.idle.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "idle.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "idle.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "_tcp.idle.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		// Headless and ExternalName services are not affected.
		{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("db.prod.svc.cluster.local. 5 IN A 10.244.2.1"), test.A("db.prod.svc.cluster.local. 5 IN A 10.244.2.2")}},
		{Qname: "search.prod.svc.cluster.local.", Qtype: dns.TypeCNAME, Answer: []dns.RR{
			test.CNAME("search.prod.svc.cluster.local. 5 IN CNAME search.example.com.")}},
	})
	// Without the option the service answers.
	runExact(t, Config{}, index.Options{}, []test.Case{
		{Qname: "_http._tcp.idle.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_http._tcp.idle.prod.svc.cluster.local. 5 IN SRV 0 100 80 idle.prod.svc.cluster.local.")},
			Extra:  []dns.RR{test.A("idle.prod.svc.cluster.local. 5 IN A 10.96.0.40")}},
	})
}

func TestStockIPv6EndpointNames(t *testing.T) {
	runExact(t, Config{Pods: PodsInsecure}, index.Options{}, []test.Case{
		// An address ending in "::" is named with a trailing 0, as stock
		// names it; the name without it does not exist.
		{Qname: "fd00-10-244-3--0.v6z.prod.svc.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("fd00-10-244-3--0.v6z.prod.svc.cluster.local. 5 IN AAAA fd00:10:244:3::")}},
		{Qname: "fd00-10-244-3--.v6z.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		// A leading "::" is two dashes.
		{Qname: "--5.v6z.prod.svc.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("--5.v6z.prod.svc.cluster.local. 5 IN AAAA ::5")}},
		{Qname: "_http._tcp.v6z.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("_http._tcp.v6z.prod.svc.cluster.local. 5 IN SRV 0 50 80 fd00-10-244-3--0.v6z.prod.svc.cluster.local."),
				test.SRV("_http._tcp.v6z.prod.svc.cluster.local. 5 IN SRV 0 50 80 --5.v6z.prod.svc.cluster.local."),
			},
			Extra: []dns.RR{
				test.AAAA("fd00-10-244-3--0.v6z.prod.svc.cluster.local. 5 IN AAAA fd00:10:244:3::"),
				test.AAAA("--5.v6z.prod.svc.cluster.local. 5 IN AAAA ::5"),
			}},
		{Qname: "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR fd00-10-244-3--0.v6z.prod.svc.cluster.local.")}},
		// Pod names are parsed as addresses, so both spellings work.
		{Qname: "fd00-10-244-3--0.prod.pod.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("fd00-10-244-3--0.prod.pod.cluster.local. 5 IN AAAA fd00:10:244:3::")}},
		{Qname: "fd00-10-244-3--.prod.pod.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("fd00-10-244-3--.prod.pod.cluster.local. 5 IN AAAA fd00:10:244:3::")}},
		{Qname: "--1.prod.pod.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("--1.prod.pod.cluster.local. 5 IN AAAA ::1")}},
		// An IPv4-mapped address is an IPv4 address to stock (net.IP.To4).
		{Qname: "--ffff-a00-1.prod.pod.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("--ffff-a00-1.prod.pod.cluster.local. 5 IN A 10.0.0.1")}},
		{Qname: "--ffff-a00-1.prod.pod.cluster.local.", Qtype: dns.TypeAAAA, Ns: nxdomain},
		// Three dashes without "--" are IPv4 only.
		{Qname: "a-b-c-d.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
	})
	// Verified: the mapped form is not the pod's address as the API has it.
	runExact(t, Config{Pods: PodsVerified}, index.Options{Pods: true}, []test.Case{
		{Qname: "--ffff-a0a-0-107.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
	})
}

func TestStockKeepsQueryCase(t *testing.T) {
	upper := []dns.RR{soa("ClUsTeR.LoCaL.", 5)}
	runExact(t, Config{}, index.Options{}, []test.Case{
		{Qname: "ClUsTeR.LoCaL.", Qtype: dns.TypeSOA, Answer: upper},
		{Qname: "nope.prod.svc.ClUsTeR.LoCaL.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: upper},
		{Qname: "web.prod.svc.ClUsTeR.LoCaL.", Qtype: dns.TypeAAAA, Ns: upper},
		// SRV targets: the zone as asked, the rest as the cluster has it.
		{Qname: "_HTTP._tcp.Web.prod.SVC.ClUsTeR.LoCaL.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_HTTP._tcp.Web.prod.SVC.ClUsTeR.LoCaL. 5 IN SRV 0 100 80 web.prod.svc.ClUsTeR.LoCaL.")},
			Extra:  []dns.RR{test.A("web.prod.svc.ClUsTeR.LoCaL. 5 IN A 10.96.0.10")}},
		{Qname: "DB.prod.svc.ClUsTeR.LoCaL.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("DB.prod.svc.ClUsTeR.LoCaL. 5 IN SRV 0 50 5432 db-0.db.prod.svc.ClUsTeR.LoCaL."),
				test.SRV("DB.prod.svc.ClUsTeR.LoCaL. 5 IN SRV 0 50 5432 db-1.db.prod.svc.ClUsTeR.LoCaL."),
			},
			Extra: []dns.RR{
				test.A("db-0.db.prod.svc.ClUsTeR.LoCaL. 5 IN A 10.244.2.1"),
				test.A("db-1.db.prod.svc.ClUsTeR.LoCaL. 5 IN A 10.244.2.2"),
			}},
		{Qname: "ClUsTeR.LoCaL.", Qtype: dns.TypeNS,
			Answer: []dns.RR{test.NS("ClUsTeR.LoCaL. 5 IN NS ns.dns.ClUsTeR.LoCaL.")}},
		{Qname: "DNS-Version.ClUsTeR.LoCaL.", Qtype: dns.TypeTXT,
			Answer: []dns.RR{test.TXT(`DNS-Version.ClUsTeR.LoCaL. 28800 IN TXT "1.1.0"`)}},
		{Qname: "Search.prod.svc.ClUsTeR.LoCaL.", Qtype: dns.TypeCNAME,
			Answer: []dns.RR{test.CNAME("Search.prod.svc.ClUsTeR.LoCaL. 5 IN CNAME search.example.com.")}},
		{Qname: "10.0.96.10.In-Addr.Arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("10.0.96.10.In-Addr.Arpa. 5 IN PTR web.prod.svc.cluster.local.")}},
		{Qname: "9.9.9.9.In-Addr.Arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError,
			Ns: []dns.RR{test.SOA("In-Addr.Arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.In-Addr.Arpa. 0 7200 1800 86400 5")}},
	})
	// The SOA's own TTL is capped at 300 s; its minimum is the ttl option.
	runExact(t, Config{TTL: 600}, index.Options{}, []test.Case{
		{Qname: "cluster.local.", Qtype: dns.TypeSOA, Answer: []dns.RR{soa("cluster.local.", 600)}},
	})
}

func TestStockExternalName(t *testing.T) {
	runExact(t, Config{}, index.Options{}, []test.Case{
		// A name pointing at itself, or services pointing at each other:
		// stock drops a CNAME that loops, leaving NODATA.
		{Qname: "self.prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "loop-a.prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "self.prod.svc.cluster.local.", Qtype: dns.TypeCNAME,
			Answer: []dns.RR{test.CNAME("self.prod.svc.cluster.local. 5 IN CNAME self.prod.svc.cluster.local.")}},
		// A target in the zone that does not exist, or has no records of
		// the type: NODATA for the name asked, which exists. Never
		// NXDOMAIN (fallthrough would pass an existing name on).
		{Qname: "dangling.prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "dangling.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Ns: nxdomain},
		{Qname: "dangling.prod.svc.cluster.local.", Qtype: dns.TypeCNAME,
			Answer: []dns.RR{test.CNAME("dangling.prod.svc.cluster.local. 5 IN CNAME nope.prod.svc.cluster.local.")}},
		{Qname: "alias.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Ns: nxdomain},
		// A target that answers keeps the chain.
		{Qname: "Alias.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("Alias.prod.svc.cluster.local. 5 IN CNAME web.prod.svc.cluster.local."),
			test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10"),
		}},
	})
}

func TestStockChainLength(t *testing.T) {
	// Stock follows at most 11 CNAMEs in the zone (maxCnameChainLength
	// records before the last one); a longer chain is NODATA.
	chain := func(n int) []index.Change {
		cs := indextest.Cluster()
		for i := range n {
			target := fmt.Sprintf("c%d.prod.svc.cluster.local.", i+1)
			if i == n-1 {
				target = "web.prod.svc.cluster.local."
			}
			name := fmt.Sprintf("c%d", i)
			cs = append(cs, index.Change{Kind: object.KindService, Namespace: "prod", Name: name,
				Object: &object.Service{Meta: object.Meta{Name: name, Namespace: "prod"}, Type: object.ExternalName, Extra: &object.ServiceExtra{ExternalName: target}}})
		}
		return cs
	}
	r := New(Config{Zones: zones, TTL: 5})
	for _, tc := range []struct {
		cnames int
		want   int // records in the answer
	}{{cnames: 11, want: 12}, {cnames: 12, want: 0}} {
		ix := index.New(index.Options{})
		ix.Replace(chain(tc.cnames))
		res, _ := r.Resolve(ix.View(), index.Client{}, "c0.prod.svc.cluster.local.", dns.TypeA)
		if len(res.Answer) != tc.want || res.Rcode != dns.RcodeSuccess {
			t.Errorf("a chain of %d CNAMEs: %s with %d records, want NOERROR with %d", tc.cnames, dns.RcodeToString[res.Rcode], len(res.Answer), tc.want)
		}
	}
}

// escapedName is a 255-octet name under prod.svc.cluster.local. whose
// first labels are written with \DDD escapes: 935 characters of text.
func escapedName() string {
	label := strings.Repeat(`\200`, 63)
	return label + "." + label + "." + label + "." + strings.Repeat(`\200`, 38) + ".prod.svc.cluster.local."
}

func TestStockEscapedNames(t *testing.T) {
	long := escapedName()
	wire := make([]byte, 512)
	if n, err := dns.PackDomainName(long, wire, 0, nil, false); n != 255 || err != nil {
		t.Fatalf("test name is %d octets (%v), want 255", n, err)
	}
	runExact(t, Config{}, index.Options{}, []test.Case{
		{Qname: long, Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: long, Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: nxdomain},
		// An escaped dot is part of a label, not a separator.
		{Qname: `web\.prod.svc.cluster.local.`, Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: `x\.web.prod.svc.cluster.local.`, Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
	})
	r := New(Config{Zones: []string{"cluster.local."}, TTL: 5})
	if z := r.Zone(long); z != "cluster.local." {
		t.Errorf("Zone(255-octet escaped name) = %q, want cluster.local.", z)
	}
	// cluster.local is not the zone of `a\.cluster.local.`: its labels are
	// "a.cluster" and "local".
	snap := indextest.Index(index.Options{}).View()
	for _, name := range []string{`a\.cluster.local.`, `a\\\.cluster.local.`} {
		if _, ok := r.Resolve(snap, index.Client{}, name, dns.TypeA); ok {
			t.Errorf("%s answered as a name in cluster.local.", name)
		}
		if z := r.Zone(name); z != "" {
			t.Errorf("Zone(%s) = %q, want none", name, z)
		}
	}
	// An escaped backslash before a real dot leaves the dot a separator.
	if z := r.Zone(`a\\.cluster.local.`); z != "cluster.local." {
		t.Errorf(`Zone(a\\.cluster.local.) = %q, want cluster.local.`, z)
	}
}

// TestStockSRVWeights: stock weighs SRV records before it drops the
// duplicates a second IP family makes (a dual-stack ClusterIP service's
// lone record weighs 50), and never below 1.
func TestStockSRVWeights(t *testing.T) {
	runExact(t, Config{}, index.Options{}, []test.Case{
		{Qname: "api.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("api.prod.svc.cluster.local. 5 IN SRV 0 50 9090 api.prod.svc.cluster.local.")},
			Extra: []dns.RR{test.A("api.prod.svc.cluster.local. 5 IN A 10.96.0.20"),
				test.AAAA("api.prod.svc.cluster.local. 5 IN AAAA fd00:10:96::20")}},
		{Qname: "_grpc._tcp.api.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_grpc._tcp.api.prod.svc.cluster.local. 5 IN SRV 0 50 9090 api.prod.svc.cluster.local.")},
			Extra: []dns.RR{test.A("api.prod.svc.cluster.local. 5 IN A 10.96.0.20"),
				test.AAAA("api.prod.svc.cluster.local. 5 IN AAAA fd00:10:96::20")}},
	})
	// 101 endpoints: 100/101 rounds down to 0, which stock raises to 1.
	big := &object.EndpointSlice{Meta: object.Meta{Name: "big-1", Namespace: "prod"}, ServiceName: "big",
		Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}}
	for i := range 101 {
		big.Endpoints = append(big.Endpoints, object.Endpoint{Addresses: []netip.Addr{netip.AddrFrom4([4]byte{10, 9, byte(i / 256), byte(i)})}, Ready: true})
	}
	ix := index.New(index.Options{})
	ix.Replace(append(stockCluster(),
		index.Change{Kind: object.KindService, Namespace: "prod", Name: "big", Object: &object.Service{Meta: object.Meta{Name: "big", Namespace: "prod"}, Type: object.Headless, Ports: big.Ports}},
		index.Change{Kind: object.KindEndpointSlice, Namespace: "prod", Name: big.Name, Object: big}))
	r := New(Config{Zones: zones, TTL: 5})
	for _, name := range []string{"big.prod.svc.cluster.local.", "_http._tcp.big.prod.svc.cluster.local."} {
		res, _ := r.Resolve(ix.View(), index.Client{}, name, dns.TypeSRV)
		if len(res.Answer) != 101 {
			t.Fatalf("%s: %d records, want 101", name, len(res.Answer))
		}
		if w := res.Answer[0].(*dns.SRV).Weight; w != 1 {
			t.Errorf("%s: weight %d, want 1", name, w)
		}
	}
}

// TestStockSRVAtEndpointAndPodNames: stock answers SRV at an endpoint's
// name with a record per port pointing at the name, and at a pod's name
// with one of port 0, with the addresses in the additional section.
func TestStockSRVAtEndpointAndPodNames(t *testing.T) {
	runExact(t, Config{Pods: PodsInsecure}, index.Options{}, []test.Case{
		{Qname: "db-0.db.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("db-0.db.prod.svc.cluster.local. 5 IN SRV 0 100 5432 db-0.db.prod.svc.cluster.local.")},
			Extra:  []dns.RR{test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.2.1")}},
		// The query's case in the owner, the zone as asked in the target.
		{Qname: "DB-0.db.prod.svc.Cluster.Local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("DB-0.db.prod.svc.Cluster.Local. 5 IN SRV 0 100 5432 db-0.db.prod.svc.Cluster.Local.")},
			Extra:  []dns.RR{test.A("db-0.db.prod.svc.Cluster.Local. 5 IN A 10.244.2.1")}},
		// A dual-stack endpoint: one record, weighed as two.
		{Qname: "db-x.v6.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("db-x.v6.prod.svc.cluster.local. 5 IN SRV 0 50 80 db-x.v6.prod.svc.cluster.local.")},
			Extra: []dns.RR{test.A("db-x.v6.prod.svc.cluster.local. 5 IN A 10.244.6.6"),
				test.AAAA("db-x.v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::6")}},
		// An endpoint of a ClusterIP service, by address: the slice's port.
		{Qname: "10-244-1-7.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("10-244-1-7.web.prod.svc.cluster.local. 5 IN SRV 0 100 8080 10-244-1-7.web.prod.svc.cluster.local.")},
			Extra:  []dns.RR{test.A("10-244-1-7.web.prod.svc.cluster.local. 5 IN A 10.244.1.7")}},
		{Qname: "10-244-1-7.prod.pod.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("10-244-1-7.prod.pod.cluster.local. 5 IN SRV 0 100 0 10-244-1-7.prod.pod.cluster.local.")},
			Extra:  []dns.RR{test.A("10-244-1-7.prod.pod.cluster.local. 5 IN A 10.244.1.7")}},
		{Qname: "fd00-244--5.prod.pod.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("fd00-244--5.prod.pod.cluster.local. 5 IN SRV 0 100 0 fd00-244--5.prod.pod.cluster.local.")},
			Extra:  []dns.RR{test.AAAA("fd00-244--5.prod.pod.cluster.local. 5 IN AAAA fd00:244::5")}},
	})
}
