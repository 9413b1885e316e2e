package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
	"github.com/clusterdns/clusterdns/test/testkit"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	restclientwatch "k8s.io/client-go/rest/watch"
	"k8s.io/utils/ptr"
)

// realisticPod is a pod as a Deployment's ReplicaSet makes it and the
// API server sends it: testkit.RealisticPod, the bench's, with what the
// API server, admission, the scheduler and the kubelet add (a UID, a
// resource version, the service account's projected volume, tolerations,
// status, and managedFields). About 4 KB of protobuf.
func realisticPod(i int) *corev1.Pod {
	p := testkit.RealisticPod(fmt.Sprintf("ns-%d", i%50), i)
	created := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	fields := func(n int) *metav1.FieldsV1 {
		var b strings.Builder
		b.WriteString(`{"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/name":{}}},"f:spec":{"f:containers":{`)
		for j := range n {
			fmt.Fprintf(&b, `"k:{\"name\":\"c%d\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:ports":{},"f:resources":{},"f:terminationMessagePath":{}},`, j)
		}
		b.WriteString(`"x":{}}}}`)
		return metav1.NewFieldsV1(b.String())
	}
	mf := func(manager string, op metav1.ManagedFieldsOperationType, at time.Time, sub string, n int) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, APIVersion: "v1", Time: &metav1.Time{Time: at},
			FieldsType: "FieldsV1", FieldsV1: fields(n), Subresource: sub}
	}
	ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	cond := func(t corev1.PodConditionType) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Time{Time: created.Add(3 * time.Second)}}
	}
	owner := p.OwnerReferences[0].Name
	p.GenerateName = owner + "-"
	p.UID = types.UID(fmt.Sprintf("5a1c9a2e-0000-4000-8000-%012d", i))
	p.ResourceVersion = fmt.Sprint(100000 + i)
	p.CreationTimestamp = metav1.Time{Time: created}
	p.ManagedFields = []metav1.ManagedFieldsEntry{
		mf("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, created, "", 8),
		mf("kubelet", metav1.ManagedFieldsOperationUpdate, created.Add(5*time.Second), "status", 6),
	}
	p.Spec.ServiceAccountName = "default"
	p.Spec.Volumes = []corev1.Volume{{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
		DefaultMode: ptr.To[int32](420),
	}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "kube-api-access", ReadOnly: true, MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}}
	p.Spec.Tolerations = []corev1.Toleration{
		{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
	}
	p.Status = corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{cond(corev1.PodReady), cond(corev1.ContainersReady), cond(corev1.PodScheduled)},
		HostIP:     "192.168.0.10", HostIPs: []corev1.HostIP{{IP: "192.168.0.10"}},
		PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		StartTime: &metav1.Time{Time: created.Add(time.Second)},
		QOSClass:  corev1.PodQOSBurstable,
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", Ready: true, Image: "registry.example/app:1.4.2", ImageID: "registry.example/app@sha256:" + strings.Repeat("ab", 32),
			ContainerID: "containerd://" + strings.Repeat("cd", 32), Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Time{Time: created.Add(2 * time.Second)}}},
		}},
	}
	return p
}

