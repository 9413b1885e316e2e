package clusterdns

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// upstreamZone is what the fake next plugin serves: names outside the
// cluster, as a recursive resolver would answer them.
const upstreamZone = `
www.example.org.            300 IN A     192.0.2.80
www.example.org.            300 IN AAAA  2001:db8::80
v4.example.org.             300 IN A     192.0.2.4
search.example.com.         300 IN A     192.0.2.30
db.corp.example.internal.   300 IN A     192.0.2.10
mixed.test.example.internal. 300 IN TXT  "exists without A"
mixed.test.                 300 IN A     192.0.2.99
`

// upstreamSOA is the SOA of the fake upstream's negative answers.
var upstreamSOA = test.SOA("example.org. 300 IN SOA ns.example.org. hostmaster.example.org. 1 7200 1800 86400 300")

// fakeUpstream stands in for the plugins after clusterdns (cache,
// forward): it answers from upstreamZone, SERVFAIL for fail.example.org.
// and a truncated answer for big.example.org., and records every question
// with the search-path metadata it came with.
type fakeUpstream struct {
	records map[string][]dns.RR
	asked   []string // "<qname> <type> <search-path metadata>"
}

func newFakeUpstream(t testing.TB) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{records: make(map[string][]dns.RR)}
	for _, line := range strings.Split(strings.TrimSpace(upstreamZone), "\n") {
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatal(err)
		}
		f.records[rr.Header().Name] = append(f.records[rr.Header().Name], rr)
	}
	return f
}

func (f *fakeUpstream) Name() string { return "fake-upstream" }

func (f *fakeUpstream) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	q := r.Question[0]
	label := "-"
	if fn := metadata.ValueFunc(ctx, metaLookupFor); fn != nil {
		label = fn()
	}
	f.asked = append(f.asked, q.Name+" "+dns.TypeToString[q.Qtype]+" "+label)
	m := new(dns.Msg).SetReply(r)
	name := strings.ToLower(q.Name)
	switch name {
	case "fail.example.org.":
		m.Rcode = dns.RcodeServerFailure
	case "big.example.org.":
		m.Truncated = true
	default:
		rrs, ok := f.records[name]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				rr = dns.Copy(rr)
				rr.Header().Name = q.Name
				m.Answer = append(m.Answer, rr)
			}
		}
		if len(m.Answer) == 0 {
			m.Ns = []dns.RR{upstreamSOA}
		}
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// searchServer is a server whose chain is metadata, clusterdns and the
// fake upstream: lookups of a walk go through it as in a real server.
type searchServer struct {
	*dnsserver.Server
	cd       *ClusterDNS
	upstream *fakeUpstream
}

// newSearchServer serves the test cluster with search_path configured by
// block (the lines inside `search_path ... { }`, or ""), the node's search
// domain being example.internal.
func newSearchServer(t testing.TB, args, block string, fallZones ...string) *searchServer {
	t.Helper()
	resolvConf := writeResolvConf(t, "nameserver 192.0.2.53\nsearch example.internal\n")
	cd := newTestPlugin(t, true, fallZones...)
	input := "clusterdns {\n search_path " + args + " {\n resolv_conf " + resolvConf + "\n" + block + "\n }\n}"
	c := newController(input)
	parsed, err := parse(c)
	if err != nil {
		t.Fatalf("parse %q: %v", input, err)
	}
	cd.cfg.search = parsed.cfg.search
	up := newFakeUpstream(t)
	md := &metadata.Metadata{Zones: []string{"."}, Providers: []metadata.Provider{cd}}
	cfg := &dnsserver.Config{Zone: ".", Plugin: []plugin.Plugin{
		func(next plugin.Handler) plugin.Handler { md.Next = next; return md },
		func(next plugin.Handler) plugin.Handler { cd.Next = next; return cd },
		func(plugin.Handler) plugin.Handler { return up },
	}}
	s, err := dnsserver.NewServer("dns://:0", []*dnsserver.Config{cfg})
	if err != nil {
		t.Fatal(err)
	}
	return &searchServer{Server: s, cd: cd, upstream: up}
}

