package index_test

import (
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	"k8s.io/apimachinery/pkg/labels"
)

func nsChange(name string, lbls map[string]string, visibleTo string) index.Change {
	return index.Change{Kind: object.KindNamespace, Name: name,
		Object: &object.Namespace{Meta: object.Meta{Name: name, Labels: lbls}, VisibleTo: visibleTo}}
}

func podChange(ns, name string, ips ...netip.Addr) index.Change {
	return index.Change{Kind: object.KindPod, Namespace: ns, Name: name,
		Object: &object.Pod{Meta: object.Meta{Name: name, Namespace: ns}, IPs: ips}}
}

// liveVisibilityIndex is a synced index with the visibility option, a pod
// in each of namespaces a and b, and namespace shared exporting itself to
// namespaces labelled team=a.
func liveVisibilityIndex(t *testing.T, v *index.Visibility) *index.Index {
	t.Helper()
	ix := index.New(index.Options{Pods: true, Visibility: v})
	ix.Apply(nsChange("a", map[string]string{"team": "a"}, ""), nsChange("b", nil, ""),
		nsChange("shared", nil, "team=a"),
		podChange("a", "client", ip("10.244.0.1")), podChange("b", "client", ip("10.244.0.2")))
	ix.Synced()
	return ix
}

// TestVisibilityFollowsLabels: who sees a namespace changes with the
// labels of the client's namespace and with the exporting namespace's
// annotation, each published as a new view with a new serial.
func TestVisibilityFollowsLabels(t *testing.T) {
	ix := liveVisibilityIndex(t, &index.Visibility{})
	sees := func(addr string) bool {
		v := ix.View()
		return index.Visible(v, v.ClientAt(ip(addr)), "shared")
	}
	if !sees("10.244.0.1") || sees("10.244.0.2") {
		t.Fatalf("before: a sees shared %v (want true), b %v (want false)", sees("10.244.0.1"), sees("10.244.0.2"))
	}
	for _, step := range []struct {
		name   string
		change index.Change
		a, b   bool
	}{
		{name: "b labelled team=a", change: nsChange("b", map[string]string{"team": "a"}, ""), a: true, b: true},
		{name: "a's label removed", change: nsChange("a", nil, ""), a: false, b: true},
		{name: "annotation names a", change: nsChange("shared", nil, "kubernetes.io/metadata.name=a"), a: true, b: false},
		{name: "annotation removed", change: nsChange("shared", nil, ""), a: false, b: false},
		{name: "annotation *", change: nsChange("shared", nil, "*"), a: true, b: true},
		{name: "shared deleted", change: index.Change{Kind: object.KindNamespace, Name: "shared"}, a: false, b: false},
	} {
		before := ix.View()
		ix.Apply(step.change)
		if ix.View() == before {
			t.Fatalf("%s: no new view published", step.name)
		}
		if got, want := [2]bool{sees("10.244.0.1"), sees("10.244.0.2")}, [2]bool{step.a, step.b}; got != want {
			t.Errorf("%s: a, b see shared %v, want %v", step.name, got, want)
		}
	}
}

// TestVisibilityUnchangedKeepsView: a namespace change that changes no one's
// view (a label no selector reads) publishes nothing, so the serial stays.
func TestVisibilityUnchangedKeepsView(t *testing.T) {
	ix := liveVisibilityIndex(t, &index.Visibility{})
	before := ix.View()
	ix.Apply(nsChange("b", map[string]string{"unrelated": "x"}, ""))
	if ix.View() != before {
		t.Error("a label no selector reads published a new view")
	}
}

// TestBadSelectorReported: a malformed annotation exports nothing and is
// reported once per value with its namespace; a blank one is malformed,
// never a selector of everything.
func TestBadSelectorReported(t *testing.T) {
	type report struct{ namespace, value string }
	var reports []report
	ix := liveVisibilityIndex(t, &index.Visibility{BadSelector: func(ns, value string, err error) {
		reports = append(reports, report{ns, value})
	}})
	for _, value := range []string{"team in a", "team in a", " ", "!"} {
		ix.Apply(nsChange("shared", nil, value))
		ix.Apply(nsChange("b", map[string]string{"n": value}, "")) // another namespace change
		v := ix.View()
		if index.Visible(v, v.ClientAt(ip("10.244.0.1")), "shared") || index.Visible(v, index.Client{}, "shared") {
			t.Errorf("%q: shared is visible", value)
		}
	}
	want := []report{{"shared", "team in a"}, {"shared", " "}, {"shared", "!"}}
	if len(reports) != len(want) {
		t.Fatalf("reports %v, want %v", reports, want)
	}
	for i := range want {
		if reports[i] != want[i] {
			t.Errorf("report %d: %v, want %v", i, reports[i], want[i])
		}
	}
}

