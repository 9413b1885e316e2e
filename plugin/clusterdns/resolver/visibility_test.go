package resolver

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	"k8s.io/apimachinery/pkg/labels"
)

// Client addresses of the visibility tests: pods added to indextest's
// cluster, in staging and in default, and an address no pod holds.
var (
	stagingPod = netip.MustParseAddr("10.244.9.1")
	defaultPod = netip.MustParseAddr("10.244.9.2")
	noPod      = netip.MustParseAddr("192.0.2.53")
	// sharedPod is held by pods of staging and default at once.
	sharedPod = netip.MustParseAddr("10.244.9.3")
)

// visibilityCluster is indextest's cluster with client pods, and
// staging/peer, a service without selector whose endpoint is prod/web's
// 10.244.1.7: that address has a PTR in each namespace. without drops the
// objects of one namespace, as if it did not exist.
func visibilityCluster(without string, annotate map[string]string) []index.Change {
	pod := func(ns, name string, ip netip.Addr) index.Change {
		return index.Change{Kind: object.KindPod, Namespace: ns, Name: name,
			Object: &object.Pod{Meta: object.Meta{Name: name, Namespace: ns}, IPs: []netip.Addr{ip}}}
	}
	cs := append(indextest.Cluster(),
		pod("staging", "client", stagingPod), pod("default", "client", defaultPod),
		pod("staging", "node-agent", sharedPod), pod("default", "node-agent", sharedPod),
		index.Change{Kind: object.KindService, Namespace: "staging", Name: "peer", Object: &object.Service{
			Meta: object.Meta{Name: "peer", Namespace: "staging"}, Type: object.Headless}},
		index.Change{Kind: object.KindEndpointSlice, Namespace: "staging", Name: "peer-1", Object: &object.EndpointSlice{
			Meta: object.Meta{Name: "peer-1", Namespace: "staging"}, ServiceName: "peer",
			Endpoints: []object.Endpoint{{Addresses: []netip.Addr{netip.MustParseAddr("10.244.1.7")}, Hostname: "p", Ready: true}}}},
	)
	var out []index.Change
	for _, c := range cs {
		if without != "" && (c.Namespace == without || c.Kind == object.KindNamespace && c.Name == without) {
			continue
		}
		if ns, ok := c.Object.(*object.Namespace); ok && annotate[ns.Name] != "" {
			n := *ns
			n.VisibleTo = annotate[ns.Name]
			c.Object = &n
		}
		out = append(out, c)
	}
	return out
}

// question is a name and type asked.
type question struct {
	name  string
	qtype uint16
}

// prodQuestions asks every name and path by which prod's objects answer:
// services of each kind, endpoints by hostname and by dashed address, SRV
// at the service and at the port, the <ns>.svc and <ns>.pod empty
// non-terminals, zone-scoped names (zonal), pod names, PTRs of cluster IPs and of endpoint
// addresses, and an ExternalName chain into prod.
var prodQuestions = []question{
	{"web.prod.svc.cluster.local.", dns.TypeA},
	{"web.prod.svc.cluster.local.", dns.TypeSRV},
	{"web.prod.svc.cluster.local.", dns.TypeTXT},
	{"_http._tcp.web.prod.svc.cluster.local.", dns.TypeSRV},
	{"_tcp.web.prod.svc.cluster.local.", dns.TypeSRV},
	{"10-244-1-7.web.prod.svc.cluster.local.", dns.TypeA},
	{"db.prod.svc.cluster.local.", dns.TypeA},
	{"db.prod.svc.cluster.local.", dns.TypeSRV},
	{"db-0.db.prod.svc.cluster.local.", dns.TypeA},
	{"_postgres._tcp.db.prod.svc.cluster.local.", dns.TypeSRV},
	{"zone-a.pin._zone.db.prod.svc.cluster.local.", dns.TypeA},
	{"zone-a.pin._zone.db.prod.svc.cluster.local.", dns.TypeSRV},
	{"zone-b.prefer._zone.db.prod.svc.cluster.local.", dns.TypeA},
	{"api.prod.svc.cluster.local.", dns.TypeAAAA},
	{"search.prod.svc.cluster.local.", dns.TypeA},
	{"search.prod.svc.cluster.local.", dns.TypeCNAME},
	{"nohosts.prod.svc.cluster.local.", dns.TypeA},
	{"prod.svc.cluster.local.", dns.TypeA},
	{"prod.svc.cluster.local.", dns.TypeSOA},
	{"prod.pod.cluster.local.", dns.TypeA},
	{"10-244-1-7.prod.pod.cluster.local.", dns.TypeA},
	{"10.0.96.10.in-addr.arpa.", dns.TypePTR},
	{"10.0.96.10.in-addr.arpa.", dns.TypeA},
	{"8.1.244.10.in-addr.arpa.", dns.TypePTR},
	{"1.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.4.2.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", dns.TypePTR},
}

