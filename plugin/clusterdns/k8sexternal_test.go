package clusterdns

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/coredns/coredns/plugin/etcd/msg"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
	external "github.com/clusterdns/clusterdns/plugin/k8s_external"
)

// k8s_external asserts its Externaler interface on the handler named
// kubernetes.
var (
	_ external.Externaler = (*ClusterDNS)(nil)
	_ external.Externaler = (*stockAlias)(nil)
)

// newExternalPlugin serves the test cluster plus prod/lb (externalIPs
// 192.0.2.1 and 2001:db8::1, a load balancer hostname, port http/80/tcp,
// TTL annotation 30) and prod/bare (externalIP 192.0.2.9, no ports).
func newExternalPlugin(t *testing.T) *ClusterDNS {
	t.Helper()
	cd := newTestPlugin(t, true)
	a := netip.MustParseAddr
	svc := func(s *object.Service) index.Change {
		return index.Change{Kind: object.KindService, Namespace: s.Namespace, Name: s.Name, Object: s}
	}
	cd.index.Apply(
		svc((&object.Service{Meta: object.Meta{Name: "lb", Namespace: "prod"}, Type: object.ClusterIP,
			Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}},
			Extra: &object.ServiceExtra{ExternalIPs: []netip.Addr{a("192.0.2.1"), a("2001:db8::1")}, ExternalHostnames: []string{"lb.example.net"}},
			TTL:   30, HasTTL: true}).SetClusterIPs([]netip.Addr{a("10.96.0.50")})),
		svc((&object.Service{Meta: object.Meta{Name: "bare", Namespace: "prod"}, Type: object.ClusterIP,
			Extra: &object.ServiceExtra{ExternalIPs: []netip.Addr{a("192.0.2.9")}}}).SetClusterIPs([]netip.Addr{a("10.96.0.51")})),
	)
	return cd
}

func TestExternal(t *testing.T) {
	cd := newExternalPlugin(t)
	const lbKey = "/c/org/example/prod/lb"
	lb := []msg.Service{
		{Host: "192.0.2.1", Port: 80, TTL: 30, Key: lbKey},
		{Host: "2001:db8::1", Port: 80, TTL: 30, Key: lbKey},
		{Host: "lb.example.net", Port: 80, TTL: 30, Key: lbKey},
	}
	db := []msg.Service{
		{Host: "10.244.2.1", Port: 5432, TTL: 5, Key: "/c/org/example/prod/db/db-0"},
		{Host: "10.244.2.2", Port: 5432, TTL: 5, Key: "/c/org/example/prod/db/db-1"},
	}
	for _, tc := range []struct {
		name, qname, zone string
		qtype             uint16
		headless          bool
		want              []msg.Service
		rcode             int
	}{
		{name: "external addresses, then hostnames", qname: "lb.prod.example.org.", want: lb},
		{name: "port and protocol", qname: "_http._tcp.lb.prod.example.org.", qtype: dns.TypeSRV, want: lb},
		{name: "port and protocol without underscores", qname: "http.tcp.lb.prod.example.org.", qtype: dns.TypeSRV, want: lb},
		{name: "unknown port", qname: "_https._tcp.lb.prod.example.org.", qtype: dns.TypeSRV, rcode: dns.RcodeNameError},
		{name: "unknown protocol", qname: "_http._udp.lb.prod.example.org.", qtype: dns.TypeSRV, rcode: dns.RcodeNameError},
		{name: "service without ports: port -1", qname: "bare.prod.example.org.", want: []msg.Service{{Host: "192.0.2.9", Port: -1, TTL: 5, Key: "/c/org/example/prod/bare"}}},
		{name: "headless endpoints", qname: "db.prod.example.org.", headless: true, want: db},
		{name: "headless endpoint by name", qname: "db-1.db.prod.example.org.", headless: true, want: db[1:]},
		{name: "endpoint of a ClusterIP service with headless", qname: "10-244-1-8.web.prod.example.org.", headless: true,
			want: []msg.Service{{Host: "10.244.1.8", Port: 8080, TTL: 5, Key: "/c/org/example/prod/web/10-244-1-8"}}},
		{name: "headless service without headless", qname: "db.prod.example.org.", rcode: dns.RcodeNameError},
		{name: "no external address", qname: "web.prod.example.org.", rcode: dns.RcodeNameError},
		{name: "unknown service", qname: "nope.prod.example.org.", rcode: dns.RcodeNameError},
		{name: "namespace", qname: "prod.example.org."},
		{name: "unknown namespace", qname: "lb.nope.example.org.", rcode: dns.RcodeNameError},
		{name: "too many labels", qname: "a.b.c.lb.prod.example.org.", rcode: dns.RcodeNameError},
		{name: "PTR of an external IP", qname: "1.2.0.192.in-addr.arpa.", zone: "in-addr.arpa.", qtype: dns.TypePTR,
			want: []msg.Service{{Host: "lb.prod", TTL: 5}}},
		{name: "PTR of another IP", qname: "7.1.244.10.in-addr.arpa.", zone: "in-addr.arpa.", qtype: dns.TypePTR, rcode: dns.RcodeNameError},
		{name: "PTR of a service name: NODATA", qname: "lb.prod.example.org.", qtype: dns.TypePTR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			qtype, zone := tc.qtype, tc.zone
			if qtype == 0 {
				qtype = dns.TypeA
			}
			if zone == "" {
				zone = "example.org."
			}
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, qtype)
			state := request.Request{W: &test.ResponseWriter{}, Req: m, Zone: zone}
			got, rcode := cd.External(state, tc.headless)
			if rcode != tc.rcode || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("External = %+v, %d; want %+v, %d", got, rcode, tc.want, tc.rcode)
			}
		})
	}
}

