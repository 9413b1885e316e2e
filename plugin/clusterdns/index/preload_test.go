package index_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// TestPreload: a saved view serves until the source syncs, the source's
// changes stay unseen until then, and the sync replaces the saved view
// whole: what was deleted while it was on disk is gone.
func TestPreload(t *testing.T) {
	ix := index.New(index.Options{Pods: true})
	web := (&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{ip("10.96.0.1")})
	gone := (&object.Service{Meta: object.Meta{Name: "gone", Namespace: "prod"}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{ip("10.96.0.2")})
	ix.Preload([]index.Change{svcChange(web), svcChange(gone)})
	if ix.Live() {
		t.Fatal("preloaded index says it is live")
	}
	snap := ix.View()
	if snap == nil || snap.Service([]byte("web.prod")) == nil || snap.Service([]byte("gone.prod")) == nil {
		t.Fatal("Preload does not serve the saved objects")
	}
	if got, _ := objectsOf(ix); len(got) != 0 {
		t.Errorf("Objects after Preload: %d, want none (the saved view is not the source's)", len(got))
	}

	// The source lists: web moved, gone deleted, new added.
	moved := (&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{ip("10.96.0.3")})
	added := &object.Service{Meta: object.Meta{Name: "new", Namespace: "prod"}, Type: object.Headless}
	ix.ApplyDeferred(svcChange(moved), svcChange(added))
	if s := ix.View(); s != snap || s.Service([]byte("new.prod")) != nil {
		t.Fatal("the source's changes are served before it synced")
	}
	ix.Synced()
	if !ix.Live() {
		t.Fatal("not live after Synced")
	}
	s := ix.View()
	if s.Service([]byte("gone.prod")) != nil {
		t.Error("a service only the saved view had survived the sync")
	}
	if got := s.Service([]byte("web.prod")); got == nil || got.ClusterIPs()[0] != ip("10.96.0.3") {
		t.Errorf("web after sync: %+v, want the listed 10.96.0.3", got)
	}
	if len(s.ReverseNames(ip("10.96.0.1"))) != 0 {
		t.Error("the saved view's reverse record survived the sync")
	}
	objs, gen := objectsOf(ix)
	if len(objs) != 2 || gen != 2 {
		t.Errorf("Objects: %d at generation %d, want 2 at 2", len(objs), gen)
	}

	// Once live, a late Preload changes nothing.
	ix.Preload([]index.Change{svcChange(gone)})
	if ix.View() != s {
		t.Error("Preload after Synced replaced the live view")
	}
}

// objectsOf is what Objects returns, as a slice.
func objectsOf(ix *index.Index) ([]index.Change, uint64) {
	_, all, generation := ix.Objects()
	return slices.Collect(all), generation
}

// TestObjectsRoundTrip: what Objects returns rebuilds the same view.
func TestObjectsRoundTrip(t *testing.T) {
	src := indextest.Index(index.Options{Pods: true, EndpointPodNames: true})
	objs, _ := objectsOf(src)
	counts := map[object.Kind]int{}
	for _, c := range objs {
		counts[c.Kind]++
	}
	for kind, n := range src.Counts() {
		if counts[kind] != n {
			t.Errorf("%s: Objects has %d, Counts says %d", kind, counts[kind], n)
		}
	}
	dst := index.New(index.Options{Pods: true, EndpointPodNames: true})
	dst.Replace(objs)
	for kind, n := range src.Counts() {
		if got := dst.Counts()[kind]; got != n {
			t.Errorf("%s: rebuilt index has %d, want %d", kind, got, n)
		}
	}
}

// TestSyncedBeforePods: services are served before the pods are listed,
// with the pods pending (their names SERVFAIL) until Synced; a preloaded
// view's pods serve meanwhile instead, as last known good.
func TestSyncedBeforePods(t *testing.T) {
	web := (&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{addrN(1)})
	pod := func(n int) index.Change {
		p := &object.Pod{Meta: object.Meta{Name: fmt.Sprintf("p%d", n), Namespace: "prod"}, IPs: []netip.Addr{addrN(n)}}
		return index.Change{Kind: object.KindPod, Namespace: "prod", Name: p.Name, Object: p}
	}
	t.Run("cold", func(t *testing.T) {
		ix := index.New(index.Options{Pods: true})
		ix.Apply(svcChange(web))
		ix.SyncedBeforePods()
		if v := ix.View(); v == nil || !ix.Live() || v.Service([]byte("web.prod")) == nil || !v.PodsPending() {
			t.Fatal("SyncedBeforePods does not serve the services live with the pods pending")
		}
		ix.ApplyDeferred(pod(7))
		index.PublishPending(ix)
		if !ix.View().PodsPending() {
			t.Fatal("a pod listed before Synced ended the pending")
		}
		ix.Synced()
		if v := ix.View(); v.PodsPending() || !v.PodInNamespace(addrN(7), []byte("prod")) {
			t.Fatal("after Synced the pods are pending or missing")
		}
	})
	t.Run("preloaded", func(t *testing.T) {
		ix := index.New(index.Options{Pods: true})
		ix.Preload([]index.Change{svcChange(web), pod(8)})
		ix.Apply(svcChange(web))
		ix.SyncedBeforePods()
		if v := ix.View(); v.PodsPending() || !v.PodInNamespace(addrN(8), []byte("prod")) {
			t.Fatal("the preloaded pods do not serve while the live ones are listed")
		}
		ix.Apply(pod(7))
		ix.Synced()
		if v := ix.View(); v.PodInNamespace(addrN(8), []byte("prod")) || !v.PodInNamespace(addrN(7), []byte("prod")) {
			t.Fatal("after Synced the preloaded pods stay or the listed ones are missing")
		}
	})
}

// TestObjectsAtTheirGeneration: Objects says how many objects it yields,
// and yields the pods as they were when it was called, whatever the index
// applies while they are read (a snapshot is written without the lock).
func TestObjectsAtTheirGeneration(t *testing.T) {
	ix := index.New(index.Options{Pods: true})
	ix.Apply(podChange("a", "web-0", ip("10.244.0.1")), podChange("a", "web-1", ip("10.244.0.2")))
	n, all, generation := ix.Objects()
	ix.Apply(index.Change{Kind: object.KindPod, Namespace: "a", Name: "web-0"}, podChange("a", "web-1", ip("10.244.0.3")))
	var got []string
	for c := range all {
		got = append(got, fmt.Sprint(c.Name, c.Object.(*object.Pod).IPs))
	}
	slices.Sort(got)
	if want := []string{"web-0[10.244.0.1]", "web-1[10.244.0.2]"}; n != 2 || generation != 2 || !slices.Equal(got, want) {
		t.Errorf("Objects: %d at generation %d, %q; want 2 at 2, %q", n, generation, got, want)
	}
}
