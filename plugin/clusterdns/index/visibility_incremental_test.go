package index_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	"k8s.io/apimachinery/pkg/labels"
)

// TestVisibilityIncrementalMatchesFull: after every batch of random
// namespace and service changes (labels, annotations good, bad and "*",
// namespaces and services coming and going, numbers freed and given
// again), who sees what equals what an index computing everything afresh
// from the same objects says, for every client namespace, the non-pod
// client and the public one, by name and by service entry.
func TestVisibilityIncrementalMatchesFull(t *testing.T) {
	opts := func() index.Options {
		return index.Options{Pods: true, Visibility: &index.Visibility{Exports: []index.Export{
			{Namespaces: []string{"ns-0"}, All: true},
			{Namespaces: []string{"ns-1", "ns-2"}, To: labels.SelectorFromSet(labels.Set{"team": "a"})},
		}}}
	}
	const names = 12
	rng := rand.New(rand.NewPCG(19, 1))
	values := []string{"", "", "*", "team=a", "team=b", "team in (a, b)", "kubernetes.io/metadata.name=ns-3", "team in a", " "}
	teams := []string{"", "a", "b"}
	objects := map[string]index.Change{} // by kind/namespace/name
	ix := index.New(opts())
	ix.Synced()
	for step := range 300 {
		var batch []index.Change
		for range 1 + rng.IntN(3) {
			ns := fmt.Sprintf("ns-%d", rng.IntN(names))
			var c index.Change
			switch rng.IntN(4) {
			case 0, 1:
				var lbls map[string]string
				if team := teams[rng.IntN(len(teams))]; team != "" {
					lbls = map[string]string{"team": team}
				}
				c = nsChange(ns, lbls, values[rng.IntN(len(values))])
			case 2:
				c = index.Change{Kind: object.KindNamespace, Name: ns}
			case 3:
				c = index.Change{Kind: object.KindService, Namespace: ns, Name: "web"}
				if rng.IntN(2) == 0 {
					c = svcChange((&object.Service{Meta: object.Meta{Name: "web", Namespace: ns}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{ip(fmt.Sprintf("10.96.0.%d", rng.IntN(names)+1))}))
				}
			}
			batch = append(batch, c)
			key := fmt.Sprintf("%s/%s/%s", c.Kind, c.Namespace, c.Name)
			if c.Object == nil {
				delete(objects, key)
			} else {
				objects[key] = c
			}
		}
		ix.Apply(batch...)
		full := index.New(opts())
		var all []index.Change
		for _, c := range objects {
			all = append(all, c)
		}
		full.Replace(all)
		got, want := ix.View(), full.View()
		clients := []index.Client{{}, got.ClientAt(ip("192.0.2.1"))}
		for c := range names {
			clients = append(clients, index.PodClient(fmt.Sprintf("ns-%d", c)))
		}
		for i, client := range clients {
			for n := range names {
				target := fmt.Sprintf("ns-%d", n)
				if g, w := index.Visible(got, client, target), index.Visible(want, client, target); g != w {
					t.Fatalf("step %d: client %d sees %s %v, computed afresh %v", step, i, target, g, w)
				}
				key := []byte("web." + target)
				if svc := got.Service(key); svc != nil {
					if g, w := got.VisibleService(client, svc), want.VisibleService(client, want.Service(key)); g != w {
						t.Fatalf("step %d: client %d sees %s's service %v, computed afresh %v", step, i, target, g, w)
					}
				}
			}
		}
	}
}

// countingSelector is a label selector that counts its matches.
type countingSelector struct {
	labels.Selector
	matches *int
}

func (s countingSelector) Matches(l labels.Labels) bool {
	*s.matches++
	return s.Selector.Matches(l)
}

// TestVisibilityUpdateCostsWhatChanged: a namespace's label change matches
// it against the exporting namespaces' selectors, not every namespace
// against every selector; an exporting namespace's change matches its
// selectors against every namespace, once.
func TestVisibilityUpdateCostsWhatChanged(t *testing.T) {
	matches := 0
	sel := countingSelector{Selector: labels.SelectorFromSet(labels.Set{"team": "a"}), matches: &matches}
	ix := index.New(index.Options{Pods: true, Visibility: &index.Visibility{Exports: []index.Export{{Namespaces: []string{"shared"}, To: sel}}}})
	const names = 200
	var cs []index.Change
	for n := range names {
		cs = append(cs, nsChange(fmt.Sprintf("ns-%d", n), nil, ""))
	}
	ix.Apply(append(cs, nsChange("shared", nil, ""))...)
	ix.Synced()
	if matches < names {
		t.Fatalf("the first computation matched %d namespaces of %d", matches, names)
	}
	matches = 0
	ix.Apply(nsChange("ns-7", map[string]string{"team": "a"}, ""))
	if v := ix.View(); matches != 1 || !index.Visible(v, index.PodClient("ns-7"), "shared") {
		t.Errorf("a label change: %d matches (want 1), ns-7 sees shared %v", matches, index.Visible(v, index.PodClient("ns-7"), "shared"))
	}
	matches = 0
	ix.Apply(nsChange("shared", map[string]string{"team": "b"}, ""))
	if matches != 0 {
		t.Errorf("the exporting namespace's label change: %d matches, want 0", matches)
	}
	matches = 0
	ix.Apply(nsChange("shared", nil, "team=b"), index.Change{Kind: object.KindNamespace, Name: "ns-8"})
	if matches > names+1 {
		t.Errorf("an annotation change and a namespace gone: %d matches, want at most %d", matches, names+1)
	}
}

// TestVisibilityPublishesWhatFlips: a namespace change that changes no one's
// sight (a label no selector reads, an annotation rewritten to match the
// same namespaces) publishes no new view, and so keeps the zone's serial;
// one that does publishes it.
func TestVisibilityPublishesWhatFlips(t *testing.T) {
	ix := index.New(index.Options{Pods: true, Visibility: &index.Visibility{}})
	ix.Apply(nsChange("shared", nil, "team=a"), nsChange("ns-a", map[string]string{"team": "a"}, ""), nsChange("ns-b", map[string]string{"team": "b"}, ""))
	ix.Synced()
	for _, step := range []struct {
		name  string
		c     index.Change
		flips bool
	}{
		{name: "a label no selector reads", c: nsChange("ns-b", map[string]string{"team": "b", "tier": "x"}, "")},
		{name: "the annotation, matching the same", c: nsChange("shared", nil, "team in (a)")},
		{name: "the exporter's own labels", c: nsChange("shared", map[string]string{"team": "a"}, "team in (a)")},
		{name: "a label the selector reads", c: nsChange("ns-b", map[string]string{"team": "a"}, ""), flips: true},
		{name: "the annotation, matching fewer", c: nsChange("shared", nil, "team=a, tier=x"), flips: true},
		{name: "the annotation, matching none again", c: nsChange("shared", nil, "team=c")},
		{name: "to every client", c: nsChange("shared", nil, "*"), flips: true},
	} {
		before := ix.View()
		ix.Apply(step.c)
		if published := ix.View() != before; published != step.flips {
			t.Errorf("%s: published a new view %v, want %v", step.name, published, step.flips)
		}
	}
	v := ix.View()
	if !index.Visible(v, index.PodClient("ns-b"), "shared") || !index.Visible(v, index.Client{}, "shared") {
		t.Error("shared, exported to every client, is hidden")
	}
}
