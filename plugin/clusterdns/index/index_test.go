package index_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	"k8s.io/apimachinery/pkg/labels"
)

func svcChange(s *object.Service) index.Change {
	return index.Change{Kind: object.KindService, Namespace: s.Namespace, Name: s.Name, Object: s}
}

func sliceChange(es *object.EndpointSlice) index.Change {
	return index.Change{Kind: object.KindEndpointSlice, Namespace: es.Namespace, Name: es.Name, Object: es}
}

func deleted(kind object.Kind, ns, name string) index.Change {
	return index.Change{Kind: kind, Namespace: ns, Name: name}
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestNotSyncedUntilFirstApply(t *testing.T) {
	ix := index.New(index.Options{})
	if ix.View() != nil {
		t.Fatal("a new index serves a snapshot before any source synced")
	}
	ix.Apply(svcChange(&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}))
	if ix.View() != nil {
		t.Fatal("a snapshot is published before the source synced")
	}
	ix.Synced()
	if ix.View() == nil || ix.View().Service([]byte("web.prod")) == nil {
		t.Fatal("Synced did not publish what was applied before it")
	}
	empty := index.New(index.Options{})
	empty.Replace(nil)
	if empty.View() == nil {
		t.Fatal("an empty sync publishes no snapshot")
	}
}

func TestIncrementalChanges(t *testing.T) {
	ix := index.New(index.Options{})
	ix.Synced()
	svc := &object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.Headless}
	ix.Apply(svcChange(svc))
	before := ix.View()
	if got := before.Service([]byte("web.prod")); got == nil || got.EndpointCount() != 0 {
		t.Fatalf("service = %+v, want it without endpoints", got)
	}

	// A slice arrives: the service gains its endpoints and reverse names.
	ix.Apply(sliceChange(&object.EndpointSlice{Meta: object.Meta{Name: "web-1", Namespace: "prod"}, ServiceName: "web",
		Endpoints: []object.Endpoint{{Addresses: []netip.Addr{ip("10.0.0.1")}, Ready: true}, {Addresses: []netip.Addr{ip("10.0.0.2")}, Ready: true}}}))
	after := ix.View()
	if got := after.Service([]byte("web.prod")); got.EndpointCount() != 2 {
		t.Fatalf("endpoints = %v, want 2", slices.Collect(got.Endpoints()))
	}
	if got := after.ReverseNames(ip("10.0.0.1")); !slices.Equal(got, []string{"10-0-0-1.web.prod"}) {
		t.Errorf("reverse = %v", got)
	}
	// The earlier snapshot is untouched: readers holding it see no change.
	if got := before.Service([]byte("web.prod")); got.EndpointCount() != 0 {
		t.Errorf("a published snapshot changed under its reader: %v", slices.Collect(got.Endpoints()))
	}
	if got := before.ReverseNames(ip("10.0.0.1")); got != nil {
		t.Errorf("a published snapshot's reverse index changed: %v", got)
	}

	// The slice moves to another service (label change): it leaves web.
	ix.Apply(svcChange(&object.Service{Meta: object.Meta{Name: "other", Namespace: "prod"}, Type: object.Headless}),
		sliceChange(&object.EndpointSlice{Meta: object.Meta{Name: "web-1", Namespace: "prod"}, ServiceName: "other",
			Endpoints: []object.Endpoint{{Addresses: []netip.Addr{ip("10.0.0.1")}, Ready: true}}}))
	s := ix.View()
	if got := s.Service([]byte("web.prod")); got.EndpointCount() != 0 {
		t.Errorf("web kept endpoints of a slice that moved: %v", slices.Collect(got.Endpoints()))
	}
	if got := s.ReverseNames(ip("10.0.0.1")); !slices.Equal(got, []string{"10-0-0-1.other.prod"}) {
		t.Errorf("reverse = %v, want only the new owner", got)
	}
	if got := s.ReverseNames(ip("10.0.0.2")); got != nil {
		t.Errorf("reverse of a removed endpoint = %v", got)
	}

	// Deleting the service removes it and its reverse names; the slice
	// stays and comes back if the service does.
	ix.Apply(deleted(object.KindService, "prod", "other"))
	s = ix.View()
	if s.Service([]byte("other.prod")) != nil || s.ReverseNames(ip("10.0.0.1")) != nil {
		t.Error("a deleted service is still served")
	}
	ix.Apply(svcChange(&object.Service{Meta: object.Meta{Name: "other", Namespace: "prod"}, Type: object.Headless}))
	if got := ix.View().Service([]byte("other.prod")); got == nil || got.EndpointCount() != 1 {
		t.Errorf("a re-created service did not find its slice: %+v", got)
	}
	ix.Apply(deleted(object.KindEndpointSlice, "prod", "web-1"))
	if got := ix.View().Service([]byte("other.prod")); got.EndpointCount() != 0 {
		t.Errorf("a deleted slice is still served: %v", slices.Collect(got.Endpoints()))
	}
}

