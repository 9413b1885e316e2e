package podrun

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// kustomizations are deploy/ and every overlay under deploy/overlays, found
// on disk: a new overlay is covered without a row to add.
func kustomizations(t testing.TB) []string {
	t.Helper()
	overlays, err := filepath.Glob(filepath.Join(testkit.RepoRoot(t), "deploy", "overlays", "*", "kustomization.yaml"))
	if err != nil || len(overlays) == 0 {
		t.Fatalf("no overlays under deploy/overlays (%v)", err)
	}
	dirs := []string{"deploy"}
	for _, k := range overlays {
		rel, err := filepath.Rel(testkit.RepoRoot(t), filepath.Dir(k))
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, rel)
	}
	return dirs
}

// typed converts a rendered object to its API type through JSON, which
// takes the ints kustomize's maps hold (the unstructured converter wants
// int64).
func typed(t testing.TB, o *unstructured.Unstructured, into any) {
	t.Helper()
	b, err := json.Marshal(o.Object)
	if err == nil {
		err = json.Unmarshal(b, into)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

// shippedPod is what a kustomization ships for the kubelet: the clusterdns
// Deployment's pod template, its clusterdns container and the ConfigMaps it
// mounts.
type shippedPod struct {
	namespace  string
	spec       corev1.PodSpec
	container  corev1.Container
	configMaps map[string]*corev1.ConfigMap
}

func shipped(t testing.TB, objs []*unstructured.Unstructured) *shippedPod {
	t.Helper()
	p := &shippedPod{configMaps: map[string]*corev1.ConfigMap{}}
	found := false
	for _, o := range objs {
		switch {
		case o.GetKind() == "Deployment" && o.GetName() == "clusterdns":
			var d appsv1.Deployment
			typed(t, o, &d)
			p.namespace, p.spec, found = d.Namespace, d.Spec.Template.Spec, true
		case o.GetKind() == "ConfigMap":
			var cm corev1.ConfigMap
			typed(t, o, &cm)
			p.configMaps[cm.Name] = &cm
		}
	}
	if !found {
		t.Fatal("no Deployment clusterdns")
	}
	for _, c := range p.spec.Containers {
		if c.Name == "clusterdns" {
			p.container = c
			return p
		}
	}
	t.Fatal("no container clusterdns in the Deployment")
	return nil
}

// corefile is the shipped corefiles/Corefile, which the ConfigMap must hold
// byte for byte.
func corefile(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "corefiles", "Corefile"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
