package api

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// benchServices is the bench's 10k size (test/bench/load.go): every
// tenth Service headless with one EndpointSlice of 10 ready endpoints, the
// others ClusterIP Services without endpoints, in 10 namespaces.
const benchServices = 10_000

// serviceHeap is what the source and the index hold of the bench's 10k
// Services, per Service: the live heap, and the part of it the collector
// scans, which is the memory limit's headroom between relists
// (memory.go).
type serviceHeap struct{ live, scanned float64 }

// measureServiceHeap lists the bench's Services and EndpointSlices through
// informers as the source runs them (its transform and apply), from
// objects decoded from protobuf as the API server sends them, and returns
// the heap they leave held once synced, per Service.
func measureServiceHeap(t testing.TB) serviceHeap {
	t.Helper()
	before := scannedHeap()
	ix := index.New(index.Options{})
	s := New(Config{}, ix)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	services, slices := benchObjects(t)
	var syncs []cache.InformerSynced
	for _, r := range []struct {
		kind object.Kind
		obj  kruntime.Object
		list *kruntime.Object
	}{{object.KindService, &corev1.Service{}, &services}, {object.KindEndpointSlice, &discoveryv1.EndpointSlice{}, &slices}} {
		lw := &cache.ListWatch{
			ListWithContextFunc: func(context.Context, metav1.ListOptions) (kruntime.Object, error) {
				// The list is the informer's alone: it dies once stored.
				l := *r.list
				*r.list = nil
				return l, nil
			},
			WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
				return watch.NewFake(), nil
			},
		}
		inf := s.newInformer(listOnly{lw}, r.obj, r.kind, "", func(d cache.Deltas) { s.apply(r.kind, d) })
		go inf.RunWithContext(ctx)
		syncs = append(syncs, inf.HasSynced)
	}
	syncCtx, done := context.WithTimeout(ctx, time.Minute)
	defer done()
	if !cache.WaitForCacheSync(syncCtx.Done(), syncs...) {
		t.Fatal("informers did not sync")
	}
	ix.Synced()
	if n := ix.Counts()[object.KindService]; n != benchServices {
		t.Fatalf("%d services indexed, want %d", n, benchServices)
	}
	if ix.View().Service([]byte("svc-9.bench-0")) == nil {
		t.Fatal("a headless service does not answer")
	}
	after := scannedHeap()
	if *serviceHeapProfile != "" {
		writeHeapProfile(t, *serviceHeapProfile)
	}
	runtime.KeepAlive(ix)
	return serviceHeap{
		live:    float64(after.live-before.live) / benchServices,
		scanned: float64(after.scanned-before.scanned) / benchServices,
	}
}

// listOnly makes an informer list, then watch: the test's watch sends
// nothing, so no streaming list would end.
type listOnly struct{ *cache.ListWatch }

func (listOnly) IsWatchListSemanticsUnSupported() bool { return true }

// serviceHeapProfile names a file for the heap profile taken with the
// bench's Services held (go test -memprofilerate=512 for detail), to be
// read with go tool pprof -sample_index=inuse_space.
var serviceHeapProfile = flag.String("serviceheapprofile", "", "write the heap profile of the held Services here")

func writeHeapProfile(t testing.TB, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
}

type heapFigures struct{ live, scanned uint64 }

// scannedHeap collects, then reads the live heap and its scanned part.
func scannedHeap() heapFigures {
	runtime.GC()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	return heapFigures{scanned: sample[0].Value.Uint64(), live: sample[1].Value.Uint64()}
}