// ask sends m from client (10.240.0.1 when empty) and returns the reply
// the client gets.
func (s *searchServer) ask(t testing.TB, m *dns.Msg, client string) *dns.Msg {
	t.Helper()
	s.upstream.asked = nil
	rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: client})
	// As the server's listeners do: lookups through the server find it here.
	ctx := context.WithValue(context.Background(), dnsserver.Key{}, s.Server)
	ctx = context.WithValue(ctx, dnsserver.LoopKey{}, 0)
	s.ServeDNS(ctx, rec, m)
	if rec.Msg == nil {
		t.Fatalf("no reply to %v", m.Question)
	}
	return rec.Msg
}

func clusterSOA() dns.RR {
	return test.SOA("cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5")
}

// nxdomain is the reply a walk leaves to the client: the asked name's
// NXDOMAIN.
func nxdomain(qname string, qtype uint16) test.Case {
	return test.Case{Qname: qname, Qtype: qtype, Rcode: dns.RcodeNameError, Ns: []dns.RR{clusterSOA()}}
}

// externalWalk is what the next plugin is asked, with the search-path
// metadata, on the walk from <name>.prod.svc.cluster.local. past the
// cluster's suffixes: the node's search domain, then the name as it is.
func externalWalk(name, qtype string) []string {
	asked := name + ".prod.svc.cluster.local."
	return []string{name + ".example.internal. " + qtype + " " + asked, name + ". " + qtype + " " + asked}
}

