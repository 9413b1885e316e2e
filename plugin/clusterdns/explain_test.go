package clusterdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/cache"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// newExplainPlugin is the test plugin with pods verified, so that clients
// are found by address and by name.
func newExplainPlugin(t testing.TB) *ClusterDNS {
	t.Helper()
	cd := newTestPlugin(t, true)
	cd.cfg.Pods = resolver.PodsVerified
	cd.cfg.autoPath = newAutoPathWalks(cd.Zones, nil)
	cd.index = indextest.Index(index.Options{Pods: true})
	cd.resolver = resolver.New(cd.cfg.Config)
	return cd
}

// TestExplainAgreesWithServeDNS explains names from a pod and checks each
// candidate against what ServeDNS answers for it.
func TestExplainAgreesWithServeDNS(t *testing.T) {
	cd := newExplainPlugin(t)
	for _, tc := range []struct {
		client, name string
		qtype        uint16
		wantAnswer   int // index of the candidate that answers, -1 none
		wantRule     resolver.Rule
	}{
		{client: "prod/web-a", name: "web", qtype: dns.TypeA, wantAnswer: 0, wantRule: resolver.RuleClusterIP},
		{client: "10.244.1.7", name: "web.staging", qtype: dns.TypeA, wantAnswer: 1, wantRule: resolver.RuleClusterIP},
		{client: "prod/", name: "db", qtype: dns.TypeA, wantAnswer: 0, wantRule: resolver.RuleHeadless},
		{client: "prod/web-a", name: "nohosts", qtype: dns.TypeA, wantAnswer: -1, wantRule: resolver.RuleHeadlessEmpty},
		{client: "prod/web-a", name: "alias", qtype: dns.TypeA, wantAnswer: 0, wantRule: resolver.RuleClusterIP},
		{client: "prod/web-a", name: "10-244-1-7.prod.pod", qtype: dns.TypeA, wantAnswer: 2, wantRule: resolver.RulePodVerified},
		{client: "prod/web-a", name: "gone", qtype: dns.TypeA, wantAnswer: -1, wantRule: resolver.RuleNoService},
	} {
		t.Run(tc.client+" "+tc.name, func(t *testing.T) {
			e, err := cd.explain(tc.client, tc.name, tc.qtype)
			if err != nil {
				t.Fatal(err)
			}
			if e.Answer != tc.wantAnswer {
				t.Errorf("answer at candidate %d, want %d: %+v", e.Answer, tc.wantAnswer, e.Candidates)
			}
			for _, c := range e.Candidates {
				if !c.Ours {
					continue
				}
				_, m, err := serve(t, cd, test.Case{Qname: c.Name, Qtype: tc.qtype}.Msg())
				if err != nil {
					t.Fatal(err)
				}
				var served []string
				for _, rr := range m.Answer {
					served = append(served, rr.String())
				}
				if c.Rcode != dns.RcodeToString[m.Rcode] || !slices.Equal(c.Records, served) {
					t.Errorf("%s: explain says %s %v, the server answers %s %v", c.Name, c.Rcode, c.Records, dns.RcodeToString[m.Rcode], served)
				}
			}
			found := false
			for _, c := range e.Candidates {
				for _, r := range c.Reasons {
					found = found || r.Rule == tc.wantRule.String()
				}
			}
			if !found {
				t.Errorf("no candidate explained by %q", tc.wantRule)
			}
		})
	}
}

