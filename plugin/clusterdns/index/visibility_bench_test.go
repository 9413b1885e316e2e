package index_test

import (
	"fmt"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
)

// BenchmarkVisibilityUpdate is the writer's cost of a namespace change
// under the visibility option, publish included, among 2,000 namespaces:
// every tenth exports itself to those labelled tier=front, which half are
// (each of those sees 200 exporters). Each iteration changes one namespace
// and back: its label so that its sight gains or loses 200 namespaces;
// another label, which changes no sight; an exporter's annotation, which
// changes its bit in 1,000 sights.
func BenchmarkVisibilityUpdate(b *testing.B) {
	const names = 2000
	front := map[string]string{"tier": "front"}
	ns := func(n int, lbls map[string]string, visibleTo string) index.Change {
		if n%10 == 0 && visibleTo == "" {
			visibleTo = "tier=front"
		}
		return nsChange(fmt.Sprintf("ns-%d", n), lbls, visibleTo)
	}
	for _, bc := range []struct {
		name       string
		there, bak index.Change
	}{
		{name: "sight flips", there: ns(1, nil, ""), bak: ns(1, front, "")},
		{name: "nothing flips", there: ns(1, map[string]string{"tier": "front", "team": "a"}, ""), bak: ns(1, front, "")},
		{name: "exporter flips", there: ns(10, nil, "tier=back"), bak: ns(10, nil, "")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ix := index.New(index.Options{Pods: true, Visibility: &index.Visibility{}})
			var cs []index.Change
			for n := range names {
				var lbls map[string]string
				if n%2 == 1 {
					lbls = front
				}
				cs = append(cs, ns(n, lbls, ""))
			}
			ix.Apply(cs...)
			ix.Synced()
			b.ReportAllocs()
			for b.Loop() {
				ix.Apply(bc.there)
				ix.Apply(bc.bak)
			}
		})
	}
}