// oddPods are the pods the equivalence tests decode besides realistic
// ones: each rule of FromPod, and what the API server may send.
func oddPods() map[string]*corev1.Pod {
	with := func(change func(p *corev1.Pod)) *corev1.Pod {
		p := realisticPod(7)
		change(p)
		return p
	}
	return map[string]*corev1.Pod{
		"no IPs": with(func(p *corev1.Pod) { p.Status.Phase, p.Status.PodIP, p.Status.PodIPs = corev1.PodPending, "", nil }),
		"dual-stack": with(func(p *corev1.Pod) {
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.7"}, {IP: "fd00::7"}}
		}),
		"IPv6":             with(func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "fd00::7", []corev1.PodIP{{IP: "fd00::7"}} }),
		"failed":           with(func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }),
		"succeeded":        with(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
		"unknown phase":    with(func(p *corev1.Pod) { p.Status.Phase = corev1.PodUnknown }),
		"odd phase":        with(func(p *corev1.Pod) { p.Status.Phase = "Hibernating" }),
		"failed, bad IP":   with(func(p *corev1.Pod) { p.Status.Phase, p.Status.PodIPs = corev1.PodFailed, []corev1.PodIP{{IP: "nope"}} }),
		"invalid podIPs":   with(func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.7"}, {IP: "10.0.0.999"}, {IP: "x"}} }),
		"empty podIPs":     with(func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{}} }),
		"zone":             with(func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "fe80::1%eth0"}} }),
		"podIP alone":      with(func(p *corev1.Pod) { p.Status.PodIPs = nil }),
		"invalid podIP":    with(func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "10.0.0", nil }),
		"podIPs over IP":   with(func(p *corev1.Pod) { p.Status.PodIP = "bad" }),
		"empty namespace":  with(func(p *corev1.Pod) { p.Namespace = "" }),
		"huge name":        with(func(p *corev1.Pod) { p.Name = strings.Repeat("n", 100_000) }),
		"no managedFields": with(func(p *corev1.Pod) { p.ManagedFields = nil }),
		"managedFields older than creation": with(func(p *corev1.Pod) {
			p.ManagedFields[0].Time.Time = p.CreationTimestamp.Add(-time.Hour)
			p.ManagedFields[1].Time = nil
		}),
		"managedFields without time": with(func(p *corev1.Pod) {
			p.ManagedFields[0].Time, p.ManagedFields[1].Time = nil, nil
		}),
		"no times": with(func(p *corev1.Pod) { p.ManagedFields, p.CreationTimestamp = nil, metav1.Time{} }),
		"before the epoch": with(func(p *corev1.Pod) {
			p.CreationTimestamp.Time = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
			p.ManagedFields = nil
		}),
		"empty":    {},
		"bookmark": bookmark("123", true),
		"bookmark, not the end": with(func(p *corev1.Pod) {
			*p = corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "9", Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "false"}}}
		}),
	}
}

// protobufWatch encodes events as the API server sends a watch in
// protobuf: each object in the protobuf envelope, in a WatchEvent, in a
// frame.
func protobufWatch(t testing.TB, events ...watch.Event) []byte {
	t.Helper()
	info, ok := k8sruntime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), k8sruntime.ContentTypeProtobuf)
	if !ok {
		t.Fatal("no protobuf serializer")
	}
	objects := codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion)
	var out bytes.Buffer
	frames := info.StreamSerializer.Framer.NewFrameWriter(&out)
	for _, ev := range events {
		raw, err := k8sruntime.Encode(objects, ev.Object)
		if err != nil {
			t.Fatal(err)
		}
		we := &metav1.WatchEvent{Type: string(ev.Type), Object: k8sruntime.RawExtension{Raw: raw}}
		if err := info.StreamSerializer.Serializer.Encode(we, frames); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// realisticWatch is a protobuf watch of n realistic pods added.
func realisticWatch(t testing.TB, n int) []byte {
	events := make([]watch.Event, n)
	for i := range events {
		events[i] = watch.Event{Type: watch.Added, Object: realisticPod(i)}
	}
	return protobufWatch(t, events...)
}

// frameBytes returns the frames of a protobuf watch, without their
// length.
func frameBytes(body []byte) [][]byte {
	var frames [][]byte
	for len(body) >= 4 {
		n := int(binary.BigEndian.Uint32(body))
		frames = append(frames, body[4:4+n])
		body = body[4+n:]
	}
	return frames
}

// watchDecoder is client-go's decoder of a watch response in protobuf
// (rest.Request.Watch's) with the codecs of a REST client.
func watchDecoder(t testing.TB, ns k8sruntime.NegotiatedSerializer, body []byte) *restclientwatch.Decoder {
	t.Helper()
	objects, events, framer, err := k8sruntime.NewClientNegotiator(ns, corev1.SchemeGroupVersion).
		StreamDecoder(k8sruntime.ContentTypeProtobuf, map[string]string{"stream": "watch"})
	if err != nil {
		t.Fatal(err)
	}
	return restclientwatch.NewDecoder(streaming.NewDecoder(framer.NewFrameReader(io.NopCloser(bytes.NewReader(body))), events), objects)
}

// decoded is a watch's events as the pod watch reads them, and the error
// that ended it (nil for the body's end).
type decoded struct {
	types   []watch.EventType
	objects []k8sruntime.Object
	err     error
}

func decodeWatch(t testing.TB, ns k8sruntime.NegotiatedSerializer, body []byte) decoded {
	t.Helper()
	d := watchDecoder(t, ns, body)
	var out decoded
	for {
		typ, obj, err := d.Decode()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				out.err = err
			}
			return out
		}
		out.types = append(out.types, typ)
		if p, ok := podOf(obj); ok {
			obj = p
		}
		out.objects = append(out.objects, obj)
	}
}

