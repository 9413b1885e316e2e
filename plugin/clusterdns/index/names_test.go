package index_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// TestNames checks that Names lists, per kind, what Object finds: each
// object once, a multi-cluster slice among the slices, pods not at all.
func TestNames(t *testing.T) {
	ix := index.New(index.Options{Multicluster: true, Pods: true})
	ix.Apply(
		svcChange((&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{ip("10.96.0.10")})),
		sliceChange(&object.EndpointSlice{Meta: object.Meta{Name: "web-1", Namespace: "prod"}, ServiceName: "web"}),
		importChange(&object.ServiceImport{Meta: object.Meta{Name: "db", Namespace: "prod"}, Type: object.Headless}),
		sliceChange(mcSlice("db-a", "db", "cluster-a")),
		nsChange("prod", nil, ""),
		index.Change{Kind: object.KindPod, Namespace: "prod", Name: "p", Object: &object.Pod{Meta: object.Meta{Name: "p", Namespace: "prod"}, IPs: []netip.Addr{ip("10.0.0.1")}}},
	)
	names := func(kind object.Kind) []string {
		var out []string
		ix.Names(kind, func(namespace, name string) { out = append(out, namespace+"/"+name) })
		slices.Sort(out)
		return out
	}
	for kind, want := range map[object.Kind][]string{
		object.KindService:       {"prod/web"},
		object.KindEndpointSlice: {"prod/db-a", "prod/web-1"},
		object.KindServiceImport: {"prod/db"},
		object.KindNamespace:     {"/prod"},
		object.KindPod:           nil,
	} {
		if got := names(kind); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", kind, got, want)
		}
		for _, key := range want {
			ns, name, _ := strings.Cut(key, "/")
			if obj, _ := ix.Object(kind, ns, name); obj == nil {
				t.Errorf("%s %s listed, not found", kind, key)
			}
		}
	}
}
