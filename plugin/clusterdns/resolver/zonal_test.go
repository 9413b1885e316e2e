package resolver

import (
	"net/netip"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// zonalCluster is stock's zonal test cluster (plugin/kubernetes/zonal_test.go
// of CoreDNS v1.15.0), in namespace testns:
//
//	hdls   headless, port http/80/tcp, endpoints 172.0.0.1 in us-west-2a,
//	       172.0.0.2 and 172.0.0.3 in us-west-2b
//	clstr  ClusterIP 10.0.0.10, port http/80/tcp
//
// with what stock's cases leave out:
//
//	ext    ExternalName example.org
//	dotted headless, 172.0.1.1 in corp.example.com (zone values may hold
//	       dots), 172.0.1.2 without a zone, fd00::1:3 in corp.example.com
//	       (a second slice, IPv6)
//	empty  headless without endpoints
func zonalCluster() []index.Change {
	var cs []index.Change
	add := func(kind object.Kind, name string, obj any) {
		cs = append(cs, index.Change{Kind: kind, Namespace: "testns", Name: name, Object: obj})
	}
	http := []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}
	ep := func(ip, zone string) object.Endpoint {
		return object.Endpoint{Addresses: []netip.Addr{netip.MustParseAddr(ip)}, Zone: object.MakeZone(zone), Ready: true}
	}
	headless := func(name string) {
		add(object.KindService, name, &object.Service{Meta: object.Meta{Name: name, Namespace: "testns"}, Type: object.Headless, Ports: http})
	}
	slice := func(svc, name string, eps ...object.Endpoint) {
		add(object.KindEndpointSlice, name, &object.EndpointSlice{Meta: object.Meta{Name: name, Namespace: "testns"}, ServiceName: svc, Ports: http, Endpoints: eps})
	}
	headless("hdls")
	slice("hdls", "hdls-slice", ep("172.0.0.1", "us-west-2a"), ep("172.0.0.2", "us-west-2b"), ep("172.0.0.3", "us-west-2b"))
	add(object.KindService, "clstr", (&object.Service{Meta: object.Meta{Name: "clstr", Namespace: "testns"}, Type: object.ClusterIP,
		Ports: http}).SetClusterIPs([]netip.Addr{netip.MustParseAddr("10.0.0.10")}))
	add(object.KindService, "ext", &object.Service{Meta: object.Meta{Name: "ext", Namespace: "testns"}, Type: object.ExternalName, Extra: &object.ServiceExtra{ExternalName: "example.org."}})
	headless("dotted")
	// The converter lowers zones (object.FromEndpointSlice); here the
	// object is written as a source hands it over.
	slice("dotted", "dotted-1", ep("172.0.1.1", "corp.example.com"), ep("172.0.1.2", ""))
	slice("dotted", "dotted-2", ep("fd00::1:3", "corp.example.com"))
	headless("empty")
	return cs
}