// sameDecoded compares what client-go's decode and FromPod made of a
// watch (want) with what the pod watch's codecs made of it, field by
// field.
func sameDecoded(t *testing.T, name string, want, got decoded) {
	t.Helper()
	if (want.err == nil) != (got.err == nil) {
		t.Errorf("%s: error %v, client-go's %v", name, got.err, want.err)
	}
	if !reflect.DeepEqual(got.types, want.types) || len(got.objects) != len(want.objects) {
		t.Fatalf("%s: events %v, client-go's %v", name, got.types, want.types)
	}
	for i, w := range want.objects {
		g := got.objects[i]
		wp, wok := w.(*slimPod)
		gp, gok := g.(*slimPod)
		if !wok || !gok {
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: event %d is %#v, client-go's %#v", name, i, g, w)
			}
			continue
		}
		for _, f := range []struct {
			field     string
			got, want any
		}{
			{"namespace", gp.namespace, wp.namespace},
			{"name", gp.name, wp.name},
			{"resourceVersion", gp.resourceVersion, wp.resourceVersion},
			{"initialEventsEnd", gp.initialEventsEnd, wp.initialEventsEnd},
			{"pod", gp.pod, wp.pod},
			{"error", fmt.Sprint(gp.err), fmt.Sprint(wp.err)},
		} {
			if !reflect.DeepEqual(f.got, f.want) {
				t.Errorf("%s: event %d: %s %v, FromPod's %v", name, i, f.field, f.got, f.want)
			}
		}
	}
}

// TestPodCodecsDecodeAsFromPod: the pod watch's protobuf decoder makes
// of each event what client-go's decode and object.FromPod make of it,
// for realistic pods and odd ones, bookmarks, deletions and errors.
func TestPodCodecsDecodeAsFromPod(t *testing.T) {
	var all []watch.Event
	for name, p := range oddPods() {
		typ := watch.Modified
		if p.Name == "" {
			typ = watch.Bookmark
		}
		events := []watch.Event{{Type: typ, Object: p}}
		all = append(all, events...)
		sameDecoded(t, name, decodeWatch(t, codecs.WithoutConversion(), protobufWatch(t, events...)),
			decodeWatch(t, newPodCodecs(codecs.WithoutConversion()), protobufWatch(t, events...)))
	}
	for i := range 100 {
		typ := watch.Added
		if i%10 == 9 {
			typ = watch.Deleted
		}
		all = append(all, watch.Event{Type: typ, Object: realisticPod(i)})
	}
	all = append(all, watch.Event{Type: watch.Error, Object: gone})
	body := protobufWatch(t, all...)
	want := decodeWatch(t, codecs.WithoutConversion(), body)
	got := decodeWatch(t, newPodCodecs(codecs.WithoutConversion()), body)
	if len(want.objects) != len(all) || want.err != nil {
		t.Fatalf("client-go decoded %d events (%v), want %d", len(want.objects), want.err, len(all))
	}
	sameDecoded(t, "a watch of them all", want, got)
	if last := got.objects[len(all)-1]; !expired(apierrors.FromObject(last)) {
		t.Errorf("410 decoded as %#v, not expired", last)
	}
	if p, ok := got.objects[len(oddPods())].(*slimPod); !ok || p.pod == nil || fmt.Sprint(p.pod.IPs) != "[10.0.0.0]" || p.pod.Changed.IsZero() {
		t.Errorf("the first realistic pod decoded as %+v", got.objects[len(oddPods())])
	}
}

// TestPodCodecsOddFrames: frames client-go refuses, or that hold no pod,
// decode as client-go decodes them, or fail as it fails.
func TestPodCodecsOddFrames(t *testing.T) {
	pod := frameBytes(protobufWatch(t, watch.Event{Type: watch.Added, Object: realisticPod(1)}))[0]
	frame := func(b []byte) []byte {
		return append([]byte{byte(len(b) >> 24), byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))}, b...)
	}
	for _, tc := range []struct {
		name    string
		body    []byte
		wantErr bool
	}{
		{name: "cut short", body: frame(pod[:len(pod)-7]), wantErr: true},
		{name: "empty frame", body: frame(nil), wantErr: true},
		{name: "not a pod", body: protobufWatch(t, watch.Event{Type: watch.Added, Object: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}}})},
		{name: "no object", body: frame([]byte{0x0a, 5, 'A', 'D', 'D', 'E', 'D'}), wantErr: true},
		{name: "bad wire type", body: frame([]byte{0x0f}), wantErr: true},
		// What the generated code accepts and google.golang.org/protobuf
		// would not.
		{name: "varint's tenth byte above 1", body: podFrame(t, podFields(t, realisticPod(4),
			append([]byte{15 << 3}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)))},
		{name: "group ended by another number", body: podFrame(t, podFields(t, realisticPod(4),
			binary.AppendUvarint(binary.AppendUvarint(nil, 20<<3|startGroup), 21<<3|endGroup)))},
		{name: "tag number beyond 32 bits", body: podFrame(t, protoField(podFields(t, realisticPod(4), nil), 1<<32|3,
			protoField(nil, 1, []byte("Failed"))))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := decodeWatch(t, codecs.WithoutConversion(), tc.body)
			got := decodeWatch(t, newPodCodecs(codecs.WithoutConversion()), tc.body)
			if (got.err != nil) != tc.wantErr {
				t.Errorf("error %v, want one: %v", got.err, tc.wantErr)
			}
			sameDecoded(t, tc.name, want, got)
		})
	}
}