func TestSearchPathCompletes(t *testing.T) {
	s := newSearchServer(t, "", "")
	for _, tt := range []struct {
		name string
		tc   test.Case
		// walk is what the next plugin was asked, in order.
		walk []string
		// result is the walk metric's label, "" when no walk runs.
		result string
	}{
		{
			name: "external name: every suffix, then the name as it is",
			tc: test.Case{Qname: "www.example.org.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.CNAME("www.example.org.prod.svc.cluster.local. 5 IN CNAME www.example.org."),
				test.A("www.example.org. 300 IN A 192.0.2.80"),
			}},
			walk:   externalWalk("www.example.org", "A"),
			result: "answer",
		},
		{
			name: "external name AAAA",
			tc: test.Case{Qname: "www.example.org.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Answer: []dns.RR{
				test.CNAME("www.example.org.prod.svc.cluster.local. 5 IN CNAME www.example.org."),
				test.AAAA("www.example.org. 300 IN AAAA 2001:db8::80"),
			}},
			walk:   externalWalk("www.example.org", "AAAA"),
			result: "answer",
		},
		{
			name: "the question's case is kept",
			tc: test.Case{Qname: "WWW.Example.Org.Prod.Svc.Cluster.Local.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.CNAME("WWW.Example.Org.Prod.Svc.Cluster.Local. 5 IN CNAME WWW.Example.Org."),
				test.A("WWW.Example.Org. 300 IN A 192.0.2.80"),
			}},
			walk: []string{
				"WWW.Example.Org.example.internal. A WWW.Example.Org.Prod.Svc.Cluster.Local.",
				"WWW.Example.Org. A WWW.Example.Org.Prod.Svc.Cluster.Local.",
			},
			result: "answer",
		},
		{
			name: "NODATA at the end of the walk",
			tc: test.Case{Qname: "v4.example.org.prod.svc.cluster.local.", Qtype: dns.TypeAAAA,
				Answer: []dns.RR{test.CNAME("v4.example.org.prod.svc.cluster.local. 5 IN CNAME v4.example.org.")},
				Ns:     []dns.RR{upstreamSOA}},
			walk:   externalWalk("v4.example.org", "AAAA"),
			result: "nodata",
		},
		{
			name: "a service of another namespace, from the cluster",
			tc: test.Case{Qname: "web.prod.staging.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.CNAME("web.prod.staging.svc.cluster.local. 5 IN CNAME web.prod.svc.cluster.local."),
				test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10"),
			}},
			result: "answer",
		},
		{
			name:   "NODATA before the end of the walk is left to the client",
			tc:     nxdomain("web.prod.staging.svc.cluster.local.", dns.TypeAAAA),
			result: "client_walk",
		},
		{
			name:   "an existing name without the type, then one with it",
			tc:     nxdomain("mixed.test.prod.svc.cluster.local.", dns.TypeA),
			walk:   []string{"mixed.test.example.internal. A mixed.test.prod.svc.cluster.local."},
			result: "client_walk",
		},
		{
			name: "a pod name",
			tc: test.Case{Qname: "10-244-1-7.prod.pod.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.CNAME("10-244-1-7.prod.pod.prod.svc.cluster.local. 5 IN CNAME 10-244-1-7.prod.pod.cluster.local."),
				test.A("10-244-1-7.prod.pod.cluster.local. 5 IN A 10.244.1.7"),
			}},
			result: "answer",
		},
		{
			name: "an ExternalName service, its target chased through the server",
			tc: test.Case{Qname: "search.prod.staging.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.CNAME("search.prod.staging.svc.cluster.local. 5 IN CNAME search.prod.svc.cluster.local."),
				test.CNAME("search.prod.svc.cluster.local. 5 IN CNAME search.example.com."),
				test.A("search.example.com. 300 IN A 192.0.2.30"),
			}},
			walk:   []string{"search.example.com. A search.prod.staging.svc.cluster.local."},
			result: "answer",
		},
		{
			name: "SRV of a service of another namespace, with its glue",
			tc: test.Case{Qname: "_https._tcp.web.prod.staging.svc.cluster.local.", Qtype: dns.TypeSRV, Answer: []dns.RR{
				test.CNAME("_https._tcp.web.prod.staging.svc.cluster.local. 5 IN CNAME _https._tcp.web.prod.svc.cluster.local."),
				test.SRV("_https._tcp.web.prod.svc.cluster.local. 5 IN SRV 0 100 443 web.prod.svc.cluster.local."),
			}, Extra: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
			result: "answer",
		},
		{
			name: "a host of the node's search domain",
			tc: test.Case{Qname: "db.corp.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
				test.CNAME("db.corp.prod.svc.cluster.local. 5 IN CNAME db.corp.example.internal."),
				test.A("db.corp.example.internal. 300 IN A 192.0.2.10"),
			}},
			walk:   []string{"db.corp.example.internal. A db.corp.prod.svc.cluster.local."},
			result: "answer",
		},
		{
			name:   "nothing on the whole walk",
			tc:     nxdomain("nope.example.org.prod.svc.cluster.local.", dns.TypeA),
			walk:   externalWalk("nope.example.org", "A"),
			result: "client_walk",
		},
		{
			name:   "SERVFAIL on the way",
			tc:     nxdomain("fail.example.org.prod.svc.cluster.local.", dns.TypeA),
			walk:   externalWalk("fail.example.org", "A"),
			result: "client_walk",
		},
		{
			name:   "a truncated answer on the way",
			tc:     nxdomain("big.example.org.prod.svc.cluster.local.", dns.TypeA),
			walk:   externalWalk("big.example.org", "A"),
			result: "client_walk",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.ToFloat64(searchWalks.WithLabelValues(tt.result))
			m := s.ask(t, tt.tc.Msg(), "")
			if err := checkInOrder(m, tt.tc); err != nil {
				t.Error(err)
			}
			if !m.Authoritative {
				t.Error("answer is not authoritative")
			}
			if !slices.Equal(s.upstream.asked, tt.walk) {
				t.Errorf("the next plugin was asked\n%s\nwant\n%s", strings.Join(s.upstream.asked, "\n"), strings.Join(tt.walk, "\n"))
			}
			if d := testutil.ToFloat64(searchWalks.WithLabelValues(tt.result)) - before; d != 1 {
				t.Errorf("%s walks went up by %v, want 1", tt.result, d)
			}
		})
	}
}

