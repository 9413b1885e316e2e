package api

import (
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func service(ip string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", ResourceVersion: "7",
			Annotations: map[string]string{"big": "unused by DNS"}},
		Spec: corev1.ServiceSpec{ClusterIP: ip, ClusterIPs: []string{ip}, Type: corev1.ServiceTypeClusterIP},
	}
}

func TestSlimTransform(t *testing.T) {
	out, err := slimTransform(service("10.96.0.10"))
	if err != nil {
		t.Fatal(err)
	}
	sl, ok := out.(*slim)
	if !ok {
		t.Fatalf("transform returned %T, want *slim", out)
	}
	if sl.Name != "web" || sl.Namespace != "prod" || sl.Annotations != nil {
		t.Errorf("metadata kept = %+v, want only name, namespace, resourceVersion", sl.ObjectMeta)
	}
	if svc, ok := sl.obj.(*object.Service); !ok || svc.ClusterIPs[0].String() != "10.96.0.10" {
		t.Errorf("object = %#v", sl.obj)
	}
	// Informers pass tombstone objects through the transform again.
	again, _ := slimTransform(sl)
	if again != sl {
		t.Error("an already slim object was converted again")
	}
	// An odd object is stored as its error, not refused: refusing would stall
	// the watch.
	bad, err := slimTransform(service("10.96.0.x"))
	if err != nil {
		t.Fatalf("transform error %v: the watch would stall on one bad object", err)
	}
	if _, isErr := bad.(*slim).obj.(error); !isErr {
		t.Errorf("bad object converted to %#v, want its error", bad.(*slim).obj)
	}
	fqdn, _ := slimTransform(&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "prod"}, AddressType: discoveryv1.AddressTypeFQDN})
	if !isNilObject(fqdn.(*slim).obj) {
		t.Errorf("FQDN slice converted to %#v, want nothing", fqdn.(*slim).obj)
	}
}

func TestHandler(t *testing.T) {
	ix := index.New(index.Options{})
	ix.Synced()
	s := New(Config{}, ix)
	h := s.handler(object.KindService)
	good, _ := slimTransform(service("10.96.0.10"))
	h.OnAdd(good, true)
	if svc := ix.Snapshot().Service([]byte("web.prod")); svc == nil {
		t.Fatal("added service not indexed")
	}
	// An update that does not convert keeps the last good version.
	bad, _ := slimTransform(service("10.96.0.x"))
	h.OnUpdate(good, bad)
	if svc := ix.Snapshot().Service([]byte("web.prod")); svc == nil || svc.ClusterIPs[0].String() != "10.96.0.10" {
		t.Fatalf("a bad update replaced the last good state: %+v", svc)
	}
	newer, _ := slimTransform(service("10.96.0.11"))
	h.OnUpdate(good, newer)
	if svc := ix.Snapshot().Service([]byte("web.prod")); svc.ClusterIPs[0].String() != "10.96.0.11" {
		t.Fatalf("update not applied: %v", svc.ClusterIPs)
	}
	// A deletion the watch missed arrives as a tombstone.
	h.OnDelete(cache.DeletedFinalStateUnknown{Key: "prod/web", Obj: newer})
	if ix.Snapshot().Service([]byte("web.prod")) != nil {
		t.Fatal("tombstone deletion not applied")
	}
	h.OnAdd(good, false)
	h.OnDelete(good)
	if ix.Snapshot().Service([]byte("web.prod")) != nil {
		t.Fatal("deletion not applied")
	}
	// Objects of unexpected types are ignored, not fatal.
	h.OnAdd("not an object", false)
	h.OnDelete(42)
}

func TestRESTConfig(t *testing.T) {
	rc, err := RESTConfig(Config{Endpoint: "https://127.0.0.1:6443", QPS: 50, Burst: 100, MaxInflight: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Host != "https://127.0.0.1:6443" || rc.QPS != 50 || rc.Burst != 100 || rc.WrapTransport == nil {
		t.Errorf("config = %+v", rc)
	}
	if rc.UserAgent == "" || rc.UserAgent[:11] != "clusterdns/" {
		t.Errorf("user agent %q does not name clusterdns", rc.UserAgent)
	}
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := RESTConfig(Config{}); err == nil {
		t.Error("no in-cluster config and no KUBECONFIG: want an error")
	}
	if _, err := RESTConfig(Config{Kubeconfig: "/nonexistent/kubeconfig"}); err == nil {
		t.Error("a missing kubeconfig file: want an error")
	}
}