func TestExplainBadInput(t *testing.T) {
	cd := newExplainPlugin(t)
	for _, tc := range []struct {
		name, client, qname, want string
	}{
		{name: "unknown pod", client: "prod/nope", qname: "web", want: "unknown pod prod/nope"},
		{name: "unknown namespace", client: "nope/x", qname: "web", want: "no namespace nope"},
		{name: "client outside the pod network", client: "192.0.2.1", qname: "web", want: "outside the pod network"},
		{name: "not a client", client: "web-a", qname: "web", want: "neither namespace/pod nor an IP"},
		{name: "invalid name", client: "prod/web-a", qname: "we b..x", want: "invalid name"},
		{name: "no name", client: "prod/web-a", qname: "", want: "no name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cd.explain(tc.client, tc.qname, dns.TypeA)
			if !errors.Is(err, errExplain) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// TestExplainReadsCache holds readCache to the cache plugin's fields: an
// upgrade that renames them fails here, not silently in the output.
func TestExplainReadsCache(t *testing.T) {
	info := readCache(cache.New())
	if info == nil || info.successTTL != time.Hour || info.denialTTL != 30*time.Minute {
		t.Fatalf("readCache(cache.New()) = %+v, want the success and denial caps of 1h and 30m", info)
	}
}

func TestExplainOption(t *testing.T) {
	for _, tc := range []struct {
		input   string
		wantErr string
		addr    string
		history [2]int
		search  []string
	}{
		{input: "clusterdns cluster.local {\n explain\n}", addr: defaultExplainAddr},
		{input: "clusterdns cluster.local {\n explain 127.0.0.1:9300 {\n search corp.example. \n history\n }\n}", addr: "127.0.0.1:9300",
			history: [2]int{defaultHistoryPerClient, defaultHistoryMaxClients}, search: []string{"corp.example."}},
		{input: "clusterdns cluster.local {\n explain [::1]:9300 {\n history 4 8\n }\n}", addr: "[::1]:9300", history: [2]int{4, 8}},
		{input: "clusterdns cluster.local {\n explain 10.1.2.3:9300\n}", addr: "10.1.2.3:9300"},
		{input: "clusterdns cluster.local {\n explain :9300\n}", wantErr: "every address"},
		{input: "clusterdns cluster.local {\n explain 0.0.0.0:9300\n}", wantErr: "every address"},
		{input: "clusterdns cluster.local {\n explain node.example:9300\n}", wantErr: "IP address or localhost"},
		{input: "clusterdns cluster.local {\n explain 127.0.0.1:9300 {\n history 0\n }\n}", wantErr: "not a count"},
		{input: "clusterdns cluster.local {\n explain 127.0.0.1:9300 {\n colour red\n }\n}", wantErr: "unknown property"},
	} {
		t.Run(tc.input, func(t *testing.T) {
			cd, err := parse(caddy.NewTestController("dns", tc.input))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "Testfile:") {
					t.Errorf("error %v does not name the file and line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ex := cd.cfg.explain
			if ex.addr != tc.addr || ex.historyPerClient != tc.history[0] || ex.historyClients != tc.history[1] {
				t.Errorf("explain = %+v", ex)
			}
			if tc.search != nil && !slices.Equal(ex.nodeSearch, tc.search) {
				t.Errorf("search = %v, want %v", ex.nodeSearch, tc.search)
			}
		})
	}
}

// TestHistoryBounds fills the history from more clients, and with more
// questions each, than it keeps.
func TestHistoryBounds(t *testing.T) {
	h := newHistory(3, 2)
	client := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 244, 0, byte(i)}) }
	ask := func(c int, name string) { h.add(client(c), historyRecord{Name: name}) }
	names := func(c int) []string {
		var out []string
		for _, e := range h.of(client(c)) {
			out = append(out, e.Name)
		}
		return out
	}
	for i := range 5 {
		ask(1, fmt.Sprintf("a%d.", i))
	}
	if got := names(1); !slices.Equal(got, []string{"a2.", "a3.", "a4."}) {
		t.Errorf("client 1 keeps %v, want its last 3 oldest first", got)
	}
	ask(2, "b0.")
	ask(1, "a5.") // client 1 is now the most recent
	ask(3, "c0.") // a third client evicts the least recent: 2
	if got := names(2); got != nil {
		t.Errorf("client 2 should be gone, has %v", got)
	}
	if got := names(1); !slices.Equal(got, []string{"a3.", "a4.", "a5."}) {
		t.Errorf("client 1 keeps %v", got)
	}
	clients, entries := h.size()
	if clients != 2 || entries != 4 {
		t.Errorf("size %d clients, %d entries; want 2 and 4", clients, entries)
	}
	// A client that went away and comes back starts afresh.
	ask(2, "b1.")
	if got := names(2); !slices.Equal(got, []string{"b1."}) {
		t.Errorf("client 2 back with %v", got)
	}
	if clients, _ := h.size(); clients != 2 {
		t.Errorf("%d clients, cap 2", clients)
	}
}

// TestHistoryRecordsServed checks that what the history records is what
// the client was sent, for our answers and for those of the next plugin.
func TestHistoryRecordsServed(t *testing.T) {
	cd := newTestPlugin(t, true)
	cd.history = newHistory(4, 4)
	for _, q := range []string{"web.prod.svc.cluster.local.", "example.org."} {
		rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: "10.244.9.9"})
		rcode, _ := cd.ServeDNS(context.Background(), rec, test.Case{Qname: q, Qtype: dns.TypeA}.Msg())
		_ = rcode
	}
	got := cd.history.of(netip.MustParseAddr("10.244.9.9"))
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2", len(got))
	}
	if got[0].Rcode != dns.RcodeSuccess || len(got[0].Answer) != 1 || got[0].Answer[0].(*dns.A).A.String() != "10.96.0.10" {
		t.Errorf("first entry %+v, want web's A record", got[0])
	}
	if got[1].Name != "example.org." || got[1].Rcode != nextRcode {
		t.Errorf("second entry %+v, want the next plugin's %s", got[1], dns.RcodeToString[nextRcode])
	}
}

