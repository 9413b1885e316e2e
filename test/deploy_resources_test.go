package test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/test/manifests"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestDeployResources checks the sizing of the clusterdns container in
// every kustomization: memory requested within the limit, no CPU limit
// (throttling a DNS server turns load into timeouts), and GOMEMLIMIT at
// 80-95% of the memory limit, so that an overlay that changes the limit
// cannot leave the Go runtime aiming at the old one.
func TestDeployResources(t *testing.T) {
	t.Parallel()
	for _, k := range deployKustomizations {
		t.Run(filepath.Base(k.dir), func(t *testing.T) {
			t.Parallel()
			var container map[string]any
			for _, o := range manifests.Render(t, k.dir) {
				if o.GetKind() != "Deployment" || o.GetName() != "clusterdns" {
					continue
				}
				// NoCopy: kustomize's maps hold ints, which the copying
				// accessors refuse.
				containers, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "template", "spec", "containers")
				list, _ := containers.([]any)
				for _, c := range list {
					if m, _ := c.(map[string]any); m["name"] == "clusterdns" {
						container = m
					}
				}
			}
			if container == nil {
				t.Fatal("no clusterdns container")
			}
			quantity := func(fields ...string) resource.Quantity {
				t.Helper()
				s, _, _ := unstructured.NestedString(container, fields...)
				q, err := resource.ParseQuantity(s)
				if err != nil {
					t.Fatalf("%s: %q: %v", strings.Join(fields, "."), s, err)
				}
				return q
			}
			request, limit := quantity("resources", "requests", "memory"), quantity("resources", "limits", "memory")
			if request.Cmp(limit) > 0 {
				t.Errorf("memory request %s above the limit %s", request.String(), limit.String())
			}
			if _, found, _ := unstructured.NestedString(container, "resources", "limits", "cpu"); found {
				t.Error("a CPU limit throttles DNS under load")
			}
			env, _, _ := unstructured.NestedFieldNoCopy(container, "env")
			list, _ := env.([]any)
			var memLimit string
			for _, e := range list {
				if m, _ := e.(map[string]any); m["name"] == "GOMEMLIMIT" {
					memLimit, _ = m["value"].(string)
				}
			}
			// GOMEMLIMIT's units are Go's (MiB, GiB); Kubernetes writes Mi, Gi.
			q, err := resource.ParseQuantity(strings.TrimSuffix(memLimit, "B"))
			if err != nil {
				t.Fatalf("GOMEMLIMIT %q: %v", memLimit, err)
			}
			if ratio := float64(q.Value()) / float64(limit.Value()); ratio < 0.8 || ratio > 0.95 {
				t.Errorf("GOMEMLIMIT %s is %.0f%% of the memory limit %s, want 80-95%%", memLimit, 100*ratio, limit.String())
			}
		})
	}
}
