package index_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// TestPodRelist: a relist streamed into the index keeps every pod
// answering while it arrives, drops at its end the pods it did not
// deliver, and counts as changes only the pods it changed.
func TestPodRelist(t *testing.T) {
	ix := index.New(index.Options{Pods: true})
	ix.Apply(podChange("a", "kept", ip("10.0.0.1")), podChange("a", "moved", ip("10.0.0.2")), podChange("b", "gone", ip("10.0.0.3")))
	ix.Synced()
	before := ix.Generation()

	ix.BeginPodRelist()
	ix.ApplyDeferred(podChange("a", "kept", ip("10.0.0.1")), podChange("a", "moved", ip("10.0.0.4")))
	if got := ix.Generation() - before; got != 1 {
		t.Errorf("the relist so far changed %d pods, want 1 (kept is delivered as it was)", got)
	}
	// Yet both count for the publisher's burst: the release of a relist's
	// garbage after it (the API source's) follows a relist of unchanged
	// pods too.
	if got := index.PublishPending(ix); got != 2 {
		t.Errorf("the publisher counted %d changes of the relist so far, want 2 (every pod delivered)", got)
	}
	v := ix.View()
	if _, _, ok := v.PodAt(ip("10.0.0.3")); !ok {
		t.Error("a pod not delivered yet stopped answering before the relist ended")
	}
	if _, _, ok := v.PodAt(ip("10.0.0.2")); ok {
		t.Error("a pod delivered at a new address still answers at its old one")
	}

	if n := ix.EndPodRelist(); n != 1 {
		t.Errorf("EndPodRelist deleted %d pods, want 1", n)
	}
	ix.Apply()
	v = ix.View()
	if _, _, ok := v.PodAt(ip("10.0.0.3")); ok {
		t.Error("a pod the relist did not deliver survived it")
	}
	for _, a := range []string{"10.0.0.1", "10.0.0.4"} {
		if _, _, ok := v.PodAt(ip(a)); !ok {
			t.Errorf("delivered pod at %s lost at the end of the relist", a)
		}
	}
	if got := ix.Generation() - before; got != 2 {
		t.Errorf("the relist changed %d pods, want 2 (moved, gone)", got)
	}
	if n := ix.EndPodRelist(); n != 0 {
		t.Errorf("EndPodRelist without a relist deleted %d pods", n)
	}

	// A relist cut off and begun again forgets what the first delivered.
	ix.BeginPodRelist()
	ix.ApplyDeferred(podChange("a", "kept", ip("10.0.0.1")))
	ix.BeginPodRelist()
	ix.ApplyDeferred(podChange("a", "moved", ip("10.0.0.4")))
	if n := ix.EndPodRelist(); n != 1 {
		t.Errorf("a restarted relist deleted %d pods, want 1 (kept, delivered only before the restart)", n)
	}
	if got := ix.Counts()[object.KindPod]; got != 1 {
		t.Errorf("%d pods after the restarted relist, want 1", got)
	}
}

// TestPodRelistDeletesWhatItDidNotDeliver: at its end, a relist deletes
// every pod it did not deliver and keeps every one it did, however the
// deletions move the others in the writer's table of names.
func TestPodRelistDeletesWhatItDidNotDeliver(t *testing.T) {
	const n = 3000
	ix := index.New(index.Options{Pods: true})
	all := make([]index.Change, n)
	for i := range all {
		all[i] = podChange("ns", fmt.Sprintf("p%d", i), netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}))
	}
	ix.Apply(all...)
	ix.Synced()

	ix.BeginPodRelist()
	for i := 0; i < n; i += 2 {
		ix.ApplyDeferred(all[i])
	}
	if got := ix.EndPodRelist(); got != n/2 {
		t.Errorf("a relist of every other pod deleted %d, want %d", got, n/2)
	}
	for i, c := range all {
		if o, _ := ix.Object(object.KindPod, c.Namespace, c.Name); (o != nil) != (i%2 == 0) {
			t.Fatalf("pod %s after a relist of every other pod: %v", c.Name, o)
		}
	}
	ix.BeginPodRelist()
	if got := ix.EndPodRelist(); got != n/2 {
		t.Errorf("a relist of no pod deleted %d, want %d", got, n/2)
	}
	if got := ix.Counts()[object.KindPod]; got != 0 {
		t.Errorf("%d pods after a relist of none", got)
	}
}
