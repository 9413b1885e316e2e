package index_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// maxPodBytes bounds the live heap one pod costs the index (`pods
// verified`), measured at 150k single-stack pods with Deployment-like
// 24-character names in 50 namespaces. The collector keeps about as much
// headroom as there is live heap, so each byte here is about two of RSS.
// It was 392 bytes with a map of *object.Pod and per-address slices of
// name strings; the pod table measures 103.
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

// podModel is what the pod table must answer, kept the simple way: the
// pods by namespace/name and, per address, the pods at it in the order
// they were indexed (a pod whose addresses change is indexed anew).
type podModel struct {
	pods      map[podKey]modelPod
	at        map[netip.Addr][]podKey
	delivered map[podKey]bool // nil outside a relist
}

type podKey struct{ namespace, name string }

type modelPod struct {
	ips []netip.Addr
	rv  string
}

// apply applies one change and tells whether it changed the table.
func (m *podModel) apply(k podKey, pod *object.Pod) bool {
	if m.delivered != nil && pod != nil {
		m.delivered[k] = true
	}
	old, had := m.pods[k]
	if !had && pod == nil || had && pod != nil && slices.Equal(old.ips, pod.IPs) {
		return false
	}
	for _, a := range old.ips {
		m.at[a] = slices.DeleteFunc(m.at[a], func(o podKey) bool { return o == k })
		if len(m.at[a]) == 0 {
			delete(m.at, a)
		}
	}
	delete(m.pods, k)
	if pod != nil {
		m.pods[k] = modelPod{ips: pod.IPs, rv: pod.ResourceVersion}
		for _, a := range pod.IPs {
			m.at[a] = append(m.at[a], k)
		}
	}
	return true
}

