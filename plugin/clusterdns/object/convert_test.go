package object

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	created = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	updated = time.Date(2026, 3, 2, 12, 30, 0, 0, time.UTC)
	older   = time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              name,
		Namespace:         ns,
		CreationTimestamp: metav1.NewTime(created),
	}
}

func TestFromService(t *testing.T) {
	withManagedFields := objectMeta("prod", "web")
	withManagedFields.Labels = map[string]string{"app": "web"}
	withManagedFields.ManagedFields = []metav1.ManagedFieldsEntry{
		{Manager: "kubectl", Time: ptr(metav1.NewTime(older))},
		{Manager: "controller", Time: ptr(metav1.NewTime(updated))},
		{Manager: "nil-time"},
	}

	tests := []conversionCase[corev1.Service, Service]{
		{
			name: "cluster IP with ports and labels",
			in: &corev1.Service{
				ObjectMeta: withManagedFields,
				Spec: corev1.ServiceSpec{
					Type:       corev1.ServiceTypeClusterIP,
					ClusterIP:  "10.96.0.10",
					ClusterIPs: []string{"10.96.0.10"},
					Selector:   map[string]string{"app": "web"},
					Ports: []corev1.ServicePort{
						{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80},
						{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53},
						{Name: "assoc", Protocol: corev1.ProtocolSCTP, Port: 9000},
						{Name: "default-proto", Port: 8080},
					},
				},
			},
			want: (&Service{
				Meta:        Meta{Name: "web", Namespace: "prod", Labels: map[string]string{"app": "web"}, Changed: StampOf(updated)},
				Type:        ClusterIP,
				HasSelector: true,
				Ports: []Port{
					{Name: "http", Protocol: "tcp", Port: 80},
					{Name: "dns", Protocol: "udp", Port: 53},
					{Name: "assoc", Protocol: "sctp", Port: 9000},
					{Name: "default-proto", Protocol: "tcp", Port: 8080},
				},
			}).SetClusterIPs(addrs("10.96.0.10")),
		},
		{
			name: "dual stack from clusterIPs",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "api"),
				Spec: corev1.ServiceSpec{
					ClusterIP:  "10.96.0.20",
					ClusterIPs: []string{"10.96.0.20", "fd00:10:96::20"},
				},
			},
			want: (&Service{
				Meta: Meta{Name: "api", Namespace: "prod", Changed: StampOf(created)},
				Type: ClusterIP,
			}).SetClusterIPs(addrs("10.96.0.20", "fd00:10:96::20")),
		},
		{
			name: "clusterIP only, as older manifests have it",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "old"),
				Spec:       corev1.ServiceSpec{ClusterIP: "10.96.0.30"},
			},
			want: (&Service{
				Meta: Meta{Name: "old", Namespace: "prod", Changed: StampOf(created)},
				Type: ClusterIP,
			}).SetClusterIPs(addrs("10.96.0.30")),
		},
		{
			name: "node port and load balancer answer as cluster IP",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "lb"),
				Spec: corev1.ServiceSpec{
					Type:       corev1.ServiceTypeLoadBalancer,
					ClusterIPs: []string{"10.96.0.40"},
					Ports:      []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080}},
				},
			},
			want: (&Service{
				Meta:  Meta{Name: "lb", Namespace: "prod", Changed: StampOf(created)},
				Type:  ClusterIP,
				Ports: []Port{{Name: "http", Protocol: "tcp", Port: 80}},
			}).SetClusterIPs(addrs("10.96.0.40")),
		},
		{
			name: "cluster IP service without an address yet",
			in:   &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "prod"}},
			want: &Service{Meta: Meta{Name: "new", Namespace: "prod"}, Type: ClusterIP},
		},
		{
			name: "headless",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "db"),
				Spec: corev1.ServiceSpec{
					ClusterIP:                "None",
					ClusterIPs:               []string{"None"},
					PublishNotReadyAddresses: true,
					Selector:                 map[string]string{"app": "db"},
					Ports:                    []corev1.ServicePort{{Name: "postgres", Protocol: corev1.ProtocolTCP, Port: 5432}},
				},
			},
			want: &Service{
				Meta:                     Meta{Name: "db", Namespace: "prod", Changed: StampOf(created)},
				Type:                     Headless,
				HasSelector:              true,
				PublishNotReadyAddresses: true,
				Ports:                    []Port{{Name: "postgres", Protocol: "tcp", Port: 5432}},
			},
		},
		{
			name: "headless from clusterIPs only",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "db"),
				Spec:       corev1.ServiceSpec{ClusterIPs: []string{"None"}},
			},
			want: &Service{Meta: Meta{Name: "db", Namespace: "prod", Changed: StampOf(created)}, Type: Headless},
		},
		{
			name: "external name lower-cased and qualified",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "search"),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "Search.Example.COM"},
			},
			want: &Service{Meta: Meta{Name: "search", Namespace: "prod", Changed: StampOf(created)}, Type: ExternalName, Extra: &ServiceExtra{ExternalName: "search.example.com."}},
		},
		{
			name: "external name already qualified",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "search"),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "search.example.com."},
			},
			want: &Service{Meta: Meta{Name: "search", Namespace: "prod", Changed: StampOf(created)}, Type: ExternalName, Extra: &ServiceExtra{ExternalName: "search.example.com."}},
		},
		{
			name: "invalid cluster IP",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "web"),
				Spec:       corev1.ServiceSpec{ClusterIPs: []string{"10.0.0.1", "10.0.0.x"}},
			},
			wantErr: `invalid clusterIP "10.0.0.x"`,
		},
		{
			name: "cluster IP with a zone",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "web"),
				Spec:       corev1.ServiceSpec{ClusterIP: "fe80::1%eth0"},
			},
			wantErr: `invalid clusterIP "fe80::1%eth0"`,
		},
		{
			name: "empty external name",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "search"),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName},
			},
			wantErr: "externalName is empty",
		},
		{
			name: "external name not a domain name",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "search"),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "a..b"},
			},
			wantErr: `invalid externalName "a..b"`,
		},
		{
			name: "external name too long",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "search"),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: strings.Repeat("a", 64) + ".com"},
			},
			wantErr: "invalid externalName",
		},
		{
			name: "port out of range",
			in: &corev1.Service{
				ObjectMeta: objectMeta("prod", "web"),
				Spec:       corev1.ServiceSpec{ClusterIP: "10.0.0.1", Ports: []corev1.ServicePort{{Name: "big", Port: 70000}}},
			},
			wantErr: `port "big": number 70000 out of range`,
		},
		{
			name:    "nil",
			wantErr: "nil Service",
		},
	}
	checkConversions(t, "FromService", FromService, tests)
}