// TestZonal holds zone-scoped names to stock's answers, record for record:
// stock's own cases (plugin/kubernetes/zonal_test.go), then the shapes
// around them.
func TestZonal(t *testing.T) {
	const hdls = "._zone.hdls.testns.svc.cluster.local."
	a := func(owner, ip string) dns.RR { return test.A(owner + " 5 IN A " + ip) }
	srv := func(owner, weight, target string) dns.RR {
		return test.SRV(owner + " 5 IN SRV 0 " + weight + " 80 " + target + ".hdls.testns.svc.cluster.local.")
	}
	glue := func(name, ip string) dns.RR { return a(name+".hdls.testns.svc.cluster.local.", ip) }
	cases := []test.Case{
		// Stock's cases.
		{Qname: "us-west-2a.pin" + hdls, Qtype: dns.TypeA, Answer: []dns.RR{a("us-west-2a.pin"+hdls, "172.0.0.1")}},
		{Qname: "us-west-2b.pin" + hdls, Qtype: dns.TypeA, Answer: []dns.RR{a("us-west-2b.pin"+hdls, "172.0.0.2"), a("us-west-2b.pin"+hdls, "172.0.0.3")}},
		{Qname: "us-west-2c.pin" + hdls, Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "us-west-2a.prefer" + hdls, Qtype: dns.TypeA, Answer: []dns.RR{a("us-west-2a.prefer"+hdls, "172.0.0.1")}},
		{Qname: "us-west-2c.prefer" + hdls, Qtype: dns.TypeA, Answer: []dns.RR{
			a("us-west-2c.prefer"+hdls, "172.0.0.1"), a("us-west-2c.prefer"+hdls, "172.0.0.2"), a("us-west-2c.prefer"+hdls, "172.0.0.3")}},
		{Qname: "us-west-2a.pin._zone.ghost.testns.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "us-west-2a.florp" + hdls, Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "us-west-2a.pin._zone.clstr.testns.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "us-west-2c.pin" + hdls, Qtype: dns.TypeTXT, Ns: nxdomain},
		{Qname: "us-west-2c.prefer" + hdls, Qtype: dns.TypeSRV,
			Answer: []dns.RR{srv("us-west-2c.prefer"+hdls, "33", "172-0-0-1"), srv("us-west-2c.prefer"+hdls, "33", "172-0-0-2"), srv("us-west-2c.prefer"+hdls, "33", "172-0-0-3")},
			Extra:  []dns.RR{glue("172-0-0-1", "172.0.0.1"), glue("172-0-0-2", "172.0.0.2"), glue("172-0-0-3", "172.0.0.3")}},
		{Qname: "us-west-2c.prefer" + hdls, Qtype: dns.TypeTXT, Ns: nxdomain},
		{Qname: "us-west-2b.pin" + hdls, Qtype: dns.TypeSRV,
			Answer: []dns.RR{srv("us-west-2b.pin"+hdls, "50", "172-0-0-2"), srv("us-west-2b.pin"+hdls, "50", "172-0-0-3")},
			Extra:  []dns.RR{glue("172-0-0-2", "172.0.0.2"), glue("172-0-0-3", "172.0.0.3")}},

		// Other types of a zone-scoped name are NODATA, as at a
		// headless service's name; ANY is one record set (RFC 8482), as there.
		{Qname: "us-west-2a.pin" + hdls, Qtype: dns.TypeAAAA, Ns: nxdomain},
		{Qname: "us-west-2a.pin" + hdls, Qtype: dns.TypeMX, Ns: nxdomain},
		{Qname: "us-west-2a.pin" + hdls, Qtype: dns.TypeCNAME, Ns: nxdomain},
		{Qname: "us-west-2a.pin" + hdls, Qtype: dns.TypePTR, Ns: nxdomain},
		{Qname: "us-west-2a.pin" + hdls, Qtype: dns.TypeSOA, Ns: nxdomain},
		{Qname: "us-west-2a.pin" + hdls, Qtype: dns.TypeANY, Answer: []dns.RR{a("us-west-2a.pin"+hdls, "172.0.0.1")}},
		// The query's case is kept; zones compare without it.
		{Qname: "US-West-2A.PIN._Zone.Hdls.testns.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{a("US-West-2A.PIN._Zone.Hdls.testns.svc.cluster.local.", "172.0.0.1")}},
		// A zone value with dots is every label left of the directive.
		{Qname: "corp.example.com.pin._zone.dotted.testns.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{a("corp.example.com.pin._zone.dotted.testns.svc.cluster.local.", "172.0.1.1")}},
		{Qname: "corp.example.com.pin._zone.dotted.testns.svc.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("corp.example.com.pin._zone.dotted.testns.svc.cluster.local. 5 IN AAAA fd00::1:3")}},
		{Qname: "example.com.pin._zone.dotted.testns.svc.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		// An endpoint without a zone is in none.
		{Qname: "example.com.prefer._zone.dotted.testns.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			a("example.com.prefer._zone.dotted.testns.svc.cluster.local.", "172.0.1.1"),
			a("example.com.prefer._zone.dotted.testns.svc.cluster.local.", "172.0.1.2")}},
		// An escaped dot in the zone is part of a label of it.
		{Qname: `us\.west-2a.pin._zone.hdls.testns.svc.cluster.local.`, Qtype: dns.TypeA, Ns: nxdomain},
		// A headless service without endpoints: the name exists.
		{Qname: "us-west-2a.pin._zone.empty.testns.svc.cluster.local.", Qtype: dns.TypeA, Ns: nxdomain},
		{Qname: "us-west-2a.prefer._zone.empty.testns.svc.cluster.local.", Qtype: dns.TypeSRV, Ns: nxdomain},
	}
	for _, name := range []string{
		"empty.testns.svc.cluster.local.", // the service name itself, as ever
		"us-west-2a.prefer._zone.ext.testns.svc.cluster.local.",
		`us-west-2a\.pin._zone.hdls.testns.svc.cluster.local.`, // an escaped dot: no directive
		"pin._zone.hdls.testns.svc.cluster.local.",
		"us-west-2a.pin.zone.hdls.testns.svc.cluster.local.",
		"us-west-2a.pin._zone.x.hdls.testns.svc.cluster.local.",
		"us-west-2a.pin._zone.hdls.nosuchns.svc.cluster.local.",
	} {
		cases = append(cases, test.Case{Qname: name, Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain})
	}
	runExactOn(t, Config{Zonal: true}, index.Options{Zonal: true}, zonalCluster(), cases)

	// Without the option the shape is too long, as it always was; so it is
	// when the resolver is zonal but the index keeps no zones (never
	// configured so), for pin: no endpoint is in any zone.
	runExactOn(t, Config{}, index.Options{Zonal: true}, zonalCluster(), []test.Case{
		{Qname: "us-west-2a.pin" + hdls, Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nxdomain},
		{Qname: "us-west-2c.prefer" + hdls, Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: nxdomain},
	})
	runExactOn(t, Config{Zonal: true}, index.Options{}, zonalCluster(), []test.Case{
		{Qname: "us-west-2a.pin" + hdls, Qtype: dns.TypeA, Ns: nxdomain},
	})
}
