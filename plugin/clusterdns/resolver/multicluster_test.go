package resolver

import (
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
)

// multicluster is the configuration of the multicluster tests: cluster.local
// from Services, clusterset.local from ServiceImports.
var multicluster = Config{
	Zones:             []string{"cluster.local.", "clusterset.local.", "in-addr.arpa.", "ip6.arpa."},
	MulticlusterZones: []string{"clusterset.local."},
}

// TestMulticluster checks the records of KEP-1645's DNS specification
// (schema 1.0.0), section by section, on indextest.Clusterset.
func TestMulticluster(t *testing.T) {
	nx := []dns.RR{soa("clusterset.local.", 5)}
	v6, _ := dns.ReverseAddr("fd00:100::10")
	run(t, multicluster, index.Options{Multicluster: true}, []test.Case{
		// 2.2: the schema version.
		{Qname: "dns-version.clusterset.local.", Qtype: dns.TypeTXT,
			Answer: []dns.RR{test.TXT(`dns-version.clusterset.local. 28800 IN TXT "1.0.0"`)}},
		{Qname: "dns-version.cluster.local.", Qtype: dns.TypeTXT,
			Answer: []dns.RR{test.TXT(`dns-version.cluster.local. 28800 IN TXT "1.1.0"`)}},

		// 2.3.1: ClusterSetIP A/AAAA, from the import, not the Service.
		{Qname: "web.prod.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.prod.svc.clusterset.local. 5 IN A 10.100.0.10")}},
		{Qname: "web.prod.svc.clusterset.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("web.prod.svc.clusterset.local. 5 IN AAAA fd00:100::10")}},
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
		// A Service that is not imported is not in the clusterset.
		{Qname: "api.prod.svc.clusterset.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nx},
		{Qname: "prod.svc.clusterset.local.", Qtype: dns.TypeA, Ns: nx},
		{Qname: "nowhere.svc.clusterset.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nx},

		// 2.3.2: SRV per named port.
		{Qname: "_http._tcp.web.prod.svc.clusterset.local.", Qtype: dns.TypeSRV,
			// Weight as stock's: counted before the second family's
			// duplicate record is dropped.
			Answer: []dns.RR{test.SRV("_http._tcp.web.prod.svc.clusterset.local. 5 IN SRV 0 50 80 web.prod.svc.clusterset.local.")},
			Extra: []dns.RR{test.A("web.prod.svc.clusterset.local. 5 IN A 10.100.0.10"),
				test.AAAA("web.prod.svc.clusterset.local. 5 IN AAAA fd00:100::10")}},
		{Qname: "_https._tcp.web.prod.svc.clusterset.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: nx},

		// 2.3.3: PTR of a ClusterSetIP, which has no cluster-local one.
		{Qname: "10.0.100.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("10.0.100.10.in-addr.arpa. 5 IN PTR web.prod.svc.clusterset.local.")}},
		{Qname: v6, Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR(v6 + " 5 IN PTR web.prod.svc.clusterset.local.")}},

		// 2.3.4 and 2.4.4: no name picks one cluster's backends.
		{Qname: "cluster-a.web.prod.svc.clusterset.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nx},
		{Qname: "cluster-a.db.prod.svc.clusterset.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nx},
		// Nor are cluster-local names of endpoints there.
		{Qname: "db-0.db.prod.svc.clusterset.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nx},
		{Qname: "db-0.cluster-a.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},

		// 2.4.1: headless, the ready endpoints of every cluster.
		{Qname: "db.prod.svc.clusterset.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("db.prod.svc.clusterset.local. 5 IN A 10.1.0.1"),
			test.A("db.prod.svc.clusterset.local. 5 IN A 10.2.0.1"),
			test.A("db.prod.svc.clusterset.local. 5 IN A 10.2.0.2"),
		}},
		{Qname: "db-0.cluster-a.db.prod.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("db-0.cluster-a.db.prod.svc.clusterset.local. 5 IN A 10.1.0.1")}},
		{Qname: "DB-0.Cluster-B.db.prod.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("DB-0.Cluster-B.db.prod.svc.clusterset.local. 5 IN A 10.2.0.1")}},
		{Qname: "10-2-0-2.cluster-b.db.prod.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("10-2-0-2.cluster-b.db.prod.svc.clusterset.local. 5 IN A 10.2.0.2")}},
		// Not ready: no name.
		{Qname: "db-1.cluster-a.db.prod.svc.clusterset.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nx},
		{Qname: "db-0.cluster-c.db.prod.svc.clusterset.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nx},
		// No ready endpoints: NXDOMAIN.
		{Qname: "gone.prod.svc.clusterset.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nx},

		// 2.4.2: SRV per ready endpoint and named port.
		{Qname: "_postgres._tcp.db.prod.svc.clusterset.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("_postgres._tcp.db.prod.svc.clusterset.local. 5 IN SRV 0 33 5432 10-2-0-2.cluster-b.db.prod.svc.clusterset.local."),
				test.SRV("_postgres._tcp.db.prod.svc.clusterset.local. 5 IN SRV 0 33 5432 db-0.cluster-a.db.prod.svc.clusterset.local."),
				test.SRV("_postgres._tcp.db.prod.svc.clusterset.local. 5 IN SRV 0 33 5432 db-0.cluster-b.db.prod.svc.clusterset.local."),
			},
			Extra: []dns.RR{
				test.A("10-2-0-2.cluster-b.db.prod.svc.clusterset.local. 5 IN A 10.2.0.2"),
				test.A("db-0.cluster-a.db.prod.svc.clusterset.local. 5 IN A 10.1.0.1"),
				test.A("db-0.cluster-b.db.prod.svc.clusterset.local. 5 IN A 10.2.0.1"),
			}},
		{Qname: "_tcp.db.prod.svc.clusterset.local.", Qtype: dns.TypeSRV, Ns: nx},

		// 2.4.3: PTR of an endpoint, unless it has a cluster-local one.
		{Qname: "1.0.2.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("1.0.2.10.in-addr.arpa. 5 IN PTR db-0.cluster-b.db.prod.svc.clusterset.local.")}},
		{Qname: "7.1.244.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("7.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-7.web.prod.svc.cluster.local.")}},
		{Qname: "2.0.1.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: reverseNeg},
	})
}

// TestMulticlusterIgnoreEmptyService: a ClusterSetIP import without ready
// endpoints does not exist under ignore empty_service, as in stock.
func TestMulticlusterIgnoreEmptyService(t *testing.T) {
	cfg := multicluster
	cfg.IgnoreEmptyService = true
	nx := []dns.RR{soa("clusterset.local.", 5)}
	run(t, cfg, index.Options{Multicluster: true}, []test.Case{
		{Qname: "idle.prod.svc.clusterset.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nx},
		{Qname: "web.prod.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.prod.svc.clusterset.local. 5 IN A 10.100.0.10")}},
	})
}

// TestMulticlusterTransfer: a multicluster zone transfers its
// ServiceImports (as stock does), with the answers to their names.
func TestMulticlusterTransfer(t *testing.T) {
	cfg := multicluster
	cfg.TTL = 5
	r := New(cfg)
	snap := indextest.Index(index.Options{Multicluster: true}).View()
	chunks, ok := transferChunks(r, snap, "clusterset.local.")
	if !ok {
		t.Fatal("clusterset.local. is not transferable")
	}
	var got []string
	for _, c := range chunks[2 : len(chunks)-1] {
		got = append(got, strings.Join(c, "\n"))
	}
	want := []string{
		"db.prod.svc.clusterset.local.\t5\tIN\tA\t10.1.0.1\n" +
			"db.prod.svc.clusterset.local.\t5\tIN\tA\t10.2.0.1\n" +
			"db.prod.svc.clusterset.local.\t5\tIN\tA\t10.2.0.2\n" +
			"db-0.cluster-a.db.prod.svc.clusterset.local.\t5\tIN\tA\t10.1.0.1\n" +
			"db-0.cluster-b.db.prod.svc.clusterset.local.\t5\tIN\tA\t10.2.0.1\n" +
			"10-2-0-2.cluster-b.db.prod.svc.clusterset.local.\t5\tIN\tA\t10.2.0.2\n" +
			"_postgres._tcp.db.prod.svc.clusterset.local.\t5\tIN\tSRV\t0 33 5432 db-0.cluster-a.db.prod.svc.clusterset.local.\n" +
			"_postgres._tcp.db.prod.svc.clusterset.local.\t5\tIN\tSRV\t0 33 5432 db-0.cluster-b.db.prod.svc.clusterset.local.\n" +
			"_postgres._tcp.db.prod.svc.clusterset.local.\t5\tIN\tSRV\t0 33 5432 10-2-0-2.cluster-b.db.prod.svc.clusterset.local.",
		"idle.prod.svc.clusterset.local.\t5\tIN\tA\t10.100.0.30\n" +
			"idle.prod.svc.clusterset.local.\t5\tIN\tSRV\t0 100 80 idle.prod.svc.clusterset.local.\n" +
			"_http._tcp.idle.prod.svc.clusterset.local.\t5\tIN\tSRV\t0 100 80 idle.prod.svc.clusterset.local.",
		"web.prod.svc.clusterset.local.\t5\tIN\tA\t10.100.0.10\n" +
			"web.prod.svc.clusterset.local.\t5\tIN\tAAAA\tfd00:100::10\n" +
			"web.prod.svc.clusterset.local.\t5\tIN\tSRV\t0 25 80 web.prod.svc.clusterset.local.\n" +
			"web.prod.svc.clusterset.local.\t5\tIN\tSRV\t0 25 8080 web.prod.svc.clusterset.local.\n" +
			"_http._tcp.web.prod.svc.clusterset.local.\t5\tIN\tSRV\t0 50 80 web.prod.svc.clusterset.local.",
	}
	if !slices.Equal(got, want) {
		t.Errorf("services transferred:\n%s\n\nwant\n%s", strings.Join(got, "\n\n"), strings.Join(want, "\n\n"))
	}
}

// TestMulticlusterZoneFirst: PTR records of the cluster's addresses point
// into the first zone that is not a multicluster one, even when a
// multicluster zone comes first (stock points them into that zone, where
// Services do not resolve).
func TestMulticlusterZoneFirst(t *testing.T) {
	cfg := Config{Zones: []string{"clusterset.local.", "cluster.local.", "in-addr.arpa."}, MulticlusterZones: []string{"clusterset.local."}}
	run(t, cfg, index.Options{Multicluster: true}, []test.Case{
		{Qname: "10.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("10.0.96.10.in-addr.arpa. 5 IN PTR web.prod.svc.cluster.local.")}},
		{Qname: "10.0.100.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("10.0.100.10.in-addr.arpa. 5 IN PTR web.prod.svc.clusterset.local.")}},
	})
}
