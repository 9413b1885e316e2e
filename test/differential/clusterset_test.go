package differential

import (
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/cluster"
	"github.com/clusterdns/clusterdns/test/testkit"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/typed/apis/v1alpha1"
)

// clustersetZone is the multicluster zone of the multicluster mode.
const clustersetZone = "clusterset.local."

// populateClusterset writes what an MCS controller writes into the
// importing cluster, for three member clusters: ServiceImports (with the
// CRD of the pinned mcs-api module) and EndpointSlices labelled with the
// import's name and the member cluster's id, in both families, ready and
// not, with and without hostnames. Some imports share a Service's name,
// which must not leak between the zones.
func populateClusterset(t *testing.T, ctx context.Context, c *cluster.Cluster) {
	t.Helper()
	c.InstallServiceImportCRD()
	mcs, err := mcsclient.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	port := func(name string, p int32, proto corev1.Protocol) mcsv1alpha1.ServicePort {
		return mcsv1alpha1.ServicePort{Name: name, Port: p, Protocol: proto}
	}
	imp := func(name string, typ mcsv1alpha1.ServiceImportType, ips []string, ports ...mcsv1alpha1.ServicePort) {
		t.Helper()
		_, err := mcs.ServiceImports(nsA).Create(ctx, &mcsv1alpha1.ServiceImport{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: mcsv1alpha1.ServiceImportSpec{Type: typ, IPs: ips, Ports: ports}}, metav1.CreateOptions{})
		must("serviceimport "+name, err)
	}
	http, pg := port("http", 80, corev1.ProtocolTCP), port("pg", 5432, corev1.ProtocolTCP)
	imp("web", mcsv1alpha1.ClusterSetIP, []string{"10.210.0.10"}, http, port("dns", 53, corev1.ProtocolUDP), port("", 8080, corev1.ProtocolTCP))
	imp("web-ds", mcsv1alpha1.ClusterSetIP, []string{"10.210.0.11", "fd00:10:210::11"}, http)
	imp("quiet", mcsv1alpha1.ClusterSetIP, []string{"10.210.0.12"}, http)
	imp("db-hl", mcsv1alpha1.Headless, nil, pg)
	imp("gone-hl", mcsv1alpha1.Headless, nil, pg)

	slice := func(svc, cluster string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) {
		t.Helper()
		s := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: svc + "-" + cluster + "-" + strings.ToLower(string(family)), Labels: map[string]string{
				mcsv1alpha1.LabelServiceName:   svc,
				mcsv1alpha1.LabelSourceCluster: cluster,
				discoveryv1.LabelManagedBy:     "differential-test-mcs-controller",
			}},
			AddressType: family, Ports: ports, Endpoints: eps,
		}
		_, err := c.Client.DiscoveryV1().EndpointSlices(nsA).Create(ctx, s, metav1.CreateOptions{})
		must("endpointslice "+s.Name, err)
	}
	ep := func(ready bool, hostname string, addrs ...string) discoveryv1.Endpoint {
		e := discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}
		if hostname != "" {
			e.Hostname = ptr.To(hostname)
		}
		return e
	}
	epPort := func(name string, p int32) []discoveryv1.EndpointPort {
		return []discoveryv1.EndpointPort{{Name: ptr.To(name), Port: ptr.To(p), Protocol: ptr.To(corev1.ProtocolTCP)}}
	}
	v4, v6 := discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6
	slice("web", "cluster-a", v4, epPort("http", 80), ep(true, "", "10.220.0.1"))
	slice("db-hl", "cluster-a", v4, epPort("pg", 5432), ep(true, "db-0", "10.220.1.1"), ep(false, "db-1", "10.220.1.2"))
	slice("db-hl", "cluster-b", v4, epPort("pg", 5432), ep(true, "db-0", "10.220.2.1"), ep(true, "", "10.220.2.2"))
	slice("db-hl", "cluster-c", v6, epPort("pg", 5432), ep(true, "db-0", "fd00:10:220::3"), ep(true, "", "fd00:10:220::"))
}

// clusterset is the multicluster mode's world: the ServiceImports and the
// multi-cluster slices.
type clusterset struct {
	imports []mcsv1alpha1.ServiceImport
	slices  []discoveryv1.EndpointSlice
}

func listClusterset(t *testing.T, ctx context.Context, c *cluster.Cluster, w world) clusterset {
	t.Helper()
	mcs, err := mcsclient.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	list, err := mcs.ServiceImports("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs := clusterset{imports: list.Items}
	for _, sl := range w.slices {
		if multiClusterSlice(sl) {
			cs.slices = append(cs.slices, sl)
		}
	}
	return cs
}

// multiClusterSlice tells a slice an MCS controller wrote from a
// cluster's own.
func multiClusterSlice(sl discoveryv1.EndpointSlice) bool {
	return sl.Labels[mcsv1alpha1.LabelServiceName] != ""
}

// names are every name KEP-1645's specification defines for the
// clusterset, the names it says must not exist, and near misses.
func (cs clusterset) names() []string {
	set := newNameSet()
	for _, n := range []string{"", "dns-version.", "ns.dns.", "svc.", "nothere.", "nosuchns.svc.", nsA + ".svc.", nsEmpty + ".svc."} {
		set.add(n + clustersetZone)
	}
	var ips []string
	for _, si := range cs.imports {
		svc := si.Name + "." + si.Namespace + ".svc." + clustersetZone
		set.add(svc)
		set.add(strings.ToUpper(svc))
		set.add("cluster-a." + svc)
		for _, p := range si.Spec.Ports {
			proto := "_" + strings.ToLower(string(p.Protocol))
			set.add(proto + "." + svc)
			if p.Name != "" {
				set.add("_" + p.Name + "." + proto + "." + svc)
			}
		}
		set.add("_nosuchport._tcp." + svc)
		ips = append(ips, si.Spec.IPs...)
	}
	for _, sl := range cs.slices {
		svc := sl.Labels[mcsv1alpha1.LabelServiceName] + "." + sl.Namespace + ".svc." + clustersetZone
		cl := sl.Labels[mcsv1alpha1.LabelSourceCluster]
		set.add(cl + "." + svc)
		for _, ep := range sl.Endpoints {
			if ep.Hostname != nil {
				set.add(*ep.Hostname + "." + cl + "." + svc)
				set.add(*ep.Hostname + "." + svc)
				set.add(*ep.Hostname + ".nosuchcluster." + svc)
			}
			// Not their reverse names: stock sends no reply for the
			// address of a slice without a kubernetes.io/service-name
			// label (it makes a PTR target with an empty label, which
			// does not pack), so there is nothing to compare.
			for _, a := range ep.Addresses {
				set.add(testkit.Dashed(a) + "." + cl + "." + svc)
			}
		}
	}
	for _, ip := range ips {
		if r, err := dns.ReverseAddr(ip); err == nil {
			set.add(r)
		}
	}
	return set.list
}

// addExisting adds to names the clusterset's names outside its imports':
// the apex, dns-version and ns.dns, and the reverse names of the
// ClusterSetIPs and the multi-cluster endpoints.
func (cs clusterset) addExisting(names map[string]bool) {
	for _, n := range []string{"", "dns-version.", "ns.dns."} {
		names[n+clustersetZone] = true
	}
	var ips []string
	for _, si := range cs.imports {
		ips = append(ips, si.Spec.IPs...)
	}
	for _, sl := range cs.slices {
		for _, ep := range sl.Endpoints {
			ips = append(ips, ep.Addresses...)
		}
	}
	for _, ip := range ips {
		if r, err := dns.ReverseAddr(ip); err == nil {
			names[r] = true
		}
	}
}
