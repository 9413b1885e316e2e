package test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/cluster"
	"github.com/clusterdns/clusterdns/test/testkit"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestZonal: with the zonal option, the zone-scoped names of a headless
// service follow its EndpointSlices' zones through the API as they change:
// an endpoint moving between zones, a slice added in a zone, a slice
// deleted, a zone emptied. The slices are written by the test, as a
// controller of its own would (the EndpointSlice controller takes the zone
// from the pod's node: the differential test covers that).
func TestZonal(t *testing.T) {
	c := cluster.Start(t, cluster.Options{APIOnly: true})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	const ns = "zonal"
	client := c.Client
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*corev1.Service{serviceOf("db", true, nil), serviceOf("web", false, nil)} {
		if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	endpointSlices := client.DiscoveryV1().EndpointSlices(ns)
	// slice writes db's slice name with one ready endpoint per address,
	// in the zone given ("": none).
	slice := func(name string, zones map[string]string) *discoveryv1.EndpointSlice {
		es := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("pg"), Port: ptr.To[int32](5432), Protocol: ptr.To(corev1.ProtocolTCP)}},
		}
		for _, ip := range slices.Sorted(maps.Keys(zones)) {
			ep := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}
			if zones[ip] != "" {
				ep.Zone = ptr.To(zones[ip])
			}
			es.Endpoints = append(es.Endpoints, ep)
		}
		return es
	}
	first, err := endpointSlices.Create(ctx, slice("db-1", map[string]string{"10.210.0.1": "zone-a", "10.210.0.2": "zone-b", "10.210.0.9": ""}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	port := testkit.FreePort(t)
	s := startServer(t, fmt.Sprintf(`cluster.local:%d {
    bind 127.0.0.1
    clusterdns {
        kubeconfig %s
        zonal
    }
}
`, port, c.Kubeconfig))
	name := func(zone, directive string) string {
		return zone + "." + directive + "._zone.db." + ns + ".svc.cluster.local."
	}
	every := is("10.210.0.1", "10.210.0.2", "10.210.0.9")
	eventually(t, s, name("zone-a", "pin"), dns.TypeA, is("10.210.0.1"))
	eventually(t, s, name("zone-b", "pin"), dns.TypeA, is("10.210.0.2"))
	eventually(t, s, name("zone-c", "pin"), dns.TypeA, is())
	eventually(t, s, name("zone-c", "prefer"), dns.TypeA, every)
	eventually(t, s, name("zone-b", "pin"), dns.TypeSRV, is("5432 10-210-0-2.db."+ns+".svc.cluster.local."))
	// A ClusterIP service has no zone-scoped names.
	eventually(t, s, "zone-a.pin._zone.web."+ns+".svc.cluster.local.", dns.TypeA, nxdomain)

	// 10.210.0.2 moves to zone-a: zone-b is empty, its prefer falls back.
	next := slice("db-1", map[string]string{"10.210.0.1": "zone-a", "10.210.0.2": "zone-a", "10.210.0.9": ""})
	next.ResourceVersion = first.ResourceVersion
	if _, err := endpointSlices.Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, name("zone-a", "pin"), dns.TypeA, is("10.210.0.1", "10.210.0.2"))
	eventually(t, s, name("zone-b", "pin"), dns.TypeA, is())
	eventually(t, s, name("zone-b", "prefer"), dns.TypeA, every)
	eventually(t, s, name("zone-a", "pin"), dns.TypeSRV, is("5432 10-210-0-1.db."+ns+".svc.cluster.local.", "5432 10-210-0-2.db."+ns+".svc.cluster.local."))

	// A second slice brings an endpoint into zone-b (in capitals: zones
	// compare without case).
	if _, err := endpointSlices.Create(ctx, slice("db-2", map[string]string{"10.210.0.3": "Zone-B"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, name("zone-b", "pin"), dns.TypeA, is("10.210.0.3"))
	eventually(t, s, name("zone-b", "prefer"), dns.TypeA, is("10.210.0.3"))

	// The first slice goes: zone-a is empty.
	if err := endpointSlices.Delete(ctx, "db-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, name("zone-a", "pin"), dns.TypeA, is())
	eventually(t, s, name("zone-a", "prefer"), dns.TypeA, is("10.210.0.3"))
	eventually(t, s, "db."+ns+".svc.cluster.local.", dns.TypeA, is("10.210.0.3"))
}
