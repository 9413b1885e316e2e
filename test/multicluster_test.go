package test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/cluster"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/typed/apis/v1alpha1"
)

// TestMulticlusterEndToEnd runs clusterdns with `multicluster` against a
// real API server holding the ServiceImport CRD of the pinned mcs-api
// module, with the RBAC of deploy/overlays/multicluster. The test plays
// the MCS controller: it writes ServiceImports and, for three simulated
// member clusters, EndpointSlices labelled with the import's name and the
// cluster's id, changes them, and waits (polling, with a deadline) for
// each answer to follow.
func TestMulticlusterEndToEnd(t *testing.T) {
	c := cluster.Start(t, cluster.Options{APIOnly: true})
	c.InstallServiceImportCRD()
	ctx, cancel := context.WithTimeout(context.Background(), 5*e2eTimeout)
	t.Cleanup(cancel)
	e := &e2e{c: c, ctx: ctx, zones: []string{"cluster.local", "clusterset.local", "in-addr.arpa", "ip6.arpa"}}
	e.kubeconfig = e.installRBAC(t, "deploy/overlays/multicluster/clusterrole-serviceimports.yaml")
	mcs, err := mcsclient.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	const ns = "shop"
	e.namespace(t, ns, nil)
	imports := mcs.ServiceImports(ns)
	slices := c.Client.DiscoveryV1().EndpointSlices(ns)

	s := e.startClusterdns(t, "multicluster clusterset.local")
	const web, db = "web.shop.svc.clusterset.local.", "db.shop.svc.clusterset.local."

	// A ClusterSetIP import: A and PTR, and both follow a change of IP.
	si := &mcsv1alpha1.ServiceImport{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: mcsv1alpha1.ServiceImportSpec{
		Type: mcsv1alpha1.ClusterSetIP, IPs: []string{"10.100.0.10"},
		Ports: []mcsv1alpha1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}}}
	if si, err = imports.Create(ctx, si, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, web, dns.TypeA, is("10.100.0.10"))
	eventually(t, s, "_http._tcp."+web, dns.TypeSRV, is("80 "+web))
	si.Spec.IPs = []string{"10.100.0.11"}
	if _, err = imports.Update(ctx, si, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, web, dns.TypeA, is("10.100.0.11"))
	eventually(t, s, "11.0.100.10.in-addr.arpa.", dns.TypePTR, is(web))
	eventually(t, s, "10.0.100.10.in-addr.arpa.", dns.TypePTR, nxdomain)

	// A headless import, its endpoints from three clusters.
	if _, err = imports.Create(ctx, &mcsv1alpha1.ServiceImport{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: mcsv1alpha1.ServiceImportSpec{
		Type: mcsv1alpha1.Headless, Ports: []mcsv1alpha1.ServicePort{{Name: "postgres", Protocol: corev1.ProtocolTCP, Port: 5432}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, db, dns.TypeA, nxdomain) // no ready endpoints yet
	for i, cl := range []string{"cluster-a", "cluster-b", "cluster-c"} {
		if _, err = slices.Create(ctx, mcSlice("db", cl, map[string]bool{fmt.Sprintf("10.0.%d.1", i+1): true}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, s, db, dns.TypeA, is("10.0.1.1", "10.0.2.1", "10.0.3.1"))
	eventually(t, s, "db-0.cluster-b."+db, dns.TypeA, is("10.0.2.1"))
	eventually(t, s, "_postgres._tcp."+db, dns.TypeSRV, is(
		"5432 db-0.cluster-a."+db, "5432 db-0.cluster-b."+db, "5432 db-0.cluster-c."+db))
	eventually(t, s, "cluster-a."+db, dns.TypeA, nxdomain)

	// Cluster b's endpoint stops being ready, cluster c leaves.
	if _, err = slices.Update(ctx, mcSlice("db", "cluster-b", map[string]bool{"10.0.2.1": false}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err = slices.Delete(ctx, "db-cluster-c", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, db, dns.TypeA, is("10.0.1.1"))
	eventually(t, s, "db-0.cluster-b."+db, dns.TypeA, nxdomain)

	// Bad input is skipped, counted, and leaves the rest served.
	if _, err = slices.Create(ctx, mcSlice("db", "Cluster_D", map[string]bool{"10.0.4.1": true}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err = imports.Create(ctx, &mcsv1alpha1.ServiceImport{ObjectMeta: metav1.ObjectMeta{Name: "pending"},
		Spec: mcsv1alpha1.ServiceImportSpec{Type: mcsv1alpha1.ClusterSetIP, Ports: []mcsv1alpha1.ServicePort{{Port: 80}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cluster.Eventually(t, ctx, "the bad import and slice skipped, logged and counted", func() error {
		for _, want := range []string{"skipping ServiceImport shop/pending", "skipping EndpointSlice shop/db-cluster-d"} {
			if !strings.Contains(s.Log(), want) {
				return fmt.Errorf("no %q in the log", want)
			}
		}
		_, body := httpGet(t, s.Metrics)
		for _, want := range []string{`coredns_clusterdns_skipped_objects_total{kind="ServiceImport",reason="no_ips"} 1`,
			`coredns_clusterdns_skipped_objects_total{kind="EndpointSlice",reason="bad_cluster_id"} 1`} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("no %s in the metrics", want)
			}
		}
		return nil
	})
	eventually(t, s, "pending.shop.svc.clusterset.local.", dns.TypeA, nxdomain)
	eventually(t, s, db, dns.TypeA, is("10.0.1.1"))

	// Deleted: gone.
	if err = imports.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, web, dns.TypeA, nxdomain)
	eventually(t, s, "11.0.100.10.in-addr.arpa.", dns.TypePTR, nxdomain)
}

// mcSlice is the EndpointSlice an MCS controller writes for cluster's
// endpoints of the ServiceImport service: the endpoint at each address,
// ready or not, named db-0, db-1... in address order.
func mcSlice(service, cluster string, ready map[string]bool) *discoveryv1.EndpointSlice {
	es := manualSlice(service, ready)
	es.Name = service + "-" + strings.ToLower(strings.ReplaceAll(cluster, "_", "-"))
	es.Labels = map[string]string{mcsv1alpha1.LabelServiceName: service, mcsv1alpha1.LabelSourceCluster: cluster}
	es.Ports = []discoveryv1.EndpointPort{{Name: ptr.To("postgres"), Port: ptr.To[int32](5432), Protocol: ptr.To(corev1.ProtocolTCP)}}
	for i := range es.Endpoints {
		es.Endpoints[i].Hostname = ptr.To("db-" + string(rune('0'+i)))
	}
	return es
}