// TestPodCodecsSkipUnknownEventTypes: an event of a type client-go does
// not know, which its decode refuses (ending the watch, which resumed
// would meet it again), decodes as an unknownEvent, which the pod watch
// skips.
func TestPodCodecsSkipUnknownEventTypes(t *testing.T) {
	body := protobufWatch(t, watch.Event{Type: "NEW", Object: realisticPod(5)})
	if want := decodeWatch(t, codecs.WithoutConversion(), body); want.err == nil {
		t.Fatalf("client-go decoded an event of type NEW: %v", want.types)
	}
	got := decodeWatch(t, newPodCodecs(codecs.WithoutConversion()), body)
	if got.err != nil || len(got.objects) != 1 {
		t.Fatalf("decoded %v (%v), want one event", got.types, got.err)
	}
	if u, ok := got.objects[0].(*unknownEvent); !ok || u.eventType != "NEW" {
		t.Errorf("decoded %#v, want an unknown event of type NEW", got.objects[0])
	}
}

// FuzzPodFrame: no frame panics the pod watch's decoder, and a frame
// client-go decodes decodes to the same.
func FuzzPodFrame(f *testing.F) {
	var events []watch.Event
	for _, p := range oddPods() {
		if len(p.Name) < 1000 {
			events = append(events, watch.Event{Type: watch.Added, Object: p})
		}
	}
	events = append(events, watch.Event{Type: watch.Added, Object: realisticPod(3)}, watch.Event{Type: watch.Error, Object: gone})
	for _, fr := range frameBytes(protobufWatch(f, events...)) {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		body := frame(data)
		got := decodeWatch(t, newPodCodecs(codecs.WithoutConversion()), body)
		if want := decodeWatch(t, codecs.WithoutConversion(), body); want.err == nil {
			sameDecoded(t, "frame", want, got)
		}
	})
}