func TestSharedReverseAndDedup(t *testing.T) {
	ix := index.New(index.Options{})
	ix.Synced()
	ep := []object.Endpoint{{Addresses: []netip.Addr{ip("10.0.0.1")}, Hostname: "a", Ready: true}}
	ix.Apply(
		svcChange(&object.Service{Meta: object.Meta{Name: "one", Namespace: "ns"}, Type: object.Headless}),
		svcChange(&object.Service{Meta: object.Meta{Name: "two", Namespace: "ns"}, Type: object.Headless}),
		sliceChange(&object.EndpointSlice{Meta: object.Meta{Name: "one-a", Namespace: "ns"}, ServiceName: "one", Endpoints: ep}),
		sliceChange(&object.EndpointSlice{Meta: object.Meta{Name: "one-b", Namespace: "ns"}, ServiceName: "one", Endpoints: ep}),
		sliceChange(&object.EndpointSlice{Meta: object.Meta{Name: "two-a", Namespace: "ns"}, ServiceName: "two", Endpoints: ep}),
	)
	s := ix.View()
	if got := s.Service([]byte("one.ns")); got.EndpointCount() != 1 {
		t.Errorf("an address in two slices is published %d times", got.EndpointCount())
	}
	got := s.ReverseNames(ip("10.0.0.1"))
	slices.Sort(got)
	if !slices.Equal(got, []string{"a.one.ns", "a.two.ns"}) {
		t.Errorf("reverse = %v, want one name per service", got)
	}
}

func TestNamespaceExistence(t *testing.T) {
	ix := index.New(index.Options{})
	ix.Synced()
	ix.Apply(svcChange(&object.Service{Meta: object.Meta{Name: "web", Namespace: "noobj"}, Type: object.ClusterIP}))
	if !ix.View().NamespaceExists([]byte("noobj")) {
		t.Error("a namespace with a service but no Namespace object does not exist")
	}
	ix.Apply(deleted(object.KindService, "noobj", "web"))
	if ix.View().NamespaceExists([]byte("noobj")) {
		t.Error("a namespace without services or object still exists")
	}
}

func TestNamespaceLabelChange(t *testing.T) {
	ix := index.New(index.Options{Filter: index.Filter{NamespaceLabels: labels.SelectorFromSet(labels.Set{"dns": "on"})}})
	ix.Synced()
	ns := func(l string) index.Change {
		return index.Change{Kind: object.KindNamespace, Name: "app", Object: &object.Namespace{Meta: object.Meta{Name: "app", Labels: map[string]string{"dns": l}}}}
	}
	ix.Apply(ns("off"), svcChange(&object.Service{Meta: object.Meta{Name: "web", Namespace: "app"}, Type: object.ClusterIP}))
	if ix.View().Service([]byte("web.app")) != nil {
		t.Fatal("a service in a namespace whose labels do not match is served")
	}
	ix.Apply(ns("on"))
	if ix.View().Service([]byte("web.app")) == nil {
		t.Fatal("relabelling the namespace did not show its services")
	}
}

