package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// The benchmark cluster's shape. Objects are numbered; object i's namespace
// and kind follow from i, so a size is grown by writing the numbers it adds
// and the query files are generated from the numbers alone.
const (
	namespaces = 10
	// Every headlessEvery-th Service is headless with endpointsPerHeadless
	// endpoints; the others are ClusterIP Services without endpoints (their
	// A record is the ClusterIP, which needs no EndpointSlice).
	headlessEvery        = 10
	endpointsPerHeadless = 10
	// The scale run's large Services: bigServices of them with
	// endpointsPerBig endpoints, in slices of endpointsPerSlice as the
	// EndpointSlice controller cuts them.
	bigServices       = 20
	endpointsPerBig   = 250
	endpointsPerSlice = 100
	// loadWorkers writes concurrently: the API server and etcd take about
	// this many in flight on 2 cores before latency grows faster than rate.
	loadWorkers = 32
	// etcdBatch puts go in one etcd transaction: etcd takes up to 128
	// (--max-txn-ops).
	etcdBatch = 100
)

func namespaceOf(i int) string { return fmt.Sprintf("bench-%d", (i/headlessEvery)%namespaces) }
func serviceName(i int) string { return fmt.Sprintf("svc-%d", i) }
func isHeadless(i int) bool    { return i%headlessEvery == headlessEvery-1 }
func bigServiceName(i int) string {
	return fmt.Sprintf("big-%d", i)
}

// headlessAddr is endpoint k of headless Service i: 10.128.0.0/10 holds
// 4M of them.
func headlessAddr(i, k int) netip.Addr {
	return addrFrom(netip.MustParseAddr("10.128.0.0"), uint32(i*endpointsPerHeadless+k))
}

// bigAddr is endpoint k of big Service i, in 10.96.0.0/11's neighbour
// 10.64.0.0/11.
func bigAddr(i, k int) netip.Addr {
	return addrFrom(netip.MustParseAddr("10.64.0.0"), uint32(i*endpointsPerBig+k))
}

// podAddr is pod i's IP, in 10.192.0.0/10 (4M pods).
func podAddr(i int) netip.Addr { return addrFrom(netip.MustParseAddr("10.192.0.0"), uint32(i)) }

func addrFrom(base netip.Addr, off uint32) netip.Addr {
	b := base.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += off
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// loader writes the benchmark's objects to the API server.
type loader struct {
	client kubernetes.Interface
	http   *http.Client // to etcd
}

// ensureNamespaces creates the benchmark's namespaces and their default
// ServiceAccounts: the ServiceAccount admission plugin refuses pods until
// it exists, and the API-only test bed runs no controller to create it.
func (l *loader) ensureNamespaces(ctx context.Context) error {
	for n := range namespaces {
		name := fmt.Sprintf("bench-%d", n)
		_, err := l.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		_, err = l.client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// services writes Services [from, to) and the EndpointSlices of the
// headless ones.
func (l *loader) services(ctx context.Context, from, to int) error {
	return parallel(ctx, from, to, func(ctx context.Context, i int) error {
		ns, name := namespaceOf(i), serviceName(i)
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": name},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
			},
		}
		if !isHeadless(i) {
			return create(ctx, l.client.CoreV1().Services(ns).Create, svc)
		}
		svc.Spec.ClusterIP = corev1.ClusterIPNone
		if err := create(ctx, l.client.CoreV1().Services(ns).Create, svc); err != nil {
			return err
		}
		addrs := make([]netip.Addr, endpointsPerHeadless)
		for k := range addrs {
			addrs[k] = headlessAddr(i, k)
		}
		return create(ctx, l.client.DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, name, name+"-0", addrs))
	})
}

// bigServices writes the scale run's Services with endpointsPerBig
// endpoints each, in namespace bench-0.
func (l *loader) bigServices(ctx context.Context) error {
	const ns = "bench-0"
	return parallel(ctx, 0, bigServices, func(ctx context.Context, i int) error {
		name := bigServiceName(i)
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{
				ClusterIP: corev1.ClusterIPNone,
				Selector:  map[string]string{"app": name},
				Ports:     []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
			},
		}
		if err := create(ctx, l.client.CoreV1().Services(ns).Create, svc); err != nil {
			return err
		}
		for s := 0; s*endpointsPerSlice < endpointsPerBig; s++ {
			var addrs []netip.Addr
			for k := s * endpointsPerSlice; k < min((s+1)*endpointsPerSlice, endpointsPerBig); k++ {
				addrs = append(addrs, bigAddr(i, k))
			}
			if err := create(ctx, l.client.DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, name, fmt.Sprintf("%s-%d", name, s), addrs)); err != nil {
				return err
			}
		}
		return nil
	})
}