// decodedBytes is the bytes allocated per event to decode body's n
// events with ns, as the pod watch reads them.
func decodedBytes(t testing.TB, ns k8sruntime.NegotiatedSerializer, body []byte, n int) float64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d := watchDecoder(t, ns, body)
	for range n {
		_, obj, err := d.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := podOf(obj); !ok {
			t.Fatalf("decoded %T", obj)
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// TestPodCodecsAllocate: decoding a realistic pod from the watch
// allocates little more than what the index keeps of it. client-go's
// decode and FromPod allocated 21 KB a pod (a profile at 150k pods),
// which was the relist's peak.
func TestPodCodecsAllocate(t *testing.T) {
	const n = 2000
	body := realisticWatch(t, n)
	clientGo := decodedBytes(t, codecs.WithoutConversion(), body, n)
	slim := decodedBytes(t, newPodCodecs(codecs.WithoutConversion()), body, n)
	t.Logf("%d bytes of protobuf a pod; allocated a pod: %.0f bytes by client-go and FromPod, %.0f by the pod codecs", len(body)/n, clientGo, slim)
	if slim > 800 {
		t.Errorf("the pod codecs allocated %.0f bytes a pod, want at most 800", slim)
	}
}

// BenchmarkPodWatchDecode: the CPU and memory of decoding a realistic
// pod from the watch, by client-go and FromPod and by the pod codecs.
func BenchmarkPodWatchDecode(b *testing.B) {
	const n = 1000
	body := realisticWatch(b, n)
	for _, bc := range []struct {
		name string
		ns   k8sruntime.NegotiatedSerializer
	}{
		{"client-go", codecs.WithoutConversion()},
		{"podCodecs", newPodCodecs(codecs.WithoutConversion())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			d := watchDecoder(b, bc.ns, body)
			decodedN := 0
			for b.Loop() {
				if decodedN == n {
					d, decodedN = watchDecoder(b, bc.ns, body), 0
				}
				_, obj, err := d.Decode()
				if err != nil {
					b.Fatal(err)
				}
				podOf(obj)
				decodedN++
			}
		})
	}
}

// protoField appends a field of wire type bytes.
func protoField(b []byte, num uint64, val []byte) []byte {
	b = binary.AppendUvarint(b, num<<3|bytesField)
	return append(binary.AppendUvarint(b, uint64(len(val))), val...)
}

// podFields is p's protobuf made by hand: its metadata, then between,
// then its status.
func podFields(t *testing.T, p *corev1.Pod, between []byte) []byte {
	t.Helper()
	meta, err := p.ObjectMeta.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	status, err := p.Status.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return protoField(append(protoField(nil, 1, meta), between...), 3, status)
}

// podFrame is the framed ADDED event of a v1 Pod's protobuf.
func podFrame(t *testing.T, pod []byte) []byte {
	t.Helper()
	unknown, err := (&k8sruntime.Unknown{TypeMeta: k8sruntime.TypeMeta{APIVersion: "v1", Kind: "Pod"}, Raw: pod}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := (&metav1.WatchEvent{Type: string(watch.Added), Object: k8sruntime.RawExtension{Raw: append([]byte("k8s\x00"), unknown...)}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return frame(ev)
}

// frame frames b as the API server frames a watch event in protobuf: its
// length, 4 bytes big-endian, then b.
func frame(b []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...) }

// TestPodWatchOverRESTInProtobuf: the pod watch's REST client reads a
// protobuf watch with the pod codecs, and the streaming list counts for
// the memory limit until its closing bookmark. An event of an unknown
// type is skipped, and the pod after it has a spec that client-go's
// decode refuses: the pod codecs read only what the index keeps.
func TestPodWatchOverRESTInProtobuf(t *testing.T) {
	odd := realisticPod(2)
	odd.Namespace = "prod"
	// A volume (PodSpec's field 1) of tag 0, which the generated code
	// refuses.
	oddEvent := podFrame(t, podFields(t, odd, protoField(nil, 2, []byte{0x0a, 1, 0})))
	if got := decodeWatch(t, codecs.WithoutConversion(), oddEvent); got.err == nil {
		t.Fatal("client-go decoded the odd pod")
	}
	first := realisticPod(1)
	first.Namespace = "prod"
	unknown := realisticPod(3)
	unknown.Namespace = "prod"
	body := protobufWatch(t, watch.Event{Type: watch.Added, Object: first}, watch.Event{Type: "NEW", Object: unknown})
	body = append(body, oddEvent...)
	body = append(body, protobufWatch(t, watch.Event{Type: watch.Bookmark, Object: bookmark("30", true)})...)

	listed := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/api/v1/pods" || q.Get("watch") != "true" {
			t.Errorf("%s %s, want a watch of the pods", r.Method, r.URL)
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.kubernetes.protobuf;stream=watch")
		if q.Get("sendInitialEvents") == "true" {
			// Ended after its bookmark: the watch goes on from there.
			w.Write(body)
			return
		}
		w.(http.Flusher).Flush()
		if q.Get("resourceVersion") == "30" {
			close(listed)
		}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ix := index.New(index.Options{Pods: true})
	w := runPodWatch(t, srv.URL, ix)
	select {
	case <-listed:
	case <-time.After(10 * time.Second):
		t.Fatal("no watch from the streaming list's bookmark")
	}
	select {
	case <-w.Done():
	default:
		t.Error("watching, yet not synced")
	}
	if n := lists.Load(); n != 0 {
		t.Errorf("streaming list ended: %d lists in flight, want 0", n)
	}
	if got, _ := ix.Object(object.KindPod, unknown.Namespace, unknown.Name); got != nil {
		t.Errorf("the pod of an event of type NEW indexed: %+v", got)
	}
	for _, p := range []*corev1.Pod{first, odd} {
		want, err := object.FromPod(p)
		if err != nil {
			t.Fatal(err)
		}
		want.Changed = 0 // the index's table of pods keeps none
		if got, _ := ix.Object(object.KindPod, p.Namespace, p.Name); !reflect.DeepEqual(got, want) {
			t.Errorf("pod %s: %+v, want %+v", p.Name, got, want)
		}
	}
}