// resolveAs answers a question of client at addr (the zero Client when
// addr is not valid) with pods in cfg's mode.
func resolveAs(t *testing.T, cfg Config, view *index.View, addr netip.Addr, name string, qtype uint16) Result {
	t.Helper()
	cfg.Zones, cfg.TTL = zones, 5
	var client index.Client
	if addr.IsValid() {
		client = view.ClientAt(addr)
	}
	r := New(cfg)
	res, ok := r.Resolve(view, client, name, qtype)
	if !ok {
		t.Fatalf("%s is outside the zones", name)
	}
	// Explain tells the client what it is answered, hidden names too.
	var tr Trace
	if explained, _ := r.Explain(view, client, name, qtype, &tr); !reflect.DeepEqual(explained, res) || len(tr.Steps) == 0 {
		t.Errorf("%s %s: Explain answers %v with %d steps, Resolve %v", dns.TypeToString[qtype], name, explained, len(tr.Steps), res)
	}
	// Views built apart may straddle a second: their serials differ.
	for _, rr := range res.Ns {
		if s, ok := rr.(*dns.SOA); ok {
			s.Serial = 0
		}
	}
	return res
}

func newVisibilityIndex(v *index.Visibility, without string, annotate map[string]string) *index.View {
	ix := index.New(index.Options{Pods: true, Zonal: true, Visibility: v})
	ix.Replace(visibilityCluster(without, annotate))
	return ix.View()
}

func sameResult(a, b Result) bool {
	return a.Rcode == b.Rcode && fmt.Sprint(a.Answer) == fmt.Sprint(b.Answer) &&
		fmt.Sprint(a.Ns) == fmt.Sprint(b.Ns) && fmt.Sprint(a.Extra) == fmt.Sprint(b.Extra)
}

// TestHiddenIsNonexistent: a namespace a client may not see answers every
// question exactly as it would if it did not exist, and one it may see
// exactly as without the option, for every kind of client.
func TestHiddenIsNonexistent(t *testing.T) {
	defaults := []index.Export{{Namespaces: []string{"default"}, All: true}}
	toStaging := labels.SelectorFromSet(labels.Set{"env": "staging"})
	for _, tc := range []struct {
		name     string
		vis      index.Visibility
		annotate map[string]string
		client   netip.Addr
		sees     bool
	}{
		{name: "pod of another namespace", vis: index.Visibility{Exports: defaults}, client: stagingPod},
		{name: "exported by the Corefile to its namespace", vis: index.Visibility{Exports: []index.Export{{Namespaces: []string{"prod"}, To: toStaging}}}, client: stagingPod, sees: true},
		{name: "exported by the Corefile to another", vis: index.Visibility{Exports: []index.Export{{Namespaces: []string{"prod"}, To: toStaging}}}, client: defaultPod},
		{name: "exported by annotation to its namespace", annotate: map[string]string{"prod": "env=staging"}, client: stagingPod, sees: true},
		{name: "exported by annotation by name", annotate: map[string]string{"prod": "kubernetes.io/metadata.name in (default, staging)"}, client: stagingPod, sees: true},
		{name: "exported by annotation to another", annotate: map[string]string{"prod": "env=staging"}, client: defaultPod},
		{name: "exported to every client", annotate: map[string]string{"prod": "*"}, client: defaultPod, sees: true},
		{name: "malformed annotation", annotate: map[string]string{"prod": "env in staging"}, client: stagingPod},
		{name: "empty annotation", annotate: map[string]string{"prod": " "}, client: stagingPod},
		{name: "own namespace", annotate: map[string]string{"prod": "env=nowhere"}, client: netip.MustParseAddr("10.244.1.7"), sees: true},
		{name: "non-pod, nonpod exported", vis: index.Visibility{Exports: defaults}, client: noPod},
		{name: "non-pod, nonpod all", vis: index.Visibility{NonPodAll: true}, client: noPod, sees: true},
		{name: "non-pod, exported to every client", vis: index.Visibility{}, annotate: map[string]string{"prod": "*"}, client: noPod, sees: true},
		{name: "non-pod, exported by selector", annotate: map[string]string{"prod": "env"}, client: noPod},
		{name: "address of pods in two namespaces", annotate: map[string]string{"prod": "kubernetes.io/metadata.name=staging"}, client: sharedPod},
		{name: "address of pods in two namespaces, nonpod all", vis: index.Visibility{NonPodAll: true}, client: sharedPod, sees: true},
		{name: "zone transfer's client", annotate: map[string]string{"prod": "env"}},
		{name: "zone transfer's client, exported to all", annotate: map[string]string{"prod": "*"}, sees: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vis := tc.vis
			scoped := newVisibilityIndex(&vis, "", tc.annotate)
			// What the client would get if prod were not there, and what
			// every client gets without the option.
			absent := newVisibilityIndex(&index.Visibility{NonPodAll: true}, "prod", nil)
			off := newVisibilityIndex(nil, "", nil)
			for _, pods := range []PodMode{PodsInsecure, PodsVerified} {
				for _, q := range prodQuestions {
					cfg := Config{Pods: pods, Zonal: true}
					got := resolveAs(t, cfg, scoped, tc.client, q.name, q.qtype)
					want := resolveAs(t, cfg, absent, noPod, q.name, q.qtype)
					if tc.sees {
						want = resolveAs(t, cfg, off, tc.client, q.name, q.qtype)
					}
					if !sameResult(got, want) {
						t.Errorf("%s %s (pods %d):\n got %d %v %v %v\nwant %d %v %v %v", dns.TypeToString[q.qtype], q.name, pods,
							got.Rcode, got.Answer, got.Ns, got.Extra, want.Rcode, want.Answer, want.Ns, want.Extra)
					}
				}
			}
		})
	}
}

