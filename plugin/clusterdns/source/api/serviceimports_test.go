package api

import (
	"testing"
	"unsafe"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
)

func serviceImport(ip string, resourceVersion string) *mcsv1alpha1.ServiceImport {
	return &mcsv1alpha1.ServiceImport{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", ResourceVersion: resourceVersion,
			Annotations: map[string]string{"big": "unused by DNS"}},
		Spec: mcsv1alpha1.ServiceImportSpec{Type: mcsv1alpha1.ClusterSetIP, IPs: []string{ip}},
	}
}

// ServiceImports go through the slim transform and apply as every
// other kind: stored slim, an update DNS does not see applies nothing, a
// bad one keeps the last good version.
func TestServiceImportEvents(t *testing.T) {
	good := slimTransform(serviceImport("10.100.0.10", "7"))
	if m := storedMeta(good); m == nil || m.Name != "web" || m.Namespace != "prod" || m.ResourceVersion != "7" {
		t.Errorf("metadata kept = %+v", m)
	}
	if si, ok := good.(*storedServiceImport); !ok || si.IPs[0].String() != "10.100.0.10" {
		t.Fatalf("object = %#v", good)
	}
	ix := index.New(index.Options{Multicluster: true})
	ix.Synced()
	h := deltas{New(Config{}, ix), object.KindServiceImport}
	served := func() string {
		ix.Apply()
		if svc := ix.View().ClustersetService([]byte("web.prod")); svc != nil {
			return svc.ClusterIPs()[0].String()
		}
		return "none"
	}
	h.OnAdd(good)
	if got := served(); got != "10.100.0.10" {
		t.Fatalf("added import serves %s", got)
	}
	before := ix.Generation()
	same := slimTransform(serviceImport("10.100.0.10", "8")) // a status or annotation change
	h.OnUpdate(same)
	bad := slimTransform(serviceImport("10.100.0.x", "9"))
	h.OnUpdate(bad)
	if got := ix.Generation(); got != before {
		t.Errorf("an unseen and a bad update applied %d changes, want none", got-before)
	}
	if got := served(); got != "10.100.0.10" {
		t.Errorf("after a bad update: %s", got)
	}
	h.OnDelete(same)
	if got := served(); got != "none" {
		t.Errorf("deleted import serves %s", got)
	}
}

// TestTransformReusesIndexedImports: a ServiceImport delivered again
// unchanged (a relist) is stored holding the addresses, ports and names
// the index already holds, so that a relist leaves one copy of them; a
// changed one is not.
func TestTransformReusesIndexedImports(t *testing.T) {
	ix := index.New(index.Options{Multicluster: true})
	s := New(Config{Multicluster: true}, ix)
	transform := s.transform(object.KindServiceImport)
	withPort := func(ip, rv string) *mcsv1alpha1.ServiceImport {
		si := serviceImport(ip, rv)
		si.Spec.Ports = []mcsv1alpha1.ServicePort{{Name: "http", Protocol: "TCP", Port: 80}}
		return si
	}
	first, _ := transform(withPort("10.100.0.10", "1"))
	deltas{s, object.KindServiceImport}.OnAdd(first)
	held := first.(*storedServiceImport)

	again, _ := transform(withPort("10.100.0.10", "2"))
	got, ok := again.(*storedServiceImport)
	if !ok {
		t.Fatalf("stored %#v", again)
	}
	// The index holds a single cluster IP inline in its Service: the
	// import's address is that one.
	indexed, _ := ix.Object(object.KindServiceImport, "prod", "web")
	if &got.IPs[0] != &indexed.(*object.ServiceImport).IPs[0] || &got.Ports[0] != &held.Ports[0] ||
		unsafe.StringData(got.Name) != unsafe.StringData(held.Name) {
		t.Error("an unchanged import delivered again holds copies of what the index holds")
	}
	moved, _ := transform(withPort("10.100.0.11", "3"))
	if si := moved.(*storedServiceImport); &si.IPs[0] == &held.IPs[0] || si.IPs[0].String() != "10.100.0.11" {
		t.Errorf("an import with a new IP is stored as %v, sharing the indexed one's", si.IPs)
	}
}