func TestExternalServices(t *testing.T) {
	cd := newExternalPlugin(t)
	services, headless := cd.ExternalServices("example.org.", true)
	const lb, bare = "/c/org/example/prod/lb", "/c/org/example/prod/bare"
	want := []msg.Service{
		{Host: "192.0.2.9", Port: -1, TTL: 5, Key: bare},
		{Host: "192.0.2.9", Port: -1, TTL: 5, Key: bare + "/_/_", TargetStrip: 2},
		{Host: "192.0.2.1", Port: 80, TTL: 30, Key: lb},
		{Host: "192.0.2.1", Port: 80, TTL: 30, Key: lb + "/_tcp/_http", TargetStrip: 2},
		{Host: "2001:db8::1", Port: 80, TTL: 30, Key: lb},
		{Host: "2001:db8::1", Port: 80, TTL: 30, Key: lb + "/_tcp/_http", TargetStrip: 2},
		{Host: "lb.example.net", Port: 80, TTL: 30, Key: lb},
		{Host: "lb.example.net", Port: 80, TTL: 30, Key: lb + "/_tcp/_http", TargetStrip: 2},
	}
	if !reflect.DeepEqual(services, want) {
		t.Errorf("services\n%+v\nwant\n%+v", services, want)
	}
	const db = "/c/org/example/prod/db"
	if got, want := headless[db+"/endpoint"], []msg.Service{
		{Host: "10.244.2.1", Port: 5432, TTL: 5, Key: db + "/db-0"},
		{Host: "10.244.2.2", Port: 5432, TTL: 5, Key: db + "/db-1"},
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("headless endpoints of db\n%+v\nwant\n%+v", got, want)
	}
	if got, want := headless[db+"/_tcp/_postgres/port.protocol"], []msg.Service{
		{Host: "db-0.db.prod.example.org.", Port: 5432, TTL: 5, Key: db + "/_tcp/_postgres"},
		{Host: "db-1.db.prod.example.org.", Port: 5432, TTL: 5, Key: db + "/_tcp/_postgres"},
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("headless SRV of db\n%+v\nwant\n%+v", got, want)
	}
	// The cache service has an endpoint but no ports: address records only.
	if got := headless["/c/org/example/prod/cache/_/_/port.protocol"]; got != nil {
		t.Errorf("SRV for a headless service without ports: %+v", got)
	}
	if got := headless["/c/org/example/prod/cache/endpoint"]; len(got) != 1 || got[0].Port != -1 {
		t.Errorf("endpoints of a headless service without ports: %+v, want one with port -1", got)
	}
	if _, headless := cd.ExternalServices("example.org.", false); len(headless) != 0 {
		t.Errorf("headless services without headless: %v", headless)
	}
}

func TestExternalAddressAndSerial(t *testing.T) {
	cd := newExternalPlugin(t)
	cd.cfg.LocalAddrs = []netip.Addr{netip.MustParseAddr("10.0.0.53")}
	state := request.Request{Zone: "example.org."}
	got := cd.ExternalAddress(state, false)
	if len(got) != 1 || got[0].String() != "ns.dns.example.org.\t0\tIN\tA\t10.0.0.53" {
		t.Errorf("ExternalAddress of a server that is no endpoint = %v, want its own address", got)
	}
	cd.cfg.LocalAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	if got := cd.ExternalAddress(state, false); len(got) != 0 {
		t.Errorf("ExternalAddress of a server on loopback = %v, want none, as stock", got)
	}
	// A server that is an endpoint of prod/web answers with web's external
	// addresses: none here, as stock.
	cd.cfg.LocalAddrs = []netip.Addr{netip.MustParseAddr("10.244.1.7")}
	if got := cd.ExternalAddress(state, false); len(got) != 0 {
		t.Errorf("ExternalAddress of an endpoint of a service without external addresses = %v, want none", got)
	}
	// With headless, an endpoint of a headless service answers with the
	// service's endpoints.
	cd.cfg.LocalAddrs = []netip.Addr{netip.MustParseAddr("10.244.2.1")}
	got = cd.ExternalAddress(state, true)
	if len(got) != 2 || got[0].String() != "db-0.db.prod.example.org.\t0\tIN\tA\t10.244.2.1" {
		t.Errorf("ExternalAddress of an endpoint of a headless service = %v", got)
	}
	if s := cd.ExternalSerial("example.org."); s != cd.index.View().Serial() {
		t.Errorf("ExternalSerial = %d, want the view's %d", s, cd.index.View().Serial())
	}
}

func TestExternalNotSynced(t *testing.T) {
	cd := newTestPlugin(t, false)
	m := new(dns.Msg)
	m.SetQuestion("lb.prod.example.org.", dns.TypeA)
	if _, rcode := cd.External(request.Request{W: &test.ResponseWriter{}, Req: m, Zone: "example.org."}, false); rcode != dns.RcodeServerFailure {
		t.Errorf("External before the first sync: rcode %d, want SERVFAIL (not an NXDOMAIN to cache)", rcode)
	}
	if s, h := cd.ExternalServices("example.org.", true); s != nil || len(h) != 0 {
		t.Errorf("ExternalServices before the first sync = %v, %v", s, h)
	}
}