// TestSearchPathDeclines lists names that must keep their NXDOMAIN without
// a walk: they are not, or may not be, the first step of a pod's search.
func TestSearchPathDeclines(t *testing.T) {
	for _, tt := range []struct {
		name   string
		args   string // search_path's arguments
		block  string // and its block
		client string
		qname  string
		qtype  uint16
	}{
		{name: "a single label: <service>.<ns> from another namespace", qname: "db-server.prod.svc.cluster.local.", qtype: dns.TypeA},
		{name: "the namespace does not exist", qname: "www.example.org.nowhere.svc.cluster.local.", qtype: dns.TypeA},
		{name: "an endpoint of an existing service", qname: "db-9.db.prod.svc.cluster.local.", qtype: dns.TypeA},
		{name: "a protocol of a service", qname: "_sctp.web.prod.svc.cluster.local.", qtype: dns.TypeSRV},
		{name: "a port of a service", qname: "_gopher._tcp.nope.prod.svc.cluster.local.", qtype: dns.TypeSRV},
		{name: "ndots dots: tried as it is first", qname: "a.b.c.d.example.org.prod.svc.cluster.local.", qtype: dns.TypeA},
		{name: "an empty label", qname: "a..example.org.prod.svc.cluster.local.", qtype: dns.TypeA},
		{name: "an escaped dot", qname: `www\.example.org.prod.svc.cluster.local.`, qtype: dns.TypeA},
		{name: "not under svc", qname: "www.example.org.prod.pod.cluster.local.", qtype: dns.TypeA},
		{name: "a CNAME question", qname: "www.example.org.prod.svc.cluster.local.", qtype: dns.TypeCNAME},
		{name: "an ANY question", qname: "www.example.org.prod.svc.cluster.local.", qtype: dns.TypeANY},
		{name: "a namespace not listed", block: "namespaces staging default", qname: "www.example.org.prod.svc.cluster.local.", qtype: dns.TypeA},
		{name: "a client outside the networks", block: "clients 10.244.0.0/16 fd00::/8", client: "10.240.0.1", qname: "www.example.org.prod.svc.cluster.local.", qtype: dns.TypeA},
		{name: "a reverse zone", qname: "www.example.org.prod.svc.in-addr.arpa.", qtype: dns.TypeA},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSearchServer(t, tt.args, tt.block)
			m := s.ask(t, new(dns.Msg).SetQuestion(tt.qname, tt.qtype), tt.client)
			if m.Rcode != dns.RcodeNameError || len(m.Answer) != 0 {
				t.Errorf("got %s with %v, want NXDOMAIN", dns.RcodeToString[m.Rcode], m.Answer)
			}
			if len(s.upstream.asked) != 0 {
				t.Errorf("a walk ran: the next plugin was asked %v", s.upstream.asked)
			}
		})
	}
}

func TestSearchPathLimits(t *testing.T) {
	const qname = "www.example.org.prod.svc.cluster.local."
	for _, tt := range []struct {
		name   string
		block  string
		client string
		want   bool
	}{
		{name: "listed namespace", block: "namespaces staging\n namespaces prod", want: true},
		{name: "client in an IPv4 network", block: "clients 10.244.0.0/16", client: "10.244.1.7", want: true},
		{name: "client in an IPv6 network", block: "clients 10.244.0.0/16 fd00::/8", client: "fd00::7", want: true},
		{name: "client by address", block: "clients 10.244.1.7", client: "10.244.1.7", want: true},
		{name: "client outside", block: "clients 10.244.0.0/16", client: "10.245.0.1", want: false},
		{name: "namespace not listed", block: "namespaces staging", want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSearchServer(t, "", tt.block)
			m := s.ask(t, new(dns.Msg).SetQuestion(qname, dns.TypeA), tt.client)
			if got := m.Rcode == dns.RcodeSuccess && len(m.Answer) == 2; got != tt.want {
				t.Errorf("completed = %v (%s, %v), want %v", got, dns.RcodeToString[m.Rcode], m.Answer, tt.want)
			}
		})
	}
}

// TestSearchPathFallthrough checks that with fallthrough in the cluster
// zone the walk's cluster names go to the next plugin, and that those
// lookups do not start walks of their own.
func TestSearchPathFallthrough(t *testing.T) {
	s := newSearchServer(t, "", "", "cluster.local.")
	m := s.ask(t, new(dns.Msg).SetQuestion("v4.example.org.prod.svc.cluster.local.", dns.TypeA), "")
	want := []string{
		"v4.example.org.svc.cluster.local. A v4.example.org.prod.svc.cluster.local.",
		"v4.example.org.cluster.local. A v4.example.org.prod.svc.cluster.local.",
		"v4.example.org.example.internal. A v4.example.org.prod.svc.cluster.local.",
		"v4.example.org. A v4.example.org.prod.svc.cluster.local.",
	}
	if !slices.Equal(s.upstream.asked, want) {
		t.Errorf("the next plugin was asked\n%s\nwant\n%s", strings.Join(s.upstream.asked, "\n"), strings.Join(want, "\n"))
	}
	if len(m.Answer) != 2 || m.Answer[1].(*dns.A).A.String() != "192.0.2.4" {
		t.Errorf("answer %v, want the CNAME and 192.0.2.4", m.Answer)
	}
	// Without a walk, an NXDOMAIN in a fallthrough zone still goes on.
	s.ask(t, new(dns.Msg).SetQuestion("nope.prod.svc.cluster.local.", dns.TypeA), "")
	if want := []string{"nope.prod.svc.cluster.local. A -"}; !slices.Equal(s.upstream.asked, want) {
		t.Errorf("the next plugin was asked %v, want %v", s.upstream.asked, want)
	}
}