func endpointSlice(ns, service, name string, addrs []netip.Addr) *discoveryv1.EndpointSlice {
	eps := make([]discoveryv1.Endpoint, len(addrs))
	for k, a := range addrs {
		eps[k] = discoveryv1.Endpoint{
			Addresses:  []string{a.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
			NodeName:   ptr.To(fmt.Sprintf("node-%d", k%100)),
		}
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: service,
			// Not the EndpointSlice controller's: it leaves these alone.
			discoveryv1.LabelManagedBy: "bench.clusterdns.io",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   eps,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
}

// pods writes pods [from, to): the first through the API server (create,
// then a status update, as a kubelet would: Running with an IP), and the
// rest as copies of it written straight to etcd, the API server's storage,
// in transactions of etcdBatch. Through the API the test bed takes about 40
// pods a second on 2 cores (two writes each, admission, managed fields):
// an hour for the scale run's 150k. Behind its back it takes thousands;
// the API server's watch cache sees the writes as any other, and lists and
// watches serve them like pods it wrote itself. The copies keep everything
// the API server gave the first pod (defaults, the projected token volume
// admission adds, managed fields) and differ in name, uid, owner, node,
// IP and container ID.
func (l *loader) pods(ctx context.Context, etcdURL string, from, to int) error {
	if from >= to {
		return nil
	}
	template, err := l.apiPod(ctx, from)
	if err != nil {
		return err
	}
	codec := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	batches := (to - from - 1 + etcdBatch - 1) / etcdBatch
	return parallel(ctx, 0, batches, func(ctx context.Context, b int) error {
		var puts []etcdPut
		for i := from + 1 + b*etcdBatch; i < min(to, from+1+(b+1)*etcdBatch); i++ {
			pod := podCopy(template, i)
			var buf bytes.Buffer
			if err := codec.Encode(pod, &buf); err != nil {
				return err
			}
			puts = append(puts, etcdPut{key: "/registry/pods/" + pod.Namespace + "/" + pod.Name, value: buf.Bytes()})
		}
		return etcdTxn(ctx, l.http, etcdURL, puts)
	})
}

// apiPod writes pod i through the API server.
func (l *loader) apiPod(ctx context.Context, i int) (*corev1.Pod, error) {
	ns := namespaceOf(i)
	got, err := l.client.CoreV1().Pods(ns).Create(ctx, testkit.RealisticPod(ns, i), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return l.client.CoreV1().Pods(ns).Get(ctx, testkit.RealisticPod(ns, i).Name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, err
	}
	now := metav1.NewTime(time.Now())
	ip := podAddr(i).String()
	got.Status = corev1.PodStatus{
		Phase:  corev1.PodRunning,
		HostIP: "172.18.0.2", HostIPs: []corev1.HostIP{{IP: "172.18.0.2"}},
		PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		StartTime: &now,
		QOSClass:  corev1.PodQOSBurstable,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", Ready: true, Started: ptr.To(true),
			Image: "registry.example/app:1.4.2", ImageID: "registry.example/app@sha256:4c1a3f7d9e2b8a6c5d0f1e3b7a9c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f0a2b4c",
			ContainerID: fmt.Sprintf("containerd://%064x", i),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		}},
	}
	return l.client.CoreV1().Pods(ns).UpdateStatus(ctx, got, metav1.UpdateOptions{})
}

// podCopy is template made into pod i, ready for storage: a new identity,
// no resource version (etcd's revision is the version).
func podCopy(template *corev1.Pod, i int) *corev1.Pod {
	p := template.DeepCopy()
	own := testkit.RealisticPod(namespaceOf(i), i)
	p.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	p.Name, p.Namespace, p.Labels, p.OwnerReferences = own.Name, own.Namespace, own.Labels, own.OwnerReferences
	p.UID = types.UID(fmt.Sprintf("5e0c4a51-%04x-4000-8000-%012x", i>>16&0xffff, i))
	p.ResourceVersion = ""
	p.Spec.NodeName = own.Spec.NodeName
	ip := podAddr(i).String()
	p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	p.Status.ContainerStatuses[0].ContainerID = fmt.Sprintf("containerd://%064x", i)
	return p
}

// create calls a typed client's Create and treats AlreadyExists as done,
// so an interrupted load can be run again.
func create[T any](ctx context.Context, fn func(context.Context, T, metav1.CreateOptions) (T, error), obj T) error {
	_, err := fn(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// parallel runs fn for every i in [from, to) on loadWorkers goroutines and
// returns the first error.
func parallel(ctx context.Context, from, to int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	for range loadWorkers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(fmt.Errorf("object %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}
