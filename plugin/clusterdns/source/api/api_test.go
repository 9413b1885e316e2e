package api

import (
	"testing"
	"time"

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
	if sl.GetName() != "web" || sl.GetNamespace() != "prod" || sl.GetResourceVersion() != "7" {
		t.Errorf("metadata kept = %s/%s %s, want name, namespace, resourceVersion", sl.GetNamespace(), sl.GetName(), sl.GetResourceVersion())
	}
	// The informer's store keys what it holds through meta.Accessor.
	if key, err := cache.MetaNamespaceKeyFunc(sl); err != nil || key != "prod/web" {
		t.Errorf("store key = %q, %v; want prod/web", key, err)
	}
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(cache.DeletedFinalStateUnknown{Key: "prod/web", Obj: sl}); err != nil || key != "prod/web" {
		t.Errorf("tombstone key = %q, %v; want prod/web", key, err)
	}
	if svc, ok := sl.obj.(*object.Service); !ok || svc.ClusterIPs()[0].String() != "10.96.0.10" {
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
	if u, ok := bad.(*slim).obj.(*unconverted); !ok || u.err == nil || bad.(*slim).GetName() != "web" {
		t.Errorf("bad object converted to %#v, want its error and name", bad.(*slim).obj)
	}
	fqdn, _ := slimTransform(&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "prod"}, AddressType: discoveryv1.AddressTypeFQDN})
	if u, ok := fqdn.(*slim).obj.(*unconverted); !ok || u.err != nil || fqdn.(*slim).GetName() != "x" {
		t.Errorf("FQDN slice converted to %#v, want nothing", fqdn.(*slim).obj)
	}
}

func TestHandler(t *testing.T) {
	ix := index.New(index.Options{})
	ix.Synced()
	s := New(Config{}, ix)
	h := s.handler(object.KindService)
	// served publishes what the handler applied, as the source's publisher
	// does when the change wakes it, and returns the service it serves.
	served := func() *index.Service {
		ix.Apply()
		return ix.View().Service([]byte("web.prod"))
	}
	clusterIP := func() string {
		if svc := served(); svc != nil {
			return svc.ClusterIPs()[0].String()
		}
		return "none"
	}

	good, _ := slimTransform(service("10.96.0.10"))
	h.OnAdd(good, true)
	if got := clusterIP(); got != "10.96.0.10" {
		t.Fatalf("added service serves %s, want 10.96.0.10", got)
	}
	// An update that does not convert keeps the last good version.
	bad, _ := slimTransform(service("10.96.0.x"))
	h.OnUpdate(good, bad)
	newer, _ := slimTransform(service("10.96.0.11"))
	h.OnUpdate(good, newer)
	if got := clusterIP(); got != "10.96.0.11" {
		t.Fatalf("after a bad update and a good one: %s, want 10.96.0.11", got)
	}
	before := ix.Generation()
	h.OnUpdate(newer, bad)
	if got := ix.Generation(); got != before {
		t.Errorf("a bad update applied %d changes, want none", got-before)
	}
	if got := clusterIP(); got != "10.96.0.11" {
		t.Fatalf("a bad update replaced the last good state: %s", got)
	}
	// A deletion the watch missed arrives as a tombstone.
	h.OnDelete(cache.DeletedFinalStateUnknown{Key: "prod/web", Obj: newer})
	if served() != nil {
		t.Fatal("tombstone deletion not applied")
	}
	h.OnAdd(good, false)
	h.OnDelete(good)
	if served() != nil {
		t.Fatal("deletion not applied")
	}
	// Objects of unexpected types are ignored, not fatal.
	before = ix.Generation()
	h.OnAdd("not an object", false)
	h.OnDelete(42)
	if got := ix.Generation(); got != before {
		t.Errorf("objects of unexpected types applied %d changes, want none", got-before)
	}
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

// TestUnchangedViewIgnored: an update that leaves the slim form as it was
// (a Service's status, annotations and managedFields) is no change for the
// index; a new Service port is. (A pod applied unchanged is none either:
// the index's own test, TestPodRelist.)
func TestUnchangedViewIgnored(t *testing.T) {
	ix := index.New(index.Options{})
	ix.Synced()
	s := New(Config{}, ix)
	hs := s.handler(object.KindService)
	svc := func(mutate func(*corev1.Service)) any {
		v := service("10.96.0.10")
		mutate(v)
		out, _ := slimTransform(v)
		return out
	}
	plain := svc(func(*corev1.Service) {})
	hs.OnAdd(plain, true)
	before := ix.Generation()
	hs.OnUpdate(plain, svc(func(v *corev1.Service) {
		v.Annotations = map[string]string{"note": "x"}
		v.ManagedFields = []metav1.ManagedFieldsEntry{{Time: &metav1.Time{Time: time.Now()}}}
	}))
	if got := ix.Generation(); got != before {
		t.Errorf("an annotation-only Service update counted as %d changes", got-before)
	}
	hs.OnUpdate(plain, svc(func(v *corev1.Service) {
		v.Spec.Ports = append(v.Spec.Ports, corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP})
	}))
	if got := ix.Generation(); got != before+1 {
		t.Errorf("a new Service port counted as %d changes, want 1", got-before)
	}
}

// TestSlimTransformKeepsExternalAddrs checks that what k8s_external answers
// with, in the spec and in the status, survives the informer's transform.
func TestSlimTransformKeepsExternalAddrs(t *testing.T) {
	in := service("10.96.0.10")
	in.Spec.ExternalIPs = []string{"192.0.2.1"}
	in.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "198.51.100.7"}, {Hostname: "lb.example.net"}}
	out, err := slimTransform(in)
	if err != nil {
		t.Fatal(err)
	}
	svc, ok := out.(*slim).obj.(*object.Service)
	if !ok {
		t.Fatalf("object = %#v", out.(*slim).obj)
	}
	if len(svc.ExternalIPs()) != 2 || svc.ExternalIPs()[0].String() != "192.0.2.1" || svc.ExternalIPs()[1].String() != "198.51.100.7" ||
		len(svc.ExternalHostnames()) != 1 || svc.ExternalHostnames()[0] != "lb.example.net" {
		t.Errorf("external addresses %v, hostnames %q; want 192.0.2.1 198.51.100.7, lb.example.net", svc.ExternalIPs(), svc.ExternalHostnames())
	}
}

// TestTransformReusesIndexedObjects checks that an object delivered again
// unchanged (a relist) is stored as the object the index already holds,
// so that a relist leaves one copy of each, and that a changed one is not.
func TestTransformReusesIndexedObjects(t *testing.T) {
	ix := index.New(index.Options{})
	s := New(Config{}, ix)
	transform := s.transform(object.KindService)
	first, _ := transform(service("10.96.0.10"))
	s.handler(object.KindService).OnAdd(first, true)
	indexed, _ := ix.Object(object.KindService, "prod", "web")

	relisted := service("10.96.0.10")
	relisted.ResourceVersion = "8"
	again, _ := transform(relisted)
	if got := again.(*slim); got.obj != indexed || got.resourceVersion != "8" {
		t.Errorf("an unchanged Service delivered again is stored as %p (resource version %s), want the indexed %p (8)", got.obj, got.resourceVersion, indexed)
	}
	moved, _ := transform(service("10.96.0.11"))
	if moved.(*slim).obj == indexed {
		t.Error("a Service with a new ClusterIP is stored as the indexed object")
	}
}