// TestHistoryRecordsWhatWasSent checks each way a query is answered: the
// history keeps one entry per question the client asked, with the rcode
// and answer it was sent (or the rcode the server writes when no plugin
// wrote), at the time it was answered, and none for the plugin's own
// lookups on a client's behalf.
func TestHistoryRecordsWhatWasSent(t *testing.T) {
	cd := newTestPlugin(t, true)
	// The next plugin answers written.example. itself and returns
	// nextRcode, unwritten, for the rest.
	cd.Next = plugin.HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		if r.Question[0].Name != "written.example." {
			return nextRcode, nil
		}
		m := new(dns.Msg).SetReply(r)
		m.Answer = []dns.RR{test.A("written.example. 60 IN A 192.0.2.1")}
		return dns.RcodeSuccess, w.WriteMsg(m)
	})
	cd.history = newHistory(8, 8)
	const client = "10.244.9.9"
	for i, tc := range []struct {
		name   string
		q      *dns.Msg
		lookup bool // a lookup of the plugin's, not the client's
		rcode  int  // recorded
		answer string
	}{
		{name: "our answer", q: test.Case{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA}.Msg(), rcode: dns.RcodeSuccess, answer: "10.96.0.10"},
		{name: "our name error", q: test.Case{Qname: "nope.prod.svc.cluster.local.", Qtype: dns.TypeAAAA}.Msg(), rcode: dns.RcodeNameError},
		{name: "our rcode, unwritten", q: test.Case{Qname: "cluster.local.", Qtype: dns.TypeAXFR}.Msg(), rcode: dns.RcodeRefused},
		{name: "the next plugin's answer", q: test.Case{Qname: "written.example.", Qtype: dns.TypeA}.Msg(), rcode: dns.RcodeSuccess, answer: "192.0.2.1"},
		{name: "the next plugin's rcode, unwritten", q: test.Case{Qname: "example.org.", Qtype: dns.TypeMX}.Msg(), rcode: nextRcode},
		{name: "our lookup", q: test.Case{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA}.Msg(), lookup: true},
		{name: "the next plugin's answer to our lookup", q: test.Case{Qname: "written.example.", Qtype: dns.TypeA}.Msg(), lookup: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.lookup {
				ctx = context.WithValue(ctx, lookupForKey{}, "asked.example.")
			}
			before := cd.history.of(netip.MustParseAddr(client))
			asked := time.Now()
			rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: client})
			rcode, _ := cd.ServeDNS(ctx, rec, tc.q)
			answered := time.Now()
			got := cd.history.of(netip.MustParseAddr(client))
			if tc.lookup {
				if len(got) != len(before) {
					t.Fatalf("a lookup of ours recorded: %d entries, want %d", len(got), len(before))
				}
				return
			}
			if len(got) != len(before)+1 {
				t.Fatalf("%d entries after question %d, want one more than %d", len(got), i+1, len(before))
			}
			e := got[len(got)-1]
			if e.Name != tc.q.Question[0].Name || e.Qtype != tc.q.Question[0].Qtype || e.Rcode != tc.rcode {
				t.Errorf("recorded %s %s %s, want %s %s %s", e.Name, dns.TypeToString[e.Qtype], dns.RcodeToString[e.Rcode],
					tc.q.Question[0].Name, dns.TypeToString[tc.q.Question[0].Qtype], dns.RcodeToString[tc.rcode])
			}
			if rec.Msg != nil {
				if rec.Msg.Rcode != e.Rcode || !slices.Equal(rec.Msg.Answer, e.Answer) {
					t.Errorf("recorded %s %v, sent %s %v", dns.RcodeToString[e.Rcode], e.Answer, dns.RcodeToString[rec.Msg.Rcode], rec.Msg.Answer)
				}
			} else if rcode != tc.rcode {
				t.Errorf("recorded rcode %s, returned %s", dns.RcodeToString[tc.rcode], dns.RcodeToString[rcode])
			}
			var addrs []string
			for _, rr := range e.Answer {
				addrs = append(addrs, rr.(*dns.A).A.String())
			}
			if strings.Join(addrs, " ") != tc.answer {
				t.Errorf("recorded answer %v, want %q", addrs, tc.answer)
			}
			if e.At.Before(asked) || e.At.After(answered) {
				t.Errorf("recorded at %v, asked at %v and answered at %v", e.At, asked, answered)
			}
		})
	}
}