func TestPodIndex(t *testing.T) {
	ix := index.New(index.Options{Pods: true})
	ix.Synced()
	pod := func(ns, name, addr string) index.Change {
		return index.Change{Kind: object.KindPod, Namespace: ns, Name: name,
			Object: &object.Pod{Meta: object.Meta{Name: name, Namespace: ns}, IPs: []netip.Addr{ip(addr)}}}
	}
	ix.Apply(pod("a", "p", "10.1.1.1"), pod("b", "q", "10.1.1.1"))
	s := ix.View()
	if !s.PodInNamespace(ip("10.1.1.1"), []byte("a")) || !s.PodInNamespace(ip("10.1.1.1"), []byte("b")) {
		t.Fatal("pods sharing an address (hostNetwork-like reuse) are not both indexed")
	}
	if ns, _, ok := s.PodAt(ip("10.1.1.1")); !ok || ns != "a" {
		t.Errorf("PodAt = %q, %v; want the first pod's, a", ns, ok)
	}
	if ns, _, ok := s.PodAt(ip("10.9.9.9")); ok {
		t.Errorf("PodAt of an address without a pod = %q", ns)
	}
	ix.Apply(deleted(object.KindPod, "a", "p"), pod("b", "q", "10.1.1.2"))
	s = ix.View()
	if s.PodInNamespace(ip("10.1.1.1"), []byte("a")) || s.PodInNamespace(ip("10.1.1.1"), []byte("b")) {
		t.Error("a deleted or moved pod is still indexed")
	}
	if !s.PodInNamespace(ip("10.1.1.2"), []byte("b")) {
		t.Error("a pod's new address is not indexed")
	}
}

func TestReplaceAndCounts(t *testing.T) {
	ix := indextest.Index(index.Options{Pods: true})
	counts := ix.Counts()
	if counts[object.KindService] != 13 || counts[object.KindNamespace] != 4 || counts[object.KindPod] != 2 {
		t.Errorf("counts = %v", counts)
	}
	ix.Replace([]index.Change{svcChange(&object.Service{Meta: object.Meta{Name: "only", Namespace: "ns"}, Type: object.ClusterIP})})
	s := ix.View()
	if s.Service([]byte("web.prod")) != nil || s.Service([]byte("only.ns")) == nil {
		t.Error("Replace did not replace the state")
	}
	if s.ReverseNames(ip("10.96.0.10")) != nil {
		t.Error("Replace kept reverse names of the old state")
	}
}

func TestProgrammingLatency(t *testing.T) {
	var kinds []index.ServiceKind
	ix := index.New(index.Options{Programmed: func(k index.ServiceKind, d time.Duration) {
		if d < time.Second {
			t.Errorf("latency %v, want about a minute", d)
		}
		kinds = append(kinds, k)
	}})
	ix.Synced()
	changed := time.Now().Add(-time.Minute)
	ix.Apply(svcChange(&object.Service{Meta: object.Meta{Name: "x", Namespace: "ns", Changed: object.StampOf(changed)}, Type: object.ExternalName, Extra: &object.ServiceExtra{ExternalName: "a.b."}}),
		svcChange(&object.Service{Meta: object.Meta{Name: "y", Namespace: "ns", Changed: object.StampOf(changed)}, Type: object.Headless}),
		svcChange(&object.Service{Meta: object.Meta{Name: "z", Namespace: "ns"}, Type: object.ClusterIP}))
	if !slices.Equal(kinds, []index.ServiceKind{index.KindExternalName, index.KindHeadlessWithoutSelector}) {
		t.Errorf("observed %v", kinds)
	}
}