// benchObjects makes the bench's Services and EndpointSlices as lists
// decoded from protobuf: each string and map allocated on its own, as a
// watch decodes them, with the metadata the API server adds.
func benchObjects(t testing.TB) (services, slices kruntime.Object) {
	t.Helper()
	svcs := &corev1.ServiceList{}
	ess := &discoveryv1.EndpointSliceList{}
	created := metav1.NewTime(time.Date(2026, 12, 6, 19, 0, 0, 0, time.UTC))
	managed := func(manager string) []metav1.ManagedFieldsEntry {
		return []metav1.ManagedFieldsEntry{{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
			Time: &created, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{}}`)}}
	}
	for i := range benchServices {
		ns, name := fmt.Sprintf("bench-%d", (i/10)%10), fmt.Sprintf("svc-%d", i)
		svc := corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name},
				UID: "0b6a4e4e-2c1f-4b59-9b1e-5f0c1f1d2e3a", ResourceVersion: fmt.Sprint(1000 + 2*i), CreationTimestamp: created,
				ManagedFields: managed("bench")},
			Spec: corev1.ServiceSpec{
				Selector:        map[string]string{"app": name},
				Ports:           []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
				Type:            corev1.ServiceTypeClusterIP,
				SessionAffinity: corev1.ServiceAffinityNone,
			},
		}
		if i%10 != 9 {
			ip := netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)}).String()
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
			svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
			svc.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
			svcs.Items = append(svcs.Items, svc)
			continue
		}
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
		svcs.Items = append(svcs.Items, svc)
		es := discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-0", Namespace: ns,
				Labels:          map[string]string{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "bench.clusterdns.io"},
				UID:             "1c7b5f5f-3d20-4c6a-8c2f-6a1d2a2e3f4b",
				ResourceVersion: fmt.Sprint(1001 + 2*i), CreationTimestamp: created, ManagedFields: managed("bench")},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
		}
		for k := range 10 {
			v := uint32(10<<24|128<<16) + uint32(i*10+k)
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
				Addresses:  []string{netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
				NodeName:   ptr.To(fmt.Sprintf("node-%d", k)),
			})
		}
		ess.Items = append(ess.Items, es)
	}
	return protobufRoundTrip(t, svcs), protobufRoundTrip(t, ess)
}

func protobufRoundTrip(t testing.TB, obj kruntime.Object) kruntime.Object {
	t.Helper()
	info, ok := kruntime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), kruntime.ContentTypeProtobuf)
	if !ok {
		t.Fatal("no protobuf serializer")
	}
	gv := corev1.SchemeGroupVersion
	if _, ok := obj.(*discoveryv1.EndpointSliceList); ok {
		gv = discoveryv1.SchemeGroupVersion
	}
	data, err := kruntime.Encode(codecs.EncoderForVersion(info.Serializer, gv), obj)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := codecs.UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestServiceBytes checks what the bench's 10k Services cost in held heap,
// and in the part of it the collector scans: the memory limit leaves that
// much headroom between relists (memory.go), so at 10k Services it sets
// the RSS the query load's garbage brings the process to.
// Before the Service labels were dropped and the index shared its
// objects' fields, its reverse index lost its pointers, port lists and
// slice sets shrank and the informers' slim wrappers lost their key
// strings, a Service held 1,875 bytes, 1,671 of them scanned; then 1,089
// and 864. Then each alone from there: the object types laid out for
// memory (a Service's rare fields behind one pointer and its cluster IP
// inline, change times without a pointer, zones as handles) 950 and 718;
// smaller index entries and entry tables without maps 984 and 768; the
// informers without stores, slim wrappers or notification buffers 941
// and 729; all three 679 and 479. The bounds leave about 7% over that:
// the scanned bytes are the memory limit's headroom between relists, and
// at the old 1,671 the bench's restart peak at 10k was 1.3× the RSS after
// the sync.
func TestServiceBytes(t *testing.T) {
	const maxLive, maxScanned = 730, 515
	h := measureServiceHeap(t)
	t.Logf("per Service: %.0f bytes of live heap, %.0f scanned", h.live, h.scanned)
	if h.live > maxLive || h.scanned > maxScanned {
		t.Errorf("per Service: %.0f bytes of live heap, %.0f scanned; want at most %d and %d", h.live, h.scanned, maxLive, maxScanned)
	}
}

// TestServiceLabelsKeptForTheLabelsOption checks that a Service's labels
// reach the index only when the labels option filters on them.
func TestServiceLabelsKeptForTheLabelsOption(t *testing.T) {
	for _, selector := range []string{"", "app=web"} {
		s := New(Config{LabelSelector: selector}, index.New(index.Options{}))
		in := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"}}}
		out, err := s.transform(object.KindService)(in)
		if err != nil {
			t.Fatal(err)
		}
		svc := out.(*storedService)
		if kept := svc.Labels["app"] == "web"; kept != (selector != "") {
			t.Errorf("labels option %q: labels kept = %t, want %t", selector, kept, selector != "")
		}
	}
}

// TestPortListsShared checks that equal port lists of one kind's objects
// are one list, and that unequal ones stay apart.
func TestPortListsShared(t *testing.T) {
	s := New(Config{}, index.New(index.Options{}))
	transform := s.transform(object.KindService)
	convert := func(name string, port int32) *object.Service {
		in := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
				Ports: []corev1.ServicePort{{Name: "http", Port: port, Protocol: corev1.ProtocolTCP}}}}
		out, err := transform(in)
		if err != nil {
			t.Fatal(err)
		}
		return (*object.Service)(out.(*storedService))
	}
	a, b, c := convert("a", 80), convert("b", 80), convert("c", 81)
	if &a.Ports[0] != &b.Ports[0] {
		t.Error("two Services with the same ports have a list each")
	}
	if &a.Ports[0] == &c.Ports[0] || c.Ports[0].Port != 81 {
		t.Errorf("a Service with another port shares the list: %v", c.Ports)
	}
}