// TestClientOfSharedAddress: an address that pods of two namespaces claim
// (host network, a reused address whose old pod is not yet deleted) is no
// pod's: the client gets the non-pod default, until one of the pods is
// gone.
func TestClientOfSharedAddress(t *testing.T) {
	ix := liveVisibilityIndex(t, &index.Visibility{Exports: []index.Export{{Namespaces: []string{"shared"}, To: labels.Everything()}}})
	shared := func() bool {
		v := ix.View()
		return index.Visible(v, v.ClientAt(ip("10.244.0.1")), "a")
	}
	if !shared() {
		t.Fatal("a pod's client does not see its own namespace")
	}
	ix.Apply(podChange("b", "reuser", ip("10.244.0.1")))
	if shared() {
		t.Error("an address of pods in a and b sees a")
	}
	ix.Apply(index.Change{Kind: object.KindPod, Namespace: "a", Name: "client"})
	v := ix.View()
	if c := v.ClientAt(ip("10.244.0.1")); !index.Visible(v, c, "b") || index.Visible(v, c, "a") {
		t.Error("once a's pod is gone, the address is not b's pod")
	}
	// Two pods of one namespace on one address are that namespace's.
	ix.Apply(podChange("b", "second", ip("10.244.0.1")))
	v = ix.View()
	if c := v.ClientAt(ip("10.244.0.1")); !index.Visible(v, c, "b") {
		t.Error("an address of two pods in b does not see b")
	}
}

// TestVisibilityOffSeesAll: without the option every client sees every
// namespace, annotations or not.
func TestVisibilityOffSeesAll(t *testing.T) {
	ix := index.New(index.Options{Pods: true})
	ix.Apply(nsChange("shared", nil, "team=a"), podChange("b", "client", ip("10.244.0.2")))
	ix.Synced()
	v := ix.View()
	if !index.Visible(v, v.ClientAt(ip("10.244.0.2")), "shared") || !index.Visible(v, index.Client{}, "shared") {
		t.Error("without the option a namespace is hidden")
	}
}

// TestVisibleDoesNotAllocate: the query path's checks allocate nothing.
func TestVisibleDoesNotAllocate(t *testing.T) {
	ix := liveVisibilityIndex(t, &index.Visibility{})
	v := ix.View()
	// A slice of a query name longer than the 32 bytes the runtime
	// converts on the stack.
	ns, long := []byte("shared"), []byte("a-namespace-with-a-name-of-forty-bytes-x")
	other := index.PodClient(string(long[:39]))
	allocs := testing.AllocsPerRun(100, func() {
		c := v.ClientAt(ip("10.244.0.1"))
		if !index.Visible(v, c, ns) || !index.Visible(v, c, "shared") || !index.Visible(v, c, []byte("a")) {
			t.Fatal("not visible")
		}
		if index.Visible(v, c, long) || index.Visible(v, other, long) {
			t.Fatal("an unknown namespace visible")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per check", allocs)
	}
}

// TestVisibilityComputedPerPublish: who sees what is recomputed when a
// view is published, once for all the changes since the last one, not at
// every change (an initial list applies thousands of namespaces one event
// at a time): a malformed annotation is found only then.
func TestVisibilityComputedPerPublish(t *testing.T) {
	reports := 0
	ix := liveVisibilityIndex(t, &index.Visibility{BadSelector: func(string, string, error) { reports++ }})
	for i := range 100 {
		ix.ApplyDeferred(nsChange("shared", nil, "team in a"), nsChange("b", map[string]string{"n": string(rune('a' + i%26))}, ""))
	}
	if reports != 0 {
		t.Fatalf("visibility computed %d times before the publish", reports)
	}
	index.PublishPending(ix)
	v := ix.View()
	if reports != 1 || index.Visible(v, v.ClientAt(ip("10.244.0.1")), "shared") {
		t.Errorf("after the publish: %d reports, shared visible %v", reports, index.Visible(v, v.ClientAt(ip("10.244.0.1")), "shared"))
	}
}

// TestNamespaceNumberReused: a service entry names its namespace by a
// number that the next new namespace may take once the old one is gone;
// the new namespace must not inherit what was exported, and a namespace
// that stays keeps what it had while others come and go.
func TestNamespaceNumberReused(t *testing.T) {
	ix := liveVisibilityIndex(t, &index.Visibility{})
	service := func(ns, name string) index.Change {
		return svcChange((&object.Service{Meta: object.Meta{Name: name, Namespace: ns}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{ip("10.96.0.1")}))
	}
	ix.Apply(service("shared", "web"), service("b", "api"))
	seesService := func(key string) bool {
		v := ix.View()
		return v.VisibleService(v.ClientAt(ip("10.244.0.1")), v.Service([]byte(key)))
	}
	if !seesService("web.shared") || seesService("api.b") {
		t.Fatalf("before: a sees shared's service %v (want true), b's %v (want false)", seesService("web.shared"), seesService("api.b"))
	}
	ix.Apply(index.Change{Kind: object.KindService, Namespace: "shared", Name: "web"},
		index.Change{Kind: object.KindNamespace, Name: "shared"})
	for i := range 3 {
		ns := string(rune('p' + i))
		ix.Apply(nsChange(ns, nil, ""), service(ns, "db"))
		v := ix.View()
		if seesService("db."+ns) || index.Visible(v, v.ClientAt(ip("10.244.0.1")), ns) {
			t.Errorf("a sees new namespace %s, exported to no one", ns)
		}
	}
	ix.Apply(nsChange("shared", nil, "team=a"), service("shared", "web"))
	if !seesService("web.shared") || seesService("api.b") {
		t.Errorf("shared back: a sees it %v (want true), b's service %v (want false)", seesService("web.shared"), seesService("api.b"))
	}
}
