package index_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// closed tells whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestViewReplacedOnlyWhenItChanges(t *testing.T) {
	ix := index.New(index.Options{})
	first := ix.Replaced(nil)
	if closed(first) {
		t.Fatal("Replaced(nil) is closed before any view is published")
	}
	ix.Synced()
	if !closed(first) {
		t.Fatal("Replaced(nil) is not closed once the first view is published")
	}

	web := func(ip string, labels map[string]string) *object.Service {
		return (&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod", Labels: labels}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{netip.MustParseAddr(ip)})
	}
	ix.Apply(svcChange(web("10.96.0.10", nil)))
	for _, tc := range []struct {
		name    string
		changes []index.Change
	}{
		{name: "same service again", changes: []index.Change{svcChange(web("10.96.0.10", nil))}},
		{name: "label DNS does not show", changes: []index.Change{svcChange(web("10.96.0.10", map[string]string{"a": "b"}))}},
		{name: "pod without pods verified", changes: []index.Change{{Kind: object.KindPod, Namespace: "prod", Name: "p",
			Object: &object.Pod{Meta: object.Meta{Name: "p", Namespace: "prod"}, IPs: []netip.Addr{ip("10.244.0.1")}}}}},
		{name: "namespace that already exists", changes: []index.Change{{Kind: object.KindNamespace, Name: "prod",
			Object: &object.Namespace{Meta: object.Meta{Name: "prod"}}}}},
		{name: "slice of an unknown service deleted", changes: []index.Change{deleted(object.KindEndpointSlice, "prod", "nope")}},
		{name: "empty batch", changes: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			served := ix.View()
			ix.Apply(tc.changes...)
			if got := ix.View(); got != served {
				t.Fatalf("a batch that changes nothing DNS shows published a new view (serial %d -> %d)", served.Serial(), got.Serial())
			}
			if closed(ix.Replaced(served)) {
				t.Fatal("Replaced is closed though the view was not replaced")
			}
		})
	}
	served := ix.View()
	ix.Synced() // a second sync with nothing new
	if ix.View() != served {
		t.Fatal("Synced without changes published a new view")
	}
}

func TestSerialMovesWithEveryChange(t *testing.T) {
	ix := index.New(index.Options{})
	ix.Synced()
	prev := ix.View()
	if prev.Serial() == 0 {
		t.Fatal("the first view has serial 0")
	}
	// Many changes within one second: each view's serial is past the last.
	for i := range 5 {
		ix.Apply(svcChange((&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{netip.AddrFrom4([4]byte{10, 96, 0, byte(i)})})))
		v := ix.View()
		if v == prev || int32(v.Serial()-prev.Serial()) <= 0 {
			t.Fatalf("change %d: serial %d -> %d, want it to move forward", i, prev.Serial(), v.Serial())
		}
		if !closed(ix.Replaced(prev)) {
			t.Fatalf("change %d: Replaced of the old view is not closed", i)
		}
		prev = v
	}
	ix.Apply(deleted(object.KindService, "prod", "web"))
	if v := ix.View(); int32(v.Serial()-prev.Serial()) <= 0 {
		t.Fatalf("delete: serial %d -> %d, want it to move forward", prev.Serial(), v.Serial())
	}
}

func TestServicesInTransferOrder(t *testing.T) {
	ix := index.New(index.Options{})
	var cs []index.Change
	for _, k := range [][2]string{{"web", "prod"}, {"api", "staging"}, {"web", "dev"}, {"api", "prod"}, {"db", "prod"}} {
		cs = append(cs, svcChange(&object.Service{Meta: object.Meta{Name: k[0], Namespace: k[1]}, Type: object.Headless}))
	}
	ix.Replace(cs)
	var got []string
	for _, s := range ix.View().Services() {
		got = append(got, s.Name+"."+s.Namespace)
	}
	want := []string{"api.prod", "api.staging", "db.prod", "web.dev", "web.prod"}
	if !slices.Equal(got, want) {
		t.Fatalf("Services() = %v, want %v", got, want)
	}
}

func TestReplaceWithTheSameObjectsKeepsTheView(t *testing.T) {
	objects := func(clusterIP string) []index.Change {
		return []index.Change{
			{Kind: object.KindNamespace, Name: "prod", Object: &object.Namespace{Meta: object.Meta{Name: "prod"}}},
			svcChange((&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{ip(clusterIP)})),
			sliceChange(&object.EndpointSlice{Meta: object.Meta{Name: "web-1", Namespace: "prod"}, ServiceName: "web",
				Endpoints: []object.Endpoint{{Addresses: []netip.Addr{ip("10.244.0.1")}, Ready: true}}}),
		}
	}
	ix := index.New(index.Options{})
	ix.Replace(objects("10.96.0.10"))
	served := ix.View()
	ix.Replace(objects("10.96.0.10")) // a manifests file reloaded, same objects
	if ix.View() != served {
		t.Fatal("Replace with the same objects published a new view")
	}
	ix.Replace(objects("10.96.0.11"))
	if v := ix.View(); v == served || int32(v.Serial()-served.Serial()) <= 0 {
		t.Fatal("Replace with a changed object kept the view")
	}
}
