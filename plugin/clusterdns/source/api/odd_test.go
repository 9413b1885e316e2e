package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// TestOddObjects feeds objects the API server accepts but few clusters
// hold (issue 6) through the transform and apply into the index, and
// asks for them: each is indexed or skipped with a log line, nothing
// panics, and the normal objects around them keep answering.
func TestOddObjects(t *testing.T) {
	ptr := func(s string) *string { return &s }
	yes := true
	long := strings.Repeat("a", 63) // the longest DNS label, and Kubernetes name segment

	manyPorts := make([]corev1.ServicePort, 500)
	for i := range manyPorts {
		proto := corev1.ProtocolTCP
		if i%2 == 1 {
			proto = corev1.ProtocolUDP
		}
		manyPorts[i] = corev1.ServicePort{Name: fmt.Sprintf("p%d", i), Port: int32(1000 + i), Protocol: proto}
	}
	services := []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "ports", Namespace: "odd"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.7.1", ClusterIPs: []string{"10.96.7.1"}, Type: corev1.ServiceTypeClusterIP, Ports: manyPorts}},
		{ObjectMeta: metav1.ObjectMeta{Name: long, Namespace: long},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.7.2", ClusterIPs: []string{"10.96.7.2"}, Type: corev1.ServiceTypeClusterIP}},
		// No ClusterIP at all, and an unnamed port.
		{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "odd"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}},
		// A ClusterIP with an IPv6 zone, which no API server hands out.
		{ObjectMeta: metav1.ObjectMeta{Name: "zoned", Namespace: "odd"},
			Spec: corev1.ServiceSpec{ClusterIP: "fe80::1%eth0", ClusterIPs: []string{"fe80::1%eth0"}, Type: corev1.ServiceTypeClusterIP}},
		// Headless, for the slices below.
		{ObjectMeta: metav1.ObjectMeta{Name: "headless", Namespace: "odd"},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, ClusterIPs: []string{corev1.ClusterIPNone}, Type: corev1.ServiceTypeClusterIP}},
		// An ExternalName with nothing in it.
		{ObjectMeta: metav1.ObjectMeta{Name: "noname", Namespace: "odd"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName}},
	}
	slices := []*discoveryv1.EndpointSlice{
		// Conditions, ports and hostnames all missing.
		{ObjectMeta: metav1.ObjectMeta{Name: "headless-1", Namespace: "odd", Labels: map[string]string{discoveryv1.LabelServiceName: "headless"}},
			AddressType: discoveryv1.AddressTypeIPv6,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"fd00::7"}}, {Addresses: []string{"fd00::8"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}}}},
		// An address with a zone and an empty one, which the API server's
		// validation refuses but a manifests file can hold: the slice is
		// refused whole (logged), and its service keeps what it had.
		{ObjectMeta: metav1.ObjectMeta{Name: "headless-bad", Namespace: "odd", Labels: map[string]string{discoveryv1.LabelServiceName: "headless"}},
			AddressType: discoveryv1.AddressTypeIPv6,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"fe80::2%eth0"}}, {Addresses: []string{""}}, {Addresses: []string{"fd00::9"}}}},
		// No service label at all.
		{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: "odd"}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.1.1"}, Hostname: ptr(long)}}},
	}
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "noip", Namespace: "odd"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "badip", Namespace: "odd"}, Status: corev1.PodStatus{PodIP: "10.0.0.999", PodIPs: []corev1.PodIP{{IP: "10.0.0.999"}}}},
	}

	ix := index.New(index.Options{Pods: true})
	skipped := map[string]bool{}
	apply := func(kind object.Kind, in any, ns, name string) {
		out, err := New(Config{}, ix).transform(kind)(in)
		if err != nil {
			t.Fatalf("%s %s/%s: transform error %v stalls the watch", kind, ns, name, err)
		}
		if _, unconv := out.(*unconverted); unconv {
			skipped[name] = true // what apply logs and skips
			return
		}
		ix.Apply(index.Change{Kind: kind, Namespace: ns, Name: name, Object: indexable(out)})
	}
	for _, s := range services {
		apply(object.KindService, s, s.Namespace, s.Name)
	}
	for _, es := range slices {
		apply(object.KindEndpointSlice, es, es.Namespace, es.Name)
	}
	// Pods as the pod watch converts them (podwatch.go).
	for _, p := range pods {
		if pod, err := object.FromPod(p); err != nil || pod == nil {
			skipped[p.Name] = true
		} else {
			ix.Apply(index.Change{Kind: object.KindPod, Namespace: p.Namespace, Name: p.Name, Object: pod})
		}
	}
	ix.Synced()
	if !skipped["headless-bad"] {
		t.Error("a slice with a zoned and an empty address was indexed")
	}
	t.Logf("skipped: %v", skipped)

	r := resolver.New(resolver.Config{Zones: []string{"cluster.local."}, TTL: 5, Pods: resolver.PodsVerified})
	ask := func(qname string, qtype uint16) resolver.Result {
		t.Helper()
		res, ok := r.Resolve(ix.View(), index.Client{}, qname, qtype)
		if !ok {
			t.Fatalf("%s not in the zone", qname)
		}
		if m := (&dns.Msg{Answer: res.Answer, Ns: res.Ns, Extra: res.Extra}); len(m.Answer) > 0 {
			if _, err := m.Pack(); err != nil {
				t.Fatalf("%s: answer does not pack: %v", qname, err)
			}
		}
		return res
	}
	if res := ask("_p7._udp.ports.odd.svc.cluster.local.", dns.TypeSRV); res.Rcode != dns.RcodeSuccess || len(res.Answer) != 1 {
		t.Errorf("one port of 500: rcode %d, %d answers", res.Rcode, len(res.Answer))
	}
	if res := ask("ports.odd.svc.cluster.local.", dns.TypeSRV); len(res.Answer) != 500 {
		t.Errorf("every port of 500: %d answers (the server truncates for UDP)", len(res.Answer))
	}
	if res := ask(long+"."+long+".svc.cluster.local.", dns.TypeA); len(res.Answer) != 1 {
		t.Errorf("63-octet names: %d answers", len(res.Answer))
	}
	if res := ask("zoned.odd.svc.cluster.local.", dns.TypeAAAA); len(res.Answer) != 0 {
		t.Errorf("a zoned ClusterIP was answered: %v", res.Answer)
	}
	if res := ask("headless.odd.svc.cluster.local.", dns.TypeAAAA); len(res.Answer) != 2 {
		t.Errorf("headless: %v, want fd00::7 and fd00::8 (the bad slice skipped)", res.Answer)
	}
	ask("bare.odd.svc.cluster.local.", dns.TypeA)
	ask("noname.odd.svc.cluster.local.", dns.TypeCNAME)
	if res := ask("10-0-0-999.odd.pod.cluster.local.", dns.TypeA); len(res.Answer) != 0 {
		t.Errorf("a malformed pod IP was answered: %v", res.Answer)
	}
}
