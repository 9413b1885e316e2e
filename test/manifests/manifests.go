// Package manifests renders deploy/'s kustomizations as `kubectl apply -k`
// would, for the tests that check, apply or run what deploy/ ships.
package manifests

import (
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Render builds the kustomization in dir, relative to the repository's
// top directory, and returns its objects in kustomize's order.
func Render(tb testing.TB, dir string) []*unstructured.Unstructured {
	tb.Helper()
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), testkit.RepoPath(tb, dir))
	if err != nil {
		tb.Fatalf("kustomize build %s: %v", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range resMap.Resources() {
		m, err := r.Map()
		if err != nil {
			tb.Fatalf("kustomize build %s: %s: %v", dir, r.CurId(), err)
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}