// TestPodTableModel drives the pod table and the model through the same
// random adds, updates, deletes and relists, with addresses shared by
// several pods, dual-stack pods and names of every length, and compares
// every answer after each batch. Views published earlier must keep their
// answers, and the name arena must stay within twice what its pods hold.
func TestPodTableModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 150_000))
	addrs := make([]netip.Addr, 0, 96)
	for i := range 64 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, 0, byte(i % 3), byte(i)}))
	}
	for i := range 32 {
		addrs = append(addrs, netip.AddrFrom16([16]byte{0xfd, 0, 14: byte(i % 2), 15: byte(i)}))
	}
	namespaces := []string{"a", "kube-system", strings.Repeat("n", 63), "ns-04", "x"}
	keys := make([]podKey, 300)
	for i := range keys {
		name := fmt.Sprintf("p%d-", i) + strings.Repeat("z", rng.IntN(600))
		keys[i] = podKey{namespaces[rng.IntN(len(namespaces))], name}
	}
	randomPod := func(k podKey) *object.Pod {
		var ips []netip.Addr
		switch n := rng.IntN(10); {
		case n == 0: // pending: no address yet
		case n < 7:
			ips = []netip.Addr{addrs[rng.IntN(64)]}
		case n < 9:
			ips = []netip.Addr{addrs[rng.IntN(64)], addrs[64+rng.IntN(32)]}
		default:
			ips = []netip.Addr{addrs[64+rng.IntN(32)]}
		}
		return &object.Pod{Meta: object.Meta{Namespace: k.namespace, Name: k.name, ResourceVersion: fmt.Sprint(rng.Uint64N(1e12))}, IPs: ips}
	}

	ix := index.New(index.Options{Pods: true, Visibility: &index.Visibility{}})
	ix.Synced()
	m := &podModel{pods: map[podKey]modelPod{}, at: map[netip.Addr][]podKey{}}
	type oldView struct {
		v  *index.View
		at map[netip.Addr][]podKey
	}
	var old []oldView
	for round := range 1000 {
		switch r := rng.IntN(40); {
		case r == 0:
			ix.BeginPodRelist()
			m.delivered = map[podKey]bool{}
		case r == 1:
			var gone []podKey
			if m.delivered != nil {
				for k := range m.pods {
					if !m.delivered[k] {
						gone = append(gone, k)
					}
				}
			}
			m.delivered = nil
			if n := ix.EndPodRelist(); n != len(gone) {
				t.Fatalf("round %d: EndPodRelist deleted %d pods, want %d", round, n, len(gone))
			}
			for _, k := range gone {
				m.apply(k, nil)
			}
			index.PublishPending(ix)
		default:
			batch := make([]index.Change, 1+rng.IntN(20))
			before := ix.Generation()
			changed := 0
			for i := range batch {
				k := keys[rng.IntN(len(keys))]
				var pod *object.Pod
				switch n := rng.IntN(10); {
				case n < 4:
					pod = randomPod(k)
				case n < 7: // delivered again as it is, with a new resourceVersion
					if p, ok := m.pods[k]; ok {
						pod = &object.Pod{Meta: object.Meta{Namespace: k.namespace, Name: k.name, ResourceVersion: "7"}, IPs: slices.Clone(p.ips)}
					}
				}
				batch[i] = index.Change{Kind: object.KindPod, Namespace: k.namespace, Name: k.name}
				if pod != nil {
					batch[i].Object = pod
				}
				if m.apply(k, pod) {
					changed++
				}
			}
			if rng.IntN(2) == 0 {
				ix.Apply(batch...)
			} else {
				ix.ApplyDeferred(batch...)
				index.PublishPending(ix)
			}
			if got := ix.Generation() - before; got != uint64(changed) {
				t.Fatalf("round %d: the generation moved by %d, want %d (one per pod changed)", round, got, changed)
			}
		}
		v := ix.View()
		checkPodView(t, fmt.Sprintf("round %d", round), v, m.at, addrs, namespaces)
		checkPodObjects(t, round, ix, m)
		if rng.IntN(20) == 0 {
			at := maps.Clone(m.at)
			for a, ks := range at {
				at[a] = slices.Clone(ks)
			}
			old = append(old, oldView{v, at})
		}
		size, compactAt := index.PodArenaBytes(ix)
		live, seen := 0, map[string]bool{}
		for k := range m.pods {
			live += len(k.name)
			if !seen[k.namespace] {
				live += len(k.namespace)
				seen[k.namespace] = true
			}
		}
		if size > max(2*live, live+compactAt) {
			t.Fatalf("round %d: the name arena holds %d bytes for %d live", round, size, live)
		}
	}
	for i, o := range old {
		checkPodView(t, fmt.Sprintf("view %d kept", i), o.v, o.at, addrs, namespaces)
	}
}

// checkPodView compares a view's answers for every address with the
// pods the model had there.
func checkPodView(t *testing.T, when string, v *index.View, at map[netip.Addr][]podKey, addrs []netip.Addr, namespaces []string) {
	t.Helper()
	for _, a := range addrs {
		want := at[a]
		ns, name, ok := v.PodAt(a)
		if ok != (len(want) > 0) || ok && (podKey{ns, name}) != want[0] {
			t.Fatalf("%s: PodAt(%s) = %s/%s %v, want the first of %v", when, a, ns, name, ok, want)
		}
		for _, n := range namespaces {
			in := slices.ContainsFunc(want, func(k podKey) bool { return k.namespace == n })
			if got := v.PodInNamespace(a, []byte(n)); got != in {
				t.Fatalf("%s: PodInNamespace(%s, %s) = %v, want %v", when, a, n, got, in)
			}
			// A client's namespace is its pods' when they all agree.
			one := len(want) > 0 && !slices.ContainsFunc(want, func(k podKey) bool { return k.namespace != n })
			if got := index.Visible(v, v.ClientAt(a), n); !one && got {
				t.Fatalf("%s: the client at %s sees namespace %s, which exports nothing, with pods %v there", when, a, n, want)
			} else if one && !got {
				t.Fatalf("%s: the client at %s does not see its own namespace %s", when, a, n)
			}
		}
	}
}