// TestSearchPathExistingNames checks that names that exist are answered
// as without the option: the walk only starts at an NXDOMAIN.
func TestSearchPathExistingNames(t *testing.T) {
	s := newSearchServer(t, "", "")
	for _, tc := range []test.Case{
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Ns: []dns.RR{clusterSOA()}},
		{Qname: "prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{clusterSOA()}},
	} {
		t.Run(tc.Qname+"/"+dns.TypeToString[tc.Qtype], func(t *testing.T) {
			m := s.ask(t, tc.Msg(), "")
			if err := test.SortAndCheck(m, tc); err != nil {
				t.Error(err)
			}
			if len(s.upstream.asked) != 0 {
				t.Errorf("the next plugin was asked %v", s.upstream.asked)
			}
		})
	}
}

// FuzzSearchPath asks arbitrary names <name>.<ns>.svc.cluster.local. of a
// server with search_path: it must not panic, and its replies must pack.
func FuzzSearchPath(f *testing.F) {
	for _, seed := range []struct{ name, ns string }{
		{"www.example.org", "prod"},
		{"web.prod", "staging"},
		{"_https._tcp.web.prod", "staging"},
		{"a.b.c.d.e.f", "prod"},
		{"db-9.db", "prod"},
		{"search.prod", "staging"},
		{"", "prod"},
		{"x.", "prod"},
		{`a\.b`, "prod"},
		{"fail.example.org", "prod"},
	} {
		f.Add(seed.name, seed.ns, dns.TypeA)
	}
	s := newSearchServer(f, "", "", "cluster.local.")
	f.Fuzz(func(t *testing.T, name, ns string, qtype uint16) {
		qname := name + "." + ns + ".svc.cluster.local."
		if _, ok := dns.IsDomainName(qname); !ok {
			return
		}
		m := s.ask(t, new(dns.Msg).SetQuestion(qname, qtype), "")
		if _, err := m.Pack(); err != nil {
			t.Fatalf("reply to %s %d does not pack: %v", qname, qtype, err)
		}
	})
}

// BenchmarkSearchPathDecline is the cost the option adds to an NXDOMAIN
// that does not start a walk (compare the two sub-benchmarks): the second
// step of a search walk, whose namespace "org" does not exist.
func BenchmarkSearchPathDecline(b *testing.B) {
	c := newController("clusterdns {\n search_path {\n resolv_conf " + writeResolvConf(b, "search example.internal\n") + "\n }\n}")
	parsed, err := parse(c)
	if err != nil {
		b.Fatal(err)
	}
	m := new(dns.Msg).SetQuestion("www.example.org.svc.cluster.local.", dns.TypeA)
	w := &test.ResponseWriter{}
	for _, search := range []*searchPath{nil, parsed.cfg.search} {
		cd := newTestPlugin(b, true)
		cd.cfg.search = search
		b.Run(map[bool]string{true: "on", false: "off"}[search != nil], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cd.ServeDNS(context.Background(), w, m)
			}
		})
	}
}

// checkInOrder checks a reply against tc without sorting its sections: a
// CNAME comes before what it points to.
func checkInOrder(m *dns.Msg, tc test.Case) error {
	if err := test.Header(tc, m); err != nil {
		return err
	}
	if err := test.Section(tc, test.Answer, m.Answer); err != nil {
		return err
	}
	if err := test.Section(tc, test.Ns, m.Ns); err != nil {
		return err
	}
	return test.Section(tc, test.Extra, m.Extra)
}