// TestHistoryClientsApart asks from many clients at once, spread over
// the shards: each client's history holds its own questions and no
// other's; then more clients than the bound evict the least recent.
func TestHistoryClientsApart(t *testing.T) {
	h := newHistory(3, 256)
	if len(h.shards) != 4 {
		t.Fatalf("%d shards for 256 clients, want 4 of 64", len(h.shards))
	}
	client := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 244, byte(i >> 8), byte(i)}) }
	names := func(i int) []string {
		var out []string
		for _, e := range h.of(client(i)) {
			out = append(out, e.Name)
		}
		return out
	}
	const asking = 64 // no more than a shard holds, however they fall
	for r := range 3 {
		var wg sync.WaitGroup
		for i := range asking {
			wg.Go(func() { h.add(client(i), historyRecord{Name: fmt.Sprintf("q%d.c%d.", r, i)}) })
		}
		wg.Wait()
	}
	for i := range asking {
		if got, want := names(i), []string{fmt.Sprintf("q0.c%d.", i), fmt.Sprintf("q1.c%d.", i), fmt.Sprintf("q2.c%d.", i)}; !slices.Equal(got, want) {
			t.Errorf("client %d keeps %v, want %v", i, got, want)
		}
	}
	// 1000 more, in turn: each shard sees far more than it holds.
	for i := asking; i < asking+1000; i++ {
		h.add(client(i), historyRecord{Name: fmt.Sprintf("c%d.", i)})
	}
	if n, entries := h.size(); n != 256 || entries != 256 {
		t.Errorf("%d clients and %d entries kept, want the bound, 256, with one question each", n, entries)
	}
	for i := range asking {
		if got := names(i); got != nil {
			t.Errorf("client %d, among the least recent, keeps %v", i, got)
		}
	}
	// The last 64 are the most recent of whichever shard they are in.
	for i := asking + 1000 - 64; i < asking+1000; i++ {
		if got := names(i); !slices.Equal(got, []string{fmt.Sprintf("c%d.", i)}) {
			t.Errorf("client %d, among the most recent, keeps %v", i, got)
		}
	}
}