// TestVisibleNamespacesUnchanged: what a client may see answers as without
// the option: its own namespace, and one exported to every client.
func TestVisibleNamespacesUnchanged(t *testing.T) {
	scoped := newVisibilityIndex(&index.Visibility{Exports: []index.Export{{Namespaces: []string{"default"}, All: true}}}, "", nil)
	off := newVisibilityIndex(nil, "", nil)
	for _, q := range []question{
		{"web.staging.svc.cluster.local.", dns.TypeA},
		{"staging.svc.cluster.local.", dns.TypeA},
		{"p.peer.staging.svc.cluster.local.", dns.TypeA},
		{"kubernetes.default.svc.cluster.local.", dns.TypeA},
		{"_https._tcp.kubernetes.default.svc.cluster.local.", dns.TypeSRV},
		{"1.0.96.10.in-addr.arpa.", dns.TypePTR},
		{"10.1.96.10.in-addr.arpa.", dns.TypePTR},
		{"cluster.local.", dns.TypeNS},
		{"dns-version.cluster.local.", dns.TypeTXT},
	} {
		got := resolveAs(t, Config{}, scoped, stagingPod, q.name, q.qtype)
		want := resolveAs(t, Config{}, off, stagingPod, q.name, q.qtype)
		if !sameResult(got, want) || got.Rcode != dns.RcodeSuccess {
			t.Errorf("%s %s: got %d %v, want %d %v", dns.TypeToString[q.qtype], q.name, got.Rcode, got.Answer, want.Rcode, want.Answer)
		}
	}
}

// TestReverseOfSharedAddress: an address with names in a visible and a
// hidden namespace gets the visible PTR only.
func TestReverseOfSharedAddress(t *testing.T) {
	scoped := newVisibilityIndex(&index.Visibility{}, "", nil)
	for _, tc := range []struct {
		client netip.Addr
		want   []string
	}{
		{client: stagingPod, want: []string{"p.peer.staging.svc.cluster.local."}},
		{client: netip.MustParseAddr("10.244.1.7"), want: []string{"10-244-1-7.web.prod.svc.cluster.local."}},
		{client: noPod},
	} {
		res := resolveAs(t, Config{}, scoped, tc.client, "7.1.244.10.in-addr.arpa.", dns.TypePTR)
		var got []string
		for _, rr := range res.Answer {
			got = append(got, rr.(*dns.PTR).Ptr)
		}
		if !slices.Equal(got, tc.want) || (len(tc.want) == 0) != (res.Rcode == dns.RcodeNameError) {
			t.Errorf("client %s: PTR %v rcode %d, want %v", tc.client, got, res.Rcode, tc.want)
		}
	}
}

// TestTransferHoldsWhatEveryClientSees: under the option a zone transfer
// carries the namespaces exported to every client, nothing else.
func TestTransferHoldsWhatEveryClientSees(t *testing.T) {
	scoped := newVisibilityIndex(&index.Visibility{NonPodAll: true, Exports: []index.Export{{Namespaces: []string{"default"}, All: true}}},
		"", map[string]string{"staging": "env=prod"})
	r := New(Config{Zones: zones, TTL: 5})
	seen := make(map[string]bool)
	r.Transfer(scoped, "cluster.local.", func(rrs []dns.RR) {
		for _, rr := range rrs {
			name := rr.Header().Name
			labels := dns.SplitDomainName(name)
			if len(labels) >= 4 && labels[len(labels)-3] == "svc" {
				seen[labels[len(labels)-4]] = true
			}
		}
	})
	if !seen["default"] || seen["prod"] || seen["staging"] {
		t.Errorf("transfer holds the namespaces %v, want default only", seen)
	}
}
