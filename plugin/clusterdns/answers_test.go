package clusterdns

import (
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// answering returns a plugin serving the test cluster with fallthrough in
// fallZones, whose next plugin answers nextRcode.
func answering(fallZones ...string) *ClusterDNS {
	cd := New([]string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."})
	cd.index = indextest.Index(index.Options{})
	cd.resolver = resolver.New(cd.cfg.Config)
	if len(fallZones) > 0 {
		cd.Fall.SetZonesFromArgs(fallZones) // none would mean every zone
	}
	cd.Next = test.NextHandler(nextRcode, nil)
	return cd
}

// offTheWire is a query for name and qtype as the server reads it from a
// packet: the name in presentation form, escapes and all.
func offTheWire(t *testing.T, name string, qtype uint16) *dns.Msg {
	t.Helper()
	buf, err := new(dns.Msg).SetQuestion(name, qtype).Pack()
	if err != nil {
		t.Fatal(err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(buf); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNamesThatExistAreNotPassedOn(t *testing.T) {
	// Services pointing at each other exist: NODATA, not NXDOMAIN, so
	// fallthrough does not hand them to the next plugin.
	cd := answering("cluster.local.")
	rcode, m, err := serve(t, cd, offTheWire(t, "loop-a.prod.svc.cluster.local.", dns.TypeA))
	if err != nil || rcode != dns.RcodeSuccess || m == nil {
		t.Fatalf("rcode %d, err %v: passed on", rcode, err)
	}
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 || len(m.Ns) != 1 {
		t.Errorf("got %s with %d answers, %d authority; want NODATA\n%v", dns.RcodeToString[m.Rcode], len(m.Answer), len(m.Ns), m)
	}
}

func TestEscapedNamesInTheZoneAreAnswered(t *testing.T) {
	// 255 octets, 935 characters of presentation form.
	label := strings.Repeat(`\200`, 63)
	name := label + "." + label + "." + label + "." + strings.Repeat(`\200`, 38) + ".prod.svc.cluster.local."
	cd := answering()
	req := offTheWire(t, name, dns.TypeA)
	if got := req.Question[0].Name; len(got) <= resolver.MaxName {
		t.Fatalf("the name off the wire is %d characters, want a long one", len(got))
	}
	rcode, m, err := serve(t, cd, req)
	if err != nil || rcode != dns.RcodeSuccess || m == nil {
		t.Fatalf("rcode %d, err %v: passed on to the next plugin", rcode, err)
	}
	if m.Rcode != dns.RcodeNameError || !m.Authoritative || len(m.Ns) != 1 {
		t.Errorf("got %v, want an authoritative NXDOMAIN with the SOA", m)
	}
}