// TestHistoryDoesNotAllocate: the history costs an answer of the plugin's
// no allocation, from a client it keeps or from one that takes the least
// recent one's place.
func TestHistoryDoesNotAllocate(t *testing.T) {
	cd := newTestPlugin(t, true)
	m := test.Case{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA}.Msg()
	w := &remoteWriter{ResponseWriter: &test.ResponseWriter{}, remote: &net.UDPAddr{IP: net.IPv4(10, 244, 0, 1), Port: 40000}}
	off := testing.AllocsPerRun(100, func() { cd.ServeDNS(context.Background(), w, m) })
	cd.history = newHistory(defaultHistoryPerClient, 2)
	clients := []*net.UDPAddr{{IP: net.IPv4(10, 244, 0, 1)}, {IP: net.IPv4(10, 244, 0, 2)}, {IP: net.IPv4(10, 244, 0, 3)}}
	for _, c := range clients {
		w.remote = c
		cd.ServeDNS(context.Background(), w, m) // the history is full
	}
	for _, tc := range []struct {
		name  string
		churn bool
	}{{name: "kept client"}, {name: "new clients", churn: true}} {
		i := 0
		on := testing.AllocsPerRun(100, func() {
			if tc.churn {
				w.remote, i = clients[i%len(clients)], i+1 // 3 clients, room for 2
			}
			cd.ServeDNS(context.Background(), w, m)
		})
		if on != off {
			t.Errorf("%s: %v allocations a query with the history, %v without", tc.name, on, off)
		}
	}
}

// TestHistoryBeforeReply checks that an answer is in the history by the
// time it is sent: a client that got its reply and asks for its history
// finds it.
func TestHistoryBeforeReply(t *testing.T) {
	cd := newTestPlugin(t, true)
	cd.history = newHistory(4, 4)
	w := &checkingWriter{ResponseWriter: test.ResponseWriter{RemoteIP: "10.244.9.9"}, check: func() {
		if got := cd.history.of(netip.MustParseAddr("10.244.9.9")); len(got) != 1 {
			t.Errorf("history holds %d entries as the reply goes out, want 1", len(got))
		}
	}}
	cd.ServeDNS(context.Background(), w, test.Case{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA}.Msg())
	if !w.called {
		t.Fatal("no reply written")
	}
}

type checkingWriter struct {
	test.ResponseWriter
	check  func()
	called bool
}

func (w *checkingWriter) WriteMsg(m *dns.Msg) error {
	w.called = true
	w.check()
	return nil
}

// TestExplainServerWalks checks what explain says of search_path against
// what the server answers with it on, and what it says of autopath.
func TestExplainServerWalks(t *testing.T) {
	cd := newExplainPlugin(t)
	cd.cfg.search = &searchPath{walks: []zoneWalk{newZoneWalk("cluster.local.", nil)}}
	e, err := cd.explain("prod/web-a", "web.staging", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	first := "web.staging.prod.svc.cluster.local."
	want := "answers " + first + " with a CNAME to web.staging.svc.cluster.local."
	if !strings.Contains(e.SearchPath, want) {
		t.Errorf("search_path: %q, want it to say it %s", e.SearchPath, want)
	}
	_, m, err := serve(t, cd, test.Case{Qname: first, Qtype: dns.TypeA}.Msg())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Answer) == 0 || m.Answer[0].(*dns.CNAME).Target != "web.staging.svc.cluster.local." {
		t.Errorf("the server answers %v with search_path on", m.Answer)
	}
	if e.AutoPath != "off" {
		t.Errorf("autopath: %q, want off", e.AutoPath)
	}
	cd.autopathInChain = true
	e, err = cd.explain("10.244.1.7", "web.staging", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.AutoPath, `"prod.svc.cluster.local." "svc.cluster.local." "cluster.local."`) || !strings.Contains(e.SearchPath, "autopath walks for this pod instead") {
		t.Errorf("autopath: %q, search_path: %q; want autopath walking the pod's list instead", e.AutoPath, e.SearchPath)
	}
}
