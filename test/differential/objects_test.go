package differential

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/test/cluster"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The namespaces the test writes to; the cluster's own (default,
// kube-system, ...) are queried too.
const (
	nsA     = "diff-a" // most of the objects
	nsB     = "diff-b" // a second namespace, for `namespaces`
	nsEmpty = "diff-empty"
)

// nodeZones are the topology zones of the nodes the test's pods run on.
var nodeZones = []string{"zone-a", "zone-b"}

// autopathCIDR is the pod CIDR of the node whose pods the autopath mode
// queries from: inside 127.0.0.0/8, so the test can bind a pod's address on
// loopback and send from it.
const autopathCIDR = "127.77.0.0/24"

// upstreamZone is the outside zone the test upstream serves; ExternalNames
// point into it.
const upstreamZone = "example.test."

// populate writes the varied cluster every mode is compared on and waits
// until the controllers and kwok have settled it: pods running, terminal
// pods in their phase, EndpointSlices written, LoadBalancer status set.
// Nothing changes after it returns, so both servers see the same objects.
func populate(t *testing.T, ctx context.Context, c *cluster.Cluster) {
	t.Helper()
	nodes := c.AddNodes(2)
	autopathNode := c.AddNodeWithPodCIDRs(autopathCIDR)
	client := c.Client.CoreV1()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// The nodes of the pods are in two zones (the autopath node in none),
	// so the EndpointSlice controller writes each endpoint's zone, as in a
	// cloud: what the zonal option answers from. Labelled before any pod
	// exists, so every slice is written with them.
	for i, node := range nodes {
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, corev1.LabelTopologyZone, nodeZones[i%len(nodeZones)])
		_, err := client.Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		must("zone of node "+node, err)
	}
	for _, ns := range []string{nsA, nsB, nsEmpty} {
		_, err := client.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		must("namespace "+ns, err)
	}

	// Pods. web-* have no hostname (endpoints named by address, or pod name
	// with endpoint_pod_names); db-* set hostname and subdomain. Each is
	// placed on a node by name: the loopback node is for the autopath
	// clients alone (its pods have loopback IPv4 addresses only).
	placed := 0
	pod := func(ns, name, app string, mutate func(*corev1.Pod)) {
		t.Helper()
		placed++
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{
				Containers:                    []corev1.Container{{Name: "c", Image: "registry.invalid/fake"}},
				TerminationGracePeriodSeconds: ptr.To[int64](0),
				NodeName:                      nodes[placed%len(nodes)],
			},
		}
		if mutate != nil {
			mutate(p)
		}
		_, err := client.Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		must("pod "+ns+"/"+name, err)
	}
	for i := range 3 {
		pod(nsA, fmt.Sprintf("web-%d", i), "web", nil)
	}
	for i := range 2 {
		pod(nsA, fmt.Sprintf("db-%d", i), "db", func(p *corev1.Pod) {
			p.Spec.Hostname, p.Spec.Subdomain = fmt.Sprintf("db-%d", i), "db-hl"
		})
	}
	pod(nsB, "api-0", "api", nil)
	pod(nsB, "api-1", "api", nil)
	for _, name := range []string{"done-0", "failed-0"} {
		pod(nsA, name, "batch", nil)
	}
	// The autopath clients: one per namespace, on the loopback node.
	for _, ns := range []string{nsA, nsB} {
		pod(ns, "client", "client", func(p *corev1.Pod) { p.Spec.NodeName = autopathNode })
	}
	podsRunning(t, ctx, c, 11)
	// Terminal pods keep their IPs in status; stock and clusterdns must
	// both stop answering for them under `pods verified`.
	for name, phase := range map[string]corev1.PodPhase{"done-0": corev1.PodSucceeded, "failed-0": corev1.PodFailed} {
		p, err := client.Pods(nsA).Get(ctx, name, metav1.GetOptions{})
		must("get pod "+name, err)
		p.Status.Phase = phase
		_, err = client.Pods(nsA).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		must("pod status "+name, err)
	}

	// Services.
	tcp := func(name string, port int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(port)}
	}
	udp := func(name string, port int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: port, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(port)}
	}
	svc := func(ns, name string, labels map[string]string, spec corev1.ServiceSpec) {
		t.Helper()
		_, err := client.Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, Spec: spec}, metav1.CreateOptions{})
		must("service "+ns+"/"+name, err)
	}
	front := map[string]string{"tier": "front"}
	web := map[string]string{"app": "web"}
	dual := ptr.To(corev1.IPFamilyPolicyRequireDualStack)
	svc(nsA, "web", front, corev1.ServiceSpec{Selector: web, Ports: []corev1.ServicePort{tcp("http", 80), udp("dns", 53)}})
	svc(nsA, "web-ds", front, corev1.ServiceSpec{Selector: web, IPFamilyPolicy: dual, Ports: []corev1.ServicePort{tcp("http", 80)}})
	svc(nsA, "web-v6", nil, corev1.ServiceSpec{Selector: web, IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol}, Ports: []corev1.ServicePort{tcp("http", 80)}})
	svc(nsA, "web-unnamed", nil, corev1.ServiceSpec{Selector: web, Ports: []corev1.ServicePort{{Port: 8080, Protocol: corev1.ProtocolTCP}}})
	svc(nsA, "web-hl", front, corev1.ServiceSpec{Selector: web, ClusterIP: corev1.ClusterIPNone, IPFamilyPolicy: dual, Ports: []corev1.ServicePort{tcp("http", 80)}})
	svc(nsA, "db-hl", nil, corev1.ServiceSpec{Selector: map[string]string{"app": "db"}, ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{tcp("pg", 5432)}})
	svc(nsA, "manual", nil, corev1.ServiceSpec{IPFamilyPolicy: dual, Ports: []corev1.ServicePort{tcp("http", 80), udp("syslog", 514)}})
	svc(nsA, "manual-hl", nil, corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, IPFamilyPolicy: dual, Ports: []corev1.ServicePort{tcp("http", 80)}})
	svc(nsA, "notready-hl", nil, corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, PublishNotReadyAddresses: true, Ports: []corev1.ServicePort{tcp("http", 80)}})
	svc(nsA, "empty", nil, corev1.ServiceSpec{Selector: map[string]string{"app": "nothing"}, Ports: []corev1.ServicePort{tcp("http", 80)}})
	svc(nsA, "empty-hl", nil, corev1.ServiceSpec{Selector: map[string]string{"app": "nothing"}, ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{tcp("http", 80)}})
	extName := func(name, target string) {
		svc(nsA, name, nil, corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target})
	}
	extName("ext-in", "web."+nsA+".svc.cluster.local")
	extName("ext-in-hl", "db-hl."+nsA+".svc.cluster.local")
	extName("ext-out", "www."+upstreamZone[:len(upstreamZone)-1])
	extName("ext-self", "ext-self."+nsA+".svc.cluster.local")
	extName("ext-missing", "nothere."+nsA+".svc.cluster.local")
	extName("ext-fail", "servfail."+upstreamZone[:len(upstreamZone)-1])
	svc(nsA, "lb", front, corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Selector: web, IPFamilyPolicy: dual,
		ExternalIPs: []string{"192.0.2.200", "2001:db8::200"},
		Ports:       []corev1.ServicePort{tcp("http", 80)},
	})
	svc(nsB, "api", map[string]string{"tier": "back"}, corev1.ServiceSpec{Selector: map[string]string{"app": "api"}, Ports: []corev1.ServicePort{tcp("grpc", 9000)}})
	svc(nsB, "api-hl", nil, corev1.ServiceSpec{Selector: map[string]string{"app": "api"}, ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{tcp("grpc", 9000)}})

	lb, err := client.Services(nsA).Get(ctx, "lb", metav1.GetOptions{})
	must("get service lb", err)
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.100"}, {IP: "2001:db8::100"}, {Hostname: "lb.example.test"}}
	_, err = client.Services(nsA).UpdateStatus(ctx, lb, metav1.UpdateOptions{})
	must("service lb status", err)

	// Hand-written EndpointSlices for the Services without selectors: more
	// than one slice per Service, both families, an IPv6 address ending in
	// "::", named, not-ready, terminating and serving endpoints.
	slice := func(svcName, name string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) {
		t.Helper()
		s := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: name, Labels: map[string]string{
				discoveryv1.LabelServiceName: svcName,
				discoveryv1.LabelManagedBy:   "differential-test",
			}},
			AddressType: family, Ports: ports, Endpoints: eps,
		}
		_, err := c.Client.DiscoveryV1().EndpointSlices(nsA).Create(ctx, s, metav1.CreateOptions{})
		must("endpointslice "+name, err)
	}
	port := func(name string, p int32, proto corev1.Protocol) discoveryv1.EndpointPort {
		return discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(p), Protocol: ptr.To(proto)}
	}
	ready := func(hostname string, addrs ...string) discoveryv1.Endpoint {
		ep := discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)}}
		if hostname != "" {
			ep.Hostname = ptr.To(hostname)
		}
		return ep
	}
	// inZone sets an endpoint's zone as a controller of its own would:
	// any case (DNS compares without it), dots allowed.
	inZone := func(zone string, ep discoveryv1.Endpoint) discoveryv1.Endpoint {
		ep.Zone = ptr.To(zone)
		return ep
	}
	notReady := func(addrs ...string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(false), Terminating: ptr.To(false)}}
	}
	terminating := func(serving bool, addrs ...string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(serving), Terminating: ptr.To(true)}}
	}
	httpSyslog := []discoveryv1.EndpointPort{port("http", 80, corev1.ProtocolTCP), port("syslog", 514, corev1.ProtocolUDP)}
	http := []discoveryv1.EndpointPort{port("http", 80, corev1.ProtocolTCP)}
	slice("manual", "manual-1", discoveryv1.AddressTypeIPv4, httpSyslog, ready("", "10.200.0.1"), ready("named", "10.200.0.2"))
	slice("manual", "manual-2", discoveryv1.AddressTypeIPv4, httpSyslog, ready("", "10.200.0.3"), notReady("10.200.0.4"))
	slice("manual", "manual-v6", discoveryv1.AddressTypeIPv6, httpSyslog, ready("", "fd00:10:200::"), ready("", "fd00:10:200::5"))
	slice("manual-hl", "manual-hl-1", discoveryv1.AddressTypeIPv4, http, inZone("zone-a", ready("alpha", "10.201.0.1")), inZone("Zone-B", ready("", "10.201.0.2")), terminating(true, "10.201.0.3"))
	slice("manual-hl", "manual-hl-2", discoveryv1.AddressTypeIPv4, http, inZone("zone-a", ready("beta", "10.201.0.4")), inZone("Zone-B", terminating(false, "10.201.0.5")), notReady("10.201.0.6"))
	slice("manual-hl", "manual-hl-v6", discoveryv1.AddressTypeIPv6, http, ready("", "fd00:10:201::"), inZone("corp.example.com", ready("gamma", "fd00:10:201::7")))
	// The not-ready endpoint shares the ready one's zone: where a zone
	// held only not-ready endpoints, prefer would fall back to every
	// endpoint in stock and not here, a consequence of the
	// publishNotReadyAddresses difference (README says so) that its entry
	// does not explain.
	slice("notready-hl", "notready-hl-1", discoveryv1.AddressTypeIPv4, http, inZone("zone-a", notReady("10.202.0.1")), terminating(true, "10.202.0.2"), inZone("zone-a", ready("up", "10.202.0.3")))

	settled(t, ctx, c)
}

