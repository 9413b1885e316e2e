package index_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// maxPodBytes bounds the live heap one pod costs the index (`pods
// verified`), measured at 150k single-stack pods with Deployment-like
// 24-character names in 50 namespaces. The collector keeps about as much
// headroom as there is live heap, so each byte here is about two of RSS.
// It was 389 bytes with a map of *object.Pod and per-address slices of
// name strings; the pod table measures about 100.
const maxPodBytes = 120

// TestPodBytes measures the live heap of 150k indexed pods. The changes
// are made and applied in batches, so the test holds none of them when it
// measures: what is left is what the index keeps.
func TestPodBytes(t *testing.T) {
	const pods, batch = 150_000, 1000
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ix := index.New(index.Options{Pods: true})
	for first := 0; first < pods; first += batch {
		changes := make([]index.Change, batch)
		for i := range changes {
			changes[i] = scalePod(first + i)
		}
		ix.Apply(changes...)
	}
	ix.Synced()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := ix.Counts()[object.KindPod]; n != pods {
		t.Fatalf("%d pods indexed, want %d", n, pods)
	}
	if _, _, ok := ix.View().PodAt(addrN(pods - 1)); !ok {
		t.Fatal("the last pod does not answer")
	}
	perPod := float64(after.HeapAlloc-before.HeapAlloc) / pods
	t.Logf("%.1f bytes of live heap per pod", perPod)
	if perPod > maxPodBytes {
		t.Errorf("%.1f bytes of live heap per pod, want at most %d", perPod, maxPodBytes)
	}
	runtime.KeepAlive(ix)
}

// scalePod is the n-th pod of a big cluster: a Deployment's pod name (24
// characters: the Deployment's, its ReplicaSet's hash, a suffix), in one
// of 50 namespaces, at the n-th address of 10.0.0.0/8.
func scalePod(n int) index.Change {
	ns := fmt.Sprintf("ns-%02d", n%50)
	name := fmt.Sprintf("app-%03d-%010x-%05d", n%1000, uint64(n)*2654435761%(1<<40), n%100000)
	return index.Change{Kind: object.KindPod, Namespace: ns, Name: name,
		Object: &object.Pod{Meta: object.Meta{Name: name, Namespace: ns, ResourceVersion: fmt.Sprint(1000 + n)},
			IPs: []netip.Addr{addrN(n)}}}
}