func TestFromEndpointSlice(t *testing.T) {
	sliceMeta := objectMeta("prod", "web-abc12")
	sliceMeta.Labels = map[string]string{
		discoveryv1.LabelServiceName: "web",
		discoveryv1.LabelManagedBy:   "endpointslice-controller.k8s.io",
	}

	tests := []conversionCase[discoveryv1.EndpointSlice, EndpointSlice]{
		{
			name: "ready, not ready and unknown endpoints",
			in: &discoveryv1.EndpointSlice{
				ObjectMeta:  sliceMeta,
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports: []discoveryv1.EndpointPort{
					{Name: ptr("http"), Protocol: ptr(corev1.ProtocolTCP), Port: ptr[int32](8080)},
					{Name: ptr("metrics"), Protocol: ptr(corev1.Protocol("UDP")), Port: ptr[int32](9090)},
					{Port: ptr[int32](7000)},
					{Name: ptr("all-ports")},
				},
				Endpoints: []discoveryv1.Endpoint{
					{
						Addresses:  []string{"10.244.1.7"},
						Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
						TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "prod", Name: "web-7d4f9-abcde"},
						NodeName:   ptr("node-1"),
						Zone:       ptr("us-west-2a"),
					},
					{
						Addresses:  []string{"10.244.2.8"},
						Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)},
						Hostname:   ptr("web-1"),
						Zone:       ptr("US-West-2B"),
					},
					{
						Addresses: []string{"10.244.3.9", "10.244.3.10"},
						TargetRef: &corev1.ObjectReference{Kind: "Node", Name: "node-3"},
					},
				},
			},
			want: &EndpointSlice{
				Meta:        Meta{Name: "web-abc12", Namespace: "prod", Changed: StampOf(created)},
				ServiceName: "web",
				Ports: []Port{
					{Name: "http", Protocol: "tcp", Port: 8080},
					{Name: "metrics", Protocol: "udp", Port: 9090},
					{Name: "", Protocol: "tcp", Port: 7000},
				},
				Endpoints: []Endpoint{
					{Addresses: addrs("10.244.1.7"), TargetPod: "web-7d4f9-abcde", Zone: MakeZone("us-west-2a"), Ready: true},
					{Addresses: addrs("10.244.2.8"), Hostname: "web-1", Zone: MakeZone("us-west-2b"), Ready: false},
					{Addresses: addrs("10.244.3.9", "10.244.3.10"), Ready: true},
				},
			},
		},
		{
			name: "IPv6",
			in: &discoveryv1.EndpointSlice{
				ObjectMeta:  objectMeta("prod", "api-v6"),
				AddressType: discoveryv1.AddressTypeIPv6,
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"fd00:10:244:1::7"}}},
			},
			want: &EndpointSlice{
				Meta:      Meta{Name: "api-v6", Namespace: "prod", Changed: StampOf(created)},
				Endpoints: []Endpoint{{Addresses: addrs("fd00:10:244:1::7"), Ready: true}},
			},
		},
		{
			name: "FQDN slices are skipped",
			in: &discoveryv1.EndpointSlice{
				ObjectMeta:  sliceMeta,
				AddressType: discoveryv1.AddressTypeFQDN,
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"db.example.com"}}},
			},
		},
		{
			name: "invalid address",
			in: &discoveryv1.EndpointSlice{
				ObjectMeta:  sliceMeta,
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints: []discoveryv1.Endpoint{
					{Addresses: []string{"10.244.1.7"}},
					{Addresses: []string{"10.244.1.300"}},
				},
			},
			wantErr: `endpoints[1]: invalid address "10.244.1.300"`,
		},
		{
			name: "address of the wrong family",
			in: &discoveryv1.EndpointSlice{
				ObjectMeta:  sliceMeta,
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"fd00::7"}}},
			},
			wantErr: `endpoints[0]: address "fd00::7" is not of addressType IPv4`,
		},
		{
			name: "port out of range",
			in: &discoveryv1.EndpointSlice{
				ObjectMeta:  sliceMeta,
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr[int32](0)}},
			},
			wantErr: `port "http": number 0 out of range`,
		},
		{
			name:    "nil",
			wantErr: "nil EndpointSlice",
		},
	}
	checkConversions(t, "FromEndpointSlice", FromEndpointSlice, tests)
}

