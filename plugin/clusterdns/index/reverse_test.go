package index

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"unsafe"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// TestReverseTableModel checks the reverse table against a map of
// address to names through random adds and removes, published at random:
// every published version keeps answering as it did when published, an
// IPv4 address and its IPv4-mapped IPv6 form stay apart, and names keep
// the order they were added in.
func TestReverseTableModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 16))
	var addrs []netip.Addr
	for i := range 40 {
		v4 := netip.AddrFrom4([4]byte{10, 0, byte(i % 3), byte(i)})
		addrs = append(addrs, v4, netip.AddrFrom16(v4.As16()), netip.AddrFrom16([16]byte{0xfd, 14: byte(i % 3), 15: byte(i)}))
	}
	w := newReverseWriter()
	model := map[netip.Addr][]string{}
	type published struct {
		table reverseTable
		model map[netip.Addr][]string
	}
	var versions []published
	for step := range 5000 {
		a := addrs[rng.IntN(len(addrs))]
		if names := model[a]; len(names) > 0 && rng.IntN(3) == 0 {
			name := names[rng.IntN(len(names))]
			cut := rng.IntN(len(name) + 1)
			w.remove(a, name[:cut], name[cut:])
			model[a] = slices.Delete(slices.Clone(names), slices.Index(names, name), slices.Index(names, name)+1)
		} else {
			name := fmt.Sprintf("n%d.svc.ns", rng.IntN(8))
			if slices.Contains(model[a], name) {
				continue // the index adds a name to an address once
			}
			w.add(a, name)
			model[a] = append(slices.Clone(model[a]), name)
		}
		if rng.IntN(20) == 0 {
			cp := map[netip.Addr][]string{}
			for k, v := range model {
				cp[k] = v
			}
			versions = append(versions, published{w.publish(), cp})
		}
		for _, a := range addrs {
			if got := w.get(a); !slices.Equal(got, model[a]) {
				t.Fatalf("step %d: names of %s = %v, want %v", step, a, got, model[a])
			}
		}
	}
	for n, v := range versions {
		for _, a := range addrs {
			if got := v.table.names(a); !slices.Equal(got, v.model[a]) {
				t.Fatalf("version %d: names of %s = %v, want %v as published", n, a, got, v.model[a])
			}
		}
	}
}

// TestReverseTableDoubles grows a table past several doublings of its
// shards, publishing on the way: every version keeps answering as it did,
// the names of an address keep their order through a doubling, and the
// shards stay within reverseShardMax entries on average.
func TestReverseTableDoubles(t *testing.T) {
	const n = 5 * reverseShardMax << reverseMinBits // doubles three times
	w := newReverseWriter()
	type published struct {
		table reverseTable
		added int
	}
	var versions []published
	names := func(i int) []string { return []string{fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)} }
	for i := range n / 2 {
		// Addresses 16 apart, IPv6 among them, each with two names.
		a := netip.AddrFrom4([4]byte{10, byte(i >> 12), byte(i >> 4), byte(i << 4)})
		if i%5 == 0 {
			a = netip.AddrFrom16([16]byte{0xfd, 12: byte(i >> 16), 13: byte(i >> 8), 14: byte(i)})
		}
		for _, name := range names(i) {
			w.add(a, name)
		}
		if i%4000 == 0 {
			versions = append(versions, published{w.publish(), i + 1})
		}
	}
	versions = append(versions, published{w.publish(), n / 2})
	last := versions[len(versions)-1].table
	if got, want := last.shardCount(), 8<<reverseMinBits; got != want {
		t.Errorf("%d shards for %d entries, want %d", got, n, want)
	}
	for _, v := range versions {
		for i := range n / 2 {
			a := netip.AddrFrom4([4]byte{10, byte(i >> 12), byte(i >> 4), byte(i << 4)})
			if i%5 == 0 {
				a = netip.AddrFrom16([16]byte{0xfd, 12: byte(i >> 16), 13: byte(i >> 8), 14: byte(i)})
			}
			var want []string
			if i < v.added {
				want = names(i)
			}
			if got := v.table.names(a); !slices.Equal(got, want) {
				t.Fatalf("version of %d addresses (%d shards): names of %s = %v, want %v", v.added, v.table.shardCount(), a, got, want)
			}
		}
	}
	for i := range uint64(last.shardCount()) {
		if s := last.shard(i); !slices.IsSortedFunc(s.addrs, compareReverseKeys) {
			t.Fatalf("shard %d is out of order", i)
		}
	}
}

// TestReverseNamesAllocateNothing guards the query path.
func TestReverseNamesAllocateNothing(t *testing.T) {
	w := newReverseWriter()
	v4, v6 := netip.MustParseAddr("10.96.0.10"), netip.MustParseAddr("fd00::10")
	w.add(v4, "web.prod")
	w.add(v6, "web.prod")
	table := w.publish()
	if n := testing.AllocsPerRun(100, func() {
		_ = table.names(v4)
		_ = table.names(v6)
	}); n != 0 {
		t.Fatalf("%.0f allocations a lookup, want 0", n)
	}
}

// TestClusterIPNameIsTheKey checks that a cluster IP's reverse name is the
// service's key string, not a copy of it: one string for every table.
func TestClusterIPNameIsTheKey(t *testing.T) {
	ix := New(Options{})
	ix.Apply(Change{Kind: object.KindService, Namespace: "prod", Name: "web",
		Object: (&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{netip.MustParseAddr("10.96.0.1")})})
	ix.Synced()
	v := ix.View()
	names := v.ReverseNames(netip.MustParseAddr("10.96.0.1"))
	if len(names) != 1 {
		t.Fatalf("reverse names %v, want one", names)
	}
	for key := range ix.cluster.services {
		if key == names[0] {
			if unsafe.StringData(key) != unsafe.StringData(names[0]) {
				t.Errorf("the reverse name %q is a copy of the service's key", names[0])
			}
			return
		}
	}
	t.Errorf("no service keyed %q", names[0])
}