// podsRunning waits until n of the test's pods run with their IPs.
func podsRunning(t *testing.T, ctx context.Context, c *cluster.Cluster, n int) {
	t.Helper()
	cluster.Eventually(t, ctx, fmt.Sprintf("%d pods running", n), func() error {
		running := 0
		for _, ns := range []string{nsA, nsB} {
			list, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, p := range list.Items {
				if p.Status.Phase == corev1.PodRunning && len(p.Status.PodIPs) > 0 {
					running++
				}
			}
		}
		if running != n {
			return fmt.Errorf("%d running", running)
		}
		return nil
	})
}

// settled waits until the controller-manager has written the EndpointSlices
// of every Service with a selector with the endpoints it will keep: the
// ready pods each selects, in each of the Service's families.
func settled(t *testing.T, ctx context.Context, c *cluster.Cluster) {
	t.Helper()
	want := map[string]int{ // ns/service -> ready endpoints over its slices
		nsA + "/web": 3, nsA + "/web-ds": 6, nsA + "/web-v6": 3, nsA + "/web-unnamed": 3, nsA + "/web-hl": 6,
		nsA + "/db-hl": 2, nsA + "/lb": 6, nsB + "/api": 2, nsB + "/api-hl": 2,
	}
	cluster.Eventually(t, ctx, "endpointslices written", func() error {
		for key, n := range want {
			ns, name, _ := strings.Cut(key, "/")
			list, err := c.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
			if err != nil {
				return err
			}
			got := 0
			for _, s := range list.Items {
				for _, ep := range s.Endpoints {
					if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
						got++
					}
					if ep.Zone == nil {
						return fmt.Errorf("%s: endpoint %v has no zone yet", key, ep.Addresses)
					}
				}
			}
			if got != n {
				return fmt.Errorf("%s: %d ready endpoints, want %d", key, got, n)
			}
		}
		for name, phase := range map[string]corev1.PodPhase{"done-0": corev1.PodSucceeded, "failed-0": corev1.PodFailed} {
			p, err := c.Client.CoreV1().Pods(nsA).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Status.Phase != phase || len(p.Status.PodIPs) == 0 {
				return fmt.Errorf("pod %s: phase %s, IPs %v; want %s with IPs", name, p.Status.Phase, p.Status.PodIPs, phase)
			}
		}
		return nil
	})
}
