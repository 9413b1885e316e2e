package api

import (
	"context"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

func service(ip string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", ResourceVersion: "7",
			Annotations: map[string]string{"big": "unused by DNS"}},
		Spec: corev1.ServiceSpec{ClusterIP: ip, ClusterIPs: []string{ip}, Type: corev1.ServiceTypeClusterIP},
	}
}

// slimTransform is what an informer stores of in: converted as its
// transform converts it, without the source's passes after (labels, port
// lists, the index's objects reused).
func slimTransform(in any) any {
	obj, _ := convert(in)
	return stored(obj)
}

// deltas delivers objects to Source.apply as an informer's deltas of
// kind, one at a time.
type deltas struct {
	s    *Source
	kind object.Kind
}

func (d deltas) OnAdd(obj any) { d.s.apply(d.kind, cache.Deltas{{Type: cache.Added, Object: obj}}) }
func (d deltas) OnUpdate(obj any) {
	d.s.apply(d.kind, cache.Deltas{{Type: cache.Updated, Object: obj}})
}
func (d deltas) OnDelete(obj any) {
	d.s.apply(d.kind, cache.Deltas{{Type: cache.Deleted, Object: obj}})
}

func TestSlimTransform(t *testing.T) {
	s := New(Config{}, index.New(index.Options{}))
	transform := s.transform(object.KindService)
	out, err := transform(service("10.96.0.10"))
	if err != nil {
		t.Fatal(err)
	}
	svc, ok := out.(*storedService)
	if !ok {
		t.Fatalf("transform returned %T, want *storedService", out)
	}
	// The informer's store keys what it holds through meta.Accessor.
	m, err := meta.Accessor(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.GetName() != "web" || m.GetNamespace() != "prod" || m.GetResourceVersion() != "7" {
		t.Errorf("metadata kept = %s/%s %s, want name, namespace, resourceVersion", m.GetNamespace(), m.GetName(), m.GetResourceVersion())
	}
	if key, err := cache.MetaNamespaceKeyFunc(out); err != nil || key != "prod/web" {
		t.Errorf("store key = %q, %v; want prod/web", key, err)
	}
	if ips := (*object.Service)(svc).ClusterIPs(); len(ips) != 1 || ips[0].String() != "10.96.0.10" {
		t.Errorf("object = %#v", svc)
	}
	// Metadata writes (client-go makes none) do not reach the object,
	// which may be the index's.
	m.SetResourceVersion("8")
	m.SetName("other")
	if svc.ResourceVersion != "7" || svc.Name != "web" {
		t.Errorf("a write through the store's accessor changed the object: %s %s", svc.Name, svc.ResourceVersion)
	}
	// Informers pass a streaming list's objects through the transform
	// again.
	if again, _ := transform(out); again != out {
		t.Error("an already converted object was converted again")
	}
	// An odd object is stored as its error, not refused: refusing would stall
	// the watch.
	bad, err := transform(service("10.96.0.x"))
	if err != nil {
		t.Fatalf("transform error %v: the watch would stall on one bad object", err)
	}
	if u, ok := bad.(*unconverted); !ok || u.err == nil || u.Name != "web" || u.Namespace != "prod" || u.ResourceVersion != "7" {
		t.Errorf("bad object converted to %#v, want its error, key and resource version", bad)
	}
	if key, err := cache.MetaNamespaceKeyFunc(bad); err != nil || key != "prod/web" {
		t.Errorf("store key of a bad object = %q, %v; want prod/web", key, err)
	}
	fqdn, _ := s.transform(object.KindEndpointSlice)(&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "prod"}, AddressType: discoveryv1.AddressTypeFQDN})
	if u, ok := fqdn.(*unconverted); !ok || u.err != nil || u.Name != "x" {
		t.Errorf("FQDN slice converted to %#v, want nothing", fqdn)
	}
}