func TestBadTTLReportedOncePerServiceChange(t *testing.T) {
	var reports []string
	ix := index.New(index.Options{BadTTL: func(ns, name, value string) { reports = append(reports, ns+"/"+name+"="+value) }})
	ix.Synced()
	ix.Apply(svcChange(&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.Headless, Extra: &object.ServiceExtra{BadTTL: "5m"}}))
	// Endpoint changes rebuild the service but do not repeat the report.
	ix.Apply(sliceChange(&object.EndpointSlice{Meta: object.Meta{Name: "web-1", Namespace: "prod"}, ServiceName: "web"}))
	if !slices.Equal(reports, []string{"prod/web=5m"}) {
		t.Errorf("reports = %v", reports)
	}
}

// SharedNames (a dual-stack endpoint's two addresses under one hostname)
// is found both by the pairwise scan of small services and through the
// name map of large ones.
func TestSharedNames(t *testing.T) {
	for _, tt := range []struct {
		name   string
		n      int
		shared bool
	}{
		{name: "small, distinct", n: 3},
		{name: "small, shared", n: 3, shared: true},
		{name: "large, distinct", n: 20},
		{name: "large, shared", n: 20, shared: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var eps []object.Endpoint
			for i := range tt.n {
				host := fmt.Sprintf("host-%d", i)
				if tt.shared && i == tt.n-1 {
					host = "host-0"
				}
				eps = append(eps, object.Endpoint{Addresses: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})}, Hostname: host, Ready: true})
			}
			ix := index.New(index.Options{})
			ix.Replace([]index.Change{
				svcChange(&object.Service{Meta: object.Meta{Name: "db", Namespace: "ns"}, Type: object.Headless}),
				sliceChange(&object.EndpointSlice{Meta: object.Meta{Name: "db-1", Namespace: "ns"}, ServiceName: "db", Endpoints: eps}),
			})
			svc := ix.View().Service([]byte("db.ns"))
			if svc.SharedNames != tt.shared {
				t.Errorf("SharedNames = %v, want %v", svc.SharedNames, tt.shared)
			}
			found := 0
			svc.EndpointsNamed([]byte("host-0"), func(*index.Endpoint) bool { found++; return true })
			if want := map[bool]int{false: 1, true: 2}[tt.shared]; found != want {
				t.Errorf("host-0 has %d endpoints, want %d", found, want)
			}
		})
	}
}

func TestDashedIP(t *testing.T) {
	// Stock CoreDNS's names (endpointHostname): dots or colons to dashes,
	// and a 0 after a trailing dash.
	for _, tc := range []struct{ addr, want string }{
		{"10.244.1.7", "10-244-1-7"},
		{"fd00:244::5", "fd00-244--5"},
		{"fd00:10:244:3::", "fd00-10-244-3--0"},
		{"::5", "--5"},
		{"::", "--0"},
		{"2001:db8:1:2:3:4:5:6", "2001-db8-1-2-3-4-5-6"},
	} {
		if got := index.DashedIP(ip(tc.addr)); got != tc.want {
			t.Errorf("DashedIP(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestServiceNamedInLowerCase checks that an entry answers by its Service's
// name and namespace in lower case, and keeps the object as it came: the
// entry reads its names through the object, which the API server and the
// manifests file hold to lower case but a snapshot need not.
func TestServiceNamedInLowerCase(t *testing.T) {
	ix := index.New(index.Options{})
	in := (&object.Service{Meta: object.Meta{Name: "Web", Namespace: "Prod"}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{ip("10.96.0.1")})
	ix.Apply(svcChange(in))
	ix.Synced()
	v := ix.View()
	got := v.Service([]byte("web.prod"))
	if got == nil || got.Name != "web" || got.Namespace != "prod" {
		t.Fatalf("service web.prod = %+v, want it named web in prod", got)
	}
	if names := v.ReverseNames(ip("10.96.0.1")); !slices.Equal(names, []string{"web.prod"}) {
		t.Errorf("reverse names = %v, want [web.prod]", names)
	}
	if in.Name != "Web" || in.Namespace != "Prod" {
		t.Errorf("the source's object was renamed to %s/%s", in.Namespace, in.Name)
	}
	if obj, _ := ix.Object(object.KindService, "Prod", "Web"); obj != in {
		t.Errorf("Object returns %v, want the object applied", obj)
	}
}
