package resolver

import (
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// A service's clusterdns.io/ttl overrides the zone's ttl for its own
// records, not for negative answers (the SOA minimum) nor for the records of
// a CNAME target in another service.
func TestServiceTTL(t *testing.T) {
	ix := index.New(index.Options{})
	meta := func(name string) object.Meta { return object.Meta{Name: name, Namespace: "ns"} }
	ix.Replace([]index.Change{
		{Kind: object.KindService, Namespace: "ns", Name: "long", Object: &object.Service{Meta: meta("long"), Type: object.ClusterIP,
			ClusterIPs: addrs("10.0.0.1"), Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}, TTL: 300, HasTTL: true}},
		{Kind: object.KindService, Namespace: "ns", Name: "zero", Object: &object.Service{Meta: meta("zero"), Type: object.Headless, TTL: 0, HasTTL: true}},
		{Kind: object.KindEndpointSlice, Namespace: "ns", Name: "zero-1", Object: &object.EndpointSlice{Meta: meta("zero-1"), ServiceName: "zero",
			Endpoints: []object.Endpoint{{Addresses: addrs("10.1.0.1"), Hostname: "a", Ready: true}}}},
		{Kind: object.KindService, Namespace: "ns", Name: "alias", Object: &object.Service{Meta: meta("alias"), Type: object.ExternalName,
			ExternalName: "plain.ns.svc.cluster.local.", TTL: 60, HasTTL: true}},
		{Kind: object.KindService, Namespace: "ns", Name: "plain", Object: &object.Service{Meta: meta("plain"), Type: object.ClusterIP, ClusterIPs: addrs("10.0.0.2")}},
	})
	r := New(Config{Zones: zones, TTL: 5})
	for _, tc := range []test.Case{
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
	} {
		t.Run(tc.Qname, func(t *testing.T) {
			res, _ := r.Resolve(ix.View(), index.Client{}, tc.Qname, tc.Qtype)
			m := &dns.Msg{Answer: res.Answer, Ns: res.Ns, Extra: res.Extra}
			m.Rcode = res.Rcode
			if err := test.SortAndCheck(m, tc); err != nil {
				t.Error(err)
			}
		})
	}
}