func TestHandler(t *testing.T) {
	ix := index.New(index.Options{})
	ix.Synced()
	s := New(Config{}, ix)
	h := deltas{s, object.KindService}
	// served publishes what apply applied, as the source's publisher
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

	good := slimTransform(service("10.96.0.10"))
	h.OnAdd(good)
	if got := clusterIP(); got != "10.96.0.10" {
		t.Fatalf("added service serves %s, want 10.96.0.10", got)
	}
	// An update that does not convert keeps the last good version.
	bad := slimTransform(service("10.96.0.x"))
	h.OnUpdate(bad)
	newer := slimTransform(service("10.96.0.11"))
	h.OnUpdate(newer)
	if got := clusterIP(); got != "10.96.0.11" {
		t.Fatalf("after a bad update and a good one: %s, want 10.96.0.11", got)
	}
	before := ix.Generation()
	h.OnUpdate(bad)
	if got := ix.Generation(); got != before {
		t.Errorf("a bad update applied %d changes, want none", got-before)
	}
	if got := clusterIP(); got != "10.96.0.11" {
		t.Fatalf("a bad update replaced the last good state: %s", got)
	}
	// A deletion delivers the last state the watch saw, which need not
	// be what the index holds.
	h.OnDelete(bad)
	if served() != nil {
		t.Fatal("deletion not applied")
	}
	// Objects of unexpected types are ignored, not fatal.
	before = ix.Generation()
	h.OnAdd("not an object")
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
	hs := deltas{s, object.KindService}
	svc := func(mutate func(*corev1.Service)) any {
		v := service("10.96.0.10")
		mutate(v)
		return slimTransform(v)
	}
	plain := svc(func(*corev1.Service) {})
	hs.OnAdd(plain)
	before := ix.Generation()
	hs.OnUpdate(svc(func(v *corev1.Service) {
		v.Annotations = map[string]string{"note": "x"}
		v.ManagedFields = []metav1.ManagedFieldsEntry{{Time: &metav1.Time{Time: time.Now()}}}
	}))
	if got := ix.Generation(); got != before {
		t.Errorf("an annotation-only Service update counted as %d changes", got-before)
	}
	hs.OnUpdate(svc(func(v *corev1.Service) {
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
	out := slimTransform(in)
	stored, ok := out.(*storedService)
	if !ok {
		t.Fatalf("object = %#v", out)
	}
	svc := (*object.Service)(stored)
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
	deltas{s, object.KindService}.OnAdd(first)
	indexed, _ := ix.Object(object.KindService, "prod", "web")

	relisted := service("10.96.0.10")
	relisted.ResourceVersion = "8"
	again, _ := transform(relisted)
	if got := indexable(again); got != indexed {
		t.Errorf("an unchanged Service delivered again is stored as %p, want the indexed %p", got, indexed)
	}
	// With the resource version DNS last saw change (slim.go's metaView).
	if m, _ := meta.Accessor(again); m.GetResourceVersion() != "7" {
		t.Errorf("stored with resource version %s, want the indexed object's, 7", m.GetResourceVersion())
	}
	moved, _ := transform(service("10.96.0.11"))
	if indexable(moved) == indexed {
		t.Error("a Service with a new ClusterIP is stored as the indexed object")
	}
}

// TestUpdatesAfterAReusedObject runs an informer as the source does: an
// update DNS does not see is queued as the index's object, whose resource
// version is the older one it was converted from (slim.go's metaView),
// and the update after it still reaches the index.
func TestUpdatesAfterAReusedObject(t *testing.T) {
	ix := index.New(index.Options{})
	s := New(Config{}, ix)
	events := watch.NewFake()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (kruntime.Object, error) {
			return &corev1.ServiceList{ListMeta: metav1.ListMeta{ResourceVersion: "7"}, Items: []corev1.Service{*service("10.96.0.10")}}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return events, nil },
	}
	// Source.apply, telling the test of each update it applied.
	updated := make(chan any)
	inf := s.newInformer(listOnly{lw}, &corev1.Service{}, object.KindService, "services", func(d cache.Deltas) {
		s.apply(object.KindService, d)
		for _, u := range d {
			if u.Type == cache.Updated {
				updated <- u.Object
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go inf.RunWithContext(ctx)
	if !cache.WaitFor(ctx, "", inf.HasSyncedChecker()) {
		t.Fatal("not synced")
	}
	ix.Synced()
	// handled returns the object of the next update applied.
	handled := func() any {
		t.Helper()
		select {
		case obj := <-updated:
			ix.Apply()
			return obj
		case <-ctx.Done():
			t.Fatal("an update was never applied")
		}
		return nil
	}
	indexed, _ := ix.Object(object.KindService, "prod", "web")

	unseen := service("10.96.0.10")
	unseen.ResourceVersion, unseen.Annotations = "8", map[string]string{"note": "x"}
	events.Modify(unseen)
	if got := indexable(handled()); got != indexed {
		t.Fatalf("an update DNS does not see is queued as %p, want the indexed %p", got, indexed)
	}
	moved := service("10.96.0.11")
	moved.ResourceVersion = "9"
	events.Modify(moved)
	handled()
	if svc := ix.View().Service([]byte("web.prod")); svc == nil || svc.ClusterIPs()[0].String() != "10.96.0.11" {
		t.Fatalf("after the update: %+v, want 10.96.0.11", svc)
	}
}

// TestRelistApplied: a relist (or the first list) applies what changed,
// leaves what did not, keeps the last good version of an object that no
// longer converts, and deletes what the index holds and the relist does
// not list: with no store, the index tells which those are.
func TestRelistApplied(t *testing.T) {
	ix := index.New(index.Options{})
	ix.Synced()
	s := New(Config{}, ix)
	transform := s.transform(object.KindService)
	named := func(name, ip, rv string) any {
		v := service(ip)
		v.Name, v.ResourceVersion = name, rv
		out, err := transform(v)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	relist := func(objs ...any) {
		s.apply(object.KindService, cache.Deltas{{Type: cache.ReplacedAll, Object: cache.ReplacedAllInfo{Objects: objs}}})
		ix.Apply()
	}
	relist(named("same", "10.96.0.1", "1"), named("moved", "10.96.0.2", "2"), named("bad", "10.96.0.3", "3"), named("gone", "10.96.0.4", "4"))
	same, _ := ix.Object(object.KindService, "prod", "same")
	before := ix.Generation()

	relist(named("same", "10.96.0.1", "5"), named("moved", "10.96.0.12", "6"), named("bad", "10.96.0.x", "7"), named("new", "10.96.0.5", "8"))
	if got := ix.Generation() - before; got != 3 {
		t.Errorf("the relist applied %d changes, want 3: moved, new, gone", got)
	}
	serves := func(name string) string {
		if svc := ix.View().Service([]byte(name + ".prod")); svc != nil {
			return svc.ClusterIPs()[0].String()
		}
		return "none"
	}
	for name, want := range map[string]string{"same": "10.96.0.1", "moved": "10.96.0.12", "bad": "10.96.0.3", "new": "10.96.0.5", "gone": "none"} {
		if got := serves(name); got != want {
			t.Errorf("%s serves %s after the relist, want %s", name, got, want)
		}
	}
	if now, _ := ix.Object(object.KindService, "prod", "same"); now != same {
		t.Error("an unchanged Service was replaced by the relist")
	}
}