// Endpoints share one array of addresses; appending to one endpoint's
// addresses must not overwrite the next endpoint's.
func TestFromEndpointSliceAddressesDoNotAlias(t *testing.T) {
	es, err := FromEndpointSlice(&discoveryv1.EndpointSlice{
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1"}},
			{Addresses: []string{"10.0.0.2"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = append(es.Endpoints[0].Addresses, netip.MustParseAddr("10.9.9.9"))
	if got := es.Endpoints[1].Addresses[0]; got != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("second endpoint's address = %s after appending to the first's", got)
	}
}

// Equal zones of different slices share one name: a zone name per
// endpoint kept alive from each decoded slice would cost more than the
// endpoint's other fields.
func TestFromEndpointSliceZonesShared(t *testing.T) {
	zone := func(z string) *Endpoint {
		es, err := FromEndpointSlice(&discoveryv1.EndpointSlice{
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Zone: ptr(z)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return &es.Endpoints[0]
	}
	a, b := zone(string([]byte("us-west-2a"))), zone(string([]byte("us-west-2a")))
	if a.Zone.String() != "us-west-2a" || unsafe.StringData(a.Zone.String()) != unsafe.StringData(b.Zone.String()) {
		t.Fatalf("zones %q and %q are two strings, want one", a.Zone, b.Zone)
	}
}

func TestFromPod(t *testing.T) {
	deleting := objectMeta("prod", "web-7d4f9-abcde")
	deleting.DeletionTimestamp = ptr(metav1.NewTime(updated))
	labelled := objectMeta("prod", "web-7d4f9-abcde")
	labelled.Labels = map[string]string{"app": "web"}

	tests := []conversionCase[corev1.Pod, Pod]{
		{
			name: "dual stack from podIPs, labels dropped",
			in: &corev1.Pod{
				ObjectMeta: labelled,
				Status: corev1.PodStatus{
					Phase: corev1.PodRunning,
					PodIP: "10.244.1.7",
					PodIPs: []corev1.PodIP{
						{IP: "10.244.1.7"},
						{IP: "fd00:10:244:1::7"},
					},
				},
			},
			want: &Pod{
				Meta: Meta{Name: "web-7d4f9-abcde", Namespace: "prod", Changed: StampOf(created)},
				IPs:  addrs("10.244.1.7", "fd00:10:244:1::7"),
			},
		},
		{
			name: "podIP only",
			in: &corev1.Pod{
				ObjectMeta: objectMeta("prod", "old"),
				Status:     corev1.PodStatus{PodIP: "10.244.1.8"},
			},
			want: &Pod{Meta: Meta{Name: "old", Namespace: "prod", Changed: StampOf(created)}, IPs: addrs("10.244.1.8")},
		},
		{
			name: "pending pod without an IP",
			in: &corev1.Pod{
				ObjectMeta: objectMeta("prod", "pending"),
				Status:     corev1.PodStatus{Phase: corev1.PodPending},
			},
			want: &Pod{Meta: Meta{Name: "pending", Namespace: "prod", Changed: StampOf(created)}},
		},
		{
			name: "being deleted still counts",
			in: &corev1.Pod{
				ObjectMeta: deleting,
				Status:     corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.244.1.7"}}},
			},
			want: &Pod{Meta: Meta{Name: "web-7d4f9-abcde", Namespace: "prod", Changed: StampOf(created)}, IPs: addrs("10.244.1.7")},
		},
		{
			name: "host network counts, with the node's address",
			in: &corev1.Pod{
				ObjectMeta: objectMeta("kube-system", "kube-proxy-x"),
				Spec:       corev1.PodSpec{HostNetwork: true},
				Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "192.168.1.10"}}},
			},
			want: &Pod{Meta: Meta{Name: "kube-proxy-x", Namespace: "kube-system", Changed: StampOf(created)}, IPs: addrs("192.168.1.10")},
		},
		{
			name: "succeeded is skipped: its address may be another pod's",
			in: &corev1.Pod{
				ObjectMeta: objectMeta("prod", "job-done"),
				Status:     corev1.PodStatus{Phase: corev1.PodSucceeded, PodIPs: []corev1.PodIP{{IP: "10.244.1.7"}}},
			},
		},
		{
			name: "failed is skipped",
			in: &corev1.Pod{
				ObjectMeta: objectMeta("prod", "job-failed"),
				Status:     corev1.PodStatus{Phase: corev1.PodFailed, PodIPs: []corev1.PodIP{{IP: "10.244.1.7"}}},
			},
		},
		{
			name: "unknown is skipped",
			in: &corev1.Pod{
				ObjectMeta: objectMeta("prod", "lost"),
				Status:     corev1.PodStatus{Phase: corev1.PodUnknown, PodIPs: []corev1.PodIP{{IP: "10.244.1.7"}}},
			},
		},
		{
			name: "invalid podIPs",
			in: &corev1.Pod{
				ObjectMeta: objectMeta("prod", "bad"),
				Status:     corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.244.1"}}},
			},
			wantErr: `invalid podIP "10.244.1"`,
		},
		{
			name: "invalid podIP",
			in: &corev1.Pod{
				ObjectMeta: objectMeta("prod", "bad"),
				Status:     corev1.PodStatus{PodIP: "pod"},
			},
			wantErr: `invalid podIP "pod"`,
		},
		{
			name:    "nil",
			wantErr: "nil Pod",
		},
	}
	checkConversions(t, "FromPod", FromPod, tests)
}

func TestFromNamespace(t *testing.T) {
	tests := []struct {
		name string
		in   *corev1.Namespace
		want *Namespace
	}{
		{
			name: "labels kept",
			in: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name:              "prod",
				Labels:            map[string]string{"kubernetes.io/metadata.name": "prod", "env": "prod"},
				CreationTimestamp: metav1.NewTime(created),
			}},
			want: &Namespace{Meta: Meta{
				Name:    "prod",
				Labels:  map[string]string{"kubernetes.io/metadata.name": "prod", "env": "prod"},
				Changed: StampOf(created),
			}},
		},
		{
			name: "no labels",
			in:   &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
			want: &Namespace{Meta: Meta{Name: "default"}},
		},
		{
			name: "nil",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromNamespace(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromNamespace =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// conversionCase is a row of a conversion test: an API object, and the slim
// object it converts to (nil when it is skipped) or the error it fails with.
type conversionCase[In, Out any] struct {
	name    string
	in      *In
	want    *Out
	wantErr string
}

// checkConversions runs convert, named name in failures, on each case. It
// also checks that the input is left as it was: an informer's objects are
// shared by every reader of its cache.
func checkConversions[In any, P interface {
	*In
	DeepCopy() *In
}, Out any](t *testing.T, name string, convert func(*In) (*Out, error), tests []conversionCase[In, Out]) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before *In
			if tc.in != nil {
				before = P(tc.in).DeepCopy()
			}
			got, err := convert(tc.in)
			checkErr(t, err, tc.wantErr)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s =\n%+v\nwant\n%+v", name, got, tc.want)
			}
			if tc.in != nil && !reflect.DeepEqual(tc.in, before) {
				t.Errorf("%s modified its input", name)
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

func TestFromServiceTTLAnnotation(t *testing.T) {
	for _, tt := range []struct {
		name    string
		value   *string
		wantTTL uint32
		wantSet bool
		wantBad string
	}{
		{name: "unset"},
		{name: "300", value: ptr("300"), wantTTL: 300, wantSet: true},
		{name: "zero disables caching", value: ptr("0"), wantTTL: 0, wantSet: true},
		{name: "the maximum", value: ptr("3600"), wantTTL: 3600, wantSet: true},
		{name: "spaces around", value: ptr(" 60 "), wantTTL: 60, wantSet: true},
		{name: "above the maximum", value: ptr("3601"), wantBad: "3601"},
		{name: "negative", value: ptr("-1"), wantBad: "-1"},
		{name: "a duration", value: ptr("5m"), wantBad: "5m"},
		{name: "empty", value: ptr(""), wantBad: ""},
		{name: "huge", value: ptr("99999999999999999999"), wantBad: "99999999999999999999"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &corev1.Service{ObjectMeta: objectMeta("prod", "web"), Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.1"}}
			if tt.value != nil {
				s.Annotations = map[string]string{TTLAnnotation: *tt.value}
			}
			got, err := FromService(s)
			if err != nil {
				t.Fatalf("an invalid TTL annotation must not make the service fail: %v", err)
			}
			if got.TTL != tt.wantTTL || got.HasTTL != tt.wantSet || got.BadTTL() != tt.wantBad {
				t.Errorf("TTL %d set %v bad %q, want %d %v %q", got.TTL, got.HasTTL, got.BadTTL(), tt.wantTTL, tt.wantSet, tt.wantBad)
			}
		})
	}
}

func TestFromServiceExternalAddrs(t *testing.T) {
	for _, tt := range []struct {
		name          string
		externalIPs   []string
		ingress       []corev1.LoadBalancerIngress
		wantIPs       []netip.Addr
		wantHostnames []string
		wantErr       string
	}{
		{name: "none: nil slices"},
		{
			name:        "externalIPs first, then ingress IPs, as stock lists them",
			externalIPs: []string{"192.0.2.1", "2001:db8::1"},
			ingress:     []corev1.LoadBalancerIngress{{IP: "198.51.100.7"}, {Hostname: "lb.example.org"}},
			wantIPs:     addrs("192.0.2.1", "2001:db8::1", "198.51.100.7"), wantHostnames: []string{"lb.example.org"},
		},
		{name: "ingress with IP and hostname: the IP", ingress: []corev1.LoadBalancerIngress{{IP: "198.51.100.7", Hostname: "lb.example.org"}}, wantIPs: addrs("198.51.100.7")},
		{name: "empty ingress entry", ingress: []corev1.LoadBalancerIngress{{}}},
		{name: "bad externalIP", externalIPs: []string{"192.0.2"}, wantErr: `invalid externalIP "192.0.2"`},
		{name: "bad ingress IP", ingress: []corev1.LoadBalancerIngress{{IP: "fe80::1%eth0"}}, wantErr: "invalid loadBalancer ingress IP"},
		{name: "bad ingress hostname", ingress: []corev1.LoadBalancerIngress{{Hostname: "a b"}}, wantErr: "invalid loadBalancer ingress hostname"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &corev1.Service{
				ObjectMeta: objectMeta("prod", "lb"),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.11", ExternalIPs: tt.externalIPs},
				Status:     corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: tt.ingress}},
			}
			got, err := FromService(s)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if !reflect.DeepEqual(got.ExternalIPs(), tt.wantIPs) || !reflect.DeepEqual(got.ExternalHostnames(), tt.wantHostnames) {
				t.Errorf("external IPs %v hostnames %q, want %v %q", got.ExternalIPs(), got.ExternalHostnames(), tt.wantIPs, tt.wantHostnames)
			}
		})
	}
}

// TestPodBuilderInAnyOrder: a PodBuilder given a pod's fields in any
// order, as a decoder meets them on the wire (a field given twice, the
// last value wins), makes the Pod FromPod makes of the pod.
func TestPodBuilderInAnyOrder(t *testing.T) {
	meta := objectMeta("prod", "web")
	meta.ManagedFields = []metav1.ManagedFieldsEntry{{Time: ptr(metav1.NewTime(updated))}, {Time: ptr(metav1.NewTime(created))}}
	want, err := FromPod(&corev1.Pod{ObjectMeta: meta, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "bad",
		PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}}})
	if err != nil || want == nil || want.Changed != StampOf(updated) {
		t.Fatalf("FromPod: %+v, %v", want, err)
	}
	b := PodBuilder{Name: "web", Namespace: "prod"}
	b.AddPodIP("10.0.0.1")
	b.Phase(corev1.PodFailed)
	b.Managed(created)
	b.PodIP("bad")
	b.Managed(updated)
	b.Created(created)
	b.AddPodIP("fd00::1")
	b.Phase(corev1.PodRunning)
	got, err := b.Pod()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("builder: %+v, %v; want FromPod's %+v", got, err, want)
	}
}