// checkPodObjects compares the index's pods as objects with the model's.
func checkPodObjects(t *testing.T, round int, ix *index.Index, m *podModel) {
	t.Helper()
	if got := ix.Counts()[object.KindPod]; got != len(m.pods) {
		t.Fatalf("round %d: %d pods counted, want %d", round, got, len(m.pods))
	}
	objs, _ := objectsOf(ix)
	if len(objs) != len(m.pods) {
		t.Fatalf("round %d: Objects holds %d pods, want %d", round, len(objs), len(m.pods))
	}
	for _, c := range objs {
		k := podKey{c.Namespace, c.Name}
		want, ok := m.pods[k]
		pod := ix.Pod(k.namespace, k.name)
		if !ok || pod == nil || pod.Namespace != k.namespace || pod.Name != k.name ||
			!slices.Equal(pod.IPs, want.ips) || pod.ResourceVersion != want.rv || !reflect.DeepEqual(c.Object, pod) {
			t.Fatalf("round %d: pod %v is %+v in the index (Objects: %+v), want %+v", round, k, pod, c.Object, want)
		}
	}
}

// TestPodLookupsDoNotAllocate: the query path's pod lookups allocate
// nothing, for either family and for an address several pods share.
func TestPodLookupsDoNotAllocate(t *testing.T) {
	ix := index.New(index.Options{Pods: true})
	ix.Apply(podChange("a", "web-0", ip("10.244.0.1"), ip("fd00::1")),
		podChange("kube-system", "node-agent", ip("10.0.0.9")), podChange("monitoring", "node-exporter", ip("10.0.0.9")))
	ix.Synced()
	v := ix.View()
	ns := []byte("monitoring")
	allocs := testing.AllocsPerRun(100, func() {
		for _, a := range []netip.Addr{ip("10.244.0.1"), ip("fd00::1"), ip("10.0.0.9")} {
			if _, name, ok := v.PodAt(a); !ok || name == "" {
				t.Fatalf("no pod at %s", a)
			}
		}
		if !v.PodInNamespace(ip("10.0.0.9"), ns) || v.PodInNamespace(ip("fd00::1"), ns) {
			t.Fatal("PodInNamespace is wrong")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per lookup", allocs)
	}
}

// BenchmarkPodAt is the query path's pod lookup (pods verified, metadata,
// autopath, visibility) at 150k pods.
func BenchmarkPodAt(b *testing.B) {
	const pods = 150_000
	ix := index.New(index.Options{Pods: true})
	changes := make([]index.Change, pods)
	for i := range changes {
		changes[i] = scalePod(i)
	}
	ix.Apply(changes...)
	ix.Synced()
	v := ix.View()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, _, ok := v.PodAt(addrN(n * 7919 % pods)); !ok {
			b.Fatal("no pod")
		}
		n++
	}
}

// TestPodTableConcurrentReaders reads views while a writer changes pods
// and compacts the name arena under them. A reader keeps each view for a
// while and reads it again and again: it must answer the same each time,
// and with -race, a write to anything a published view reads fails.
func TestPodTableConcurrentReaders(t *testing.T) {
	ix := index.New(index.Options{Pods: true})
	ix.Synced()
	long := strings.Repeat("z", 200)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for round := range 2000 {
			// The pod of this round replaces, at its address, the one
			// of 50 rounds ago: the names of deleted pods fill the
			// arena, and compaction empties it.
			ix.Apply(podChange("ns", fmt.Sprintf("p%d-%s", round, long), addrN(round%50)),
				index.Change{Kind: object.KindPod, Namespace: "ns", Name: fmt.Sprintf("p%d-%s", round-50, long)})
		}
	}()
	var first [50]string
	for {
		select {
		case <-done:
			return
		default:
		}
		v := ix.View()
		for pass := range 20 {
			for i := range first {
				_, name, _ := v.PodAt(addrN(i))
				if pass == 0 {
					first[i] = strings.Clone(name)
				} else if name != first[i] {
					t.Fatalf("a published view changed: the pod at %s was %.20q, is %.20q", addrN(i), first[i], name)
				}
			}
		}
	}
}
