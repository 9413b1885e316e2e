package index_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

func importChange(si *object.ServiceImport) index.Change {
	return index.Change{Kind: object.KindServiceImport, Namespace: si.Namespace, Name: si.Name, Object: si}
}

// mcSlice is an EndpointSlice an MCS controller writes for cluster's
// endpoints of the ServiceImport service.
func mcSlice(name, service, cluster string, eps ...object.Endpoint) *object.EndpointSlice {
	return &object.EndpointSlice{Meta: object.Meta{Name: name, Namespace: "prod"}, MultiClusterService: service, SourceCluster: cluster,
		Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}, Endpoints: eps}
}

func endpointNames(svc *index.Service) []string {
	var out []string
	for e := range svc.Endpoints() {
		out = append(out, e.Name+"="+e.Addr.String())
	}
	slices.Sort(out)
	return out
}

type skip struct {
	kind   object.Kind
	name   string
	reason index.SkipReason
}

func TestClusterset(t *testing.T) {
	var skipped []skip
	ix := index.New(index.Options{Multicluster: true, Skipped: func(kind object.Kind, _, name string, reason index.SkipReason, _ string) {
		skipped = append(skipped, skip{kind, name, reason})
	}})
	ix.Synced()
	ix.Apply(
		importChange(&object.ServiceImport{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP,
			IPs: []netip.Addr{ip("10.100.0.10")}, Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}}),
		importChange(&object.ServiceImport{Meta: object.Meta{Name: "db", Namespace: "prod"}, Type: object.Headless}),
		sliceChange(mcSlice("db-a", "db", "cluster-a",
			object.Endpoint{Addresses: []netip.Addr{ip("10.1.0.1")}, Hostname: "db-0", Ready: true},
			object.Endpoint{Addresses: []netip.Addr{ip("10.1.0.2")}, Ready: false})),
		sliceChange(mcSlice("db-b", "db", "Cluster-B",
			object.Endpoint{Addresses: []netip.Addr{ip("10.2.0.1")}, Hostname: "db-0", Ready: true})),
	)
	v := ix.View()
	web := v.ClustersetService([]byte("web.prod"))
	if web == nil || web.Type != object.ClusterIP || !slices.Equal(web.ClusterIPs(), []netip.Addr{ip("10.100.0.10")}) {
		t.Fatalf("web = %+v", web)
	}
	if v.Service([]byte("web.prod")) != nil || v.Service([]byte("db.prod")) != nil {
		t.Error("a ServiceImport shows in the cluster zones")
	}
	if !v.NamespaceExists([]byte("prod")) {
		t.Error("the namespace of an import does not exist")
	}
	db := v.ClustersetService([]byte("db.prod"))
	if got, want := endpointNames(db), []string{"db-0.cluster-a=10.1.0.1", "db-0.cluster-b=10.2.0.1"}; !slices.Equal(got, want) {
		t.Errorf("db endpoints = %v, want %v (ready ones, named <hostname>.<clusterid>)", got, want)
	}
	if got := v.ClustersetReverseNames(ip("10.100.0.10")); !slices.Equal(got, []string{"web.prod"}) {
		t.Errorf("reverse of the ClusterSetIP = %v", got)
	}
	if got := v.ClustersetReverseNames(ip("10.2.0.1")); !slices.Equal(got, []string{"db-0.cluster-b.db.prod"}) {
		t.Errorf("reverse of an endpoint = %v", got)
	}
	if v.ReverseNames(ip("10.100.0.10")) != nil {
		t.Error("a ClusterSetIP has a cluster-local reverse name")
	}

	// One cluster's slice changes: the other's endpoints stay as they were.
	ix.Apply(sliceChange(mcSlice("db-a", "db", "cluster-a",
		object.Endpoint{Addresses: []netip.Addr{ip("10.1.0.3")}, Hostname: "db-1", Ready: true})))
	db = ix.View().ClustersetService([]byte("db.prod"))
	if got, want := endpointNames(db), []string{"db-0.cluster-b=10.2.0.1", "db-1.cluster-a=10.1.0.3"}; !slices.Equal(got, want) {
		t.Errorf("db endpoints after a change = %v, want %v", got, want)
	}
	if ix.View().ClustersetReverseNames(ip("10.1.0.1")) != nil {
		t.Error("the reverse name of a gone endpoint stays")
	}

	// Bad input is skipped, and reported.
	ix.Apply(
		importChange(&object.ServiceImport{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}),
		sliceChange(mcSlice("db-c", "", "cluster-c", object.Endpoint{Addresses: []netip.Addr{ip("10.3.0.1")}, Ready: true})),
		sliceChange(mcSlice("db-d", "db", "cluster_d", object.Endpoint{Addresses: []netip.Addr{ip("10.4.0.1")}, Ready: true})),
		sliceChange(mcSlice("db-e", "db", "", object.Endpoint{Addresses: []netip.Addr{ip("10.5.0.1")}, Ready: true})),
	)
	want := []skip{
		{object.KindServiceImport, "web", index.SkipNoIPs},
		{object.KindEndpointSlice, "db-c", index.SkipNoServiceName},
		{object.KindEndpointSlice, "db-d", index.SkipBadClusterID},
		{object.KindEndpointSlice, "db-e", index.SkipBadClusterID},
	}
	if !slices.Equal(skipped, want) {
		t.Errorf("skipped = %v, want %v", skipped, want)
	}
	v = ix.View()
	if v.ClustersetService([]byte("web.prod")) != nil || v.ClustersetReverseNames(ip("10.100.0.10")) != nil {
		t.Error("an import without IPs is still served")
	}
	if got := v.ClustersetService([]byte("db.prod")).EndpointCount(); got != 2 {
		t.Errorf("db has %d endpoints after bad slices, want 2", got)
	}
}

// A slice labelled for a Service and a ServiceImport feeds both, and is
// one object to the snapshot and the counts.
func TestClustersetSharedSlice(t *testing.T) {
	ix := index.New(index.Options{Multicluster: true})
	ix.Synced()
	es := mcSlice("web-x", "web", "here", object.Endpoint{Addresses: []netip.Addr{ip("10.1.0.1")}, Ready: true})
	es.ServiceName = "web"
	ix.Apply(
		svcChange(&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.Headless}),
		importChange(&object.ServiceImport{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.Headless}),
		sliceChange(es),
	)
	v := ix.View()
	if got := endpointNames(v.Service([]byte("web.prod"))); !slices.Equal(got, []string{"10-1-0-1=10.1.0.1"}) {
		t.Errorf("cluster endpoints = %v", got)
	}
	if got := endpointNames(v.ClustersetService([]byte("web.prod"))); !slices.Equal(got, []string{"10-1-0-1.here=10.1.0.1"}) {
		t.Errorf("clusterset endpoints = %v", got)
	}
	objs, _ := objectsOf(ix)
	if len(objs) != 3 {
		t.Errorf("Objects = %d changes, want 3: %+v", len(objs), objs)
	}
	if c := ix.Counts(); c[object.KindEndpointSlice] != 1 || c[object.KindServiceImport] != 1 {
		t.Errorf("counts = %v", c)
	}
}

// With multicluster off, ServiceImports and multi-cluster slices are not
// indexed, and bad ones are not reported.
func TestClustersetOff(t *testing.T) {
	ix := index.New(index.Options{Skipped: func(object.Kind, string, string, index.SkipReason, string) {
		t.Error("a skip reported with multicluster off")
	}})
	ix.Synced()
	ix.Apply(
		importChange(&object.ServiceImport{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}),
		importChange(&object.ServiceImport{Meta: object.Meta{Name: "db", Namespace: "prod"}, Type: object.Headless}),
		sliceChange(mcSlice("db-a", "db", "bad_id", object.Endpoint{Addresses: []netip.Addr{ip("10.1.0.1")}, Ready: true})),
	)
	if ix.View().ClustersetService([]byte("db.prod")) != nil {
		t.Error("an import is indexed with multicluster off")
	}
	// The imports change nothing, not even the generation (a snapshot
	// rewritten for nothing); the slice is applied, to the cluster's
	// table, where it has no Service.
	if objs, gen := objectsOf(ix); len(objs) != 0 || gen != 1 {
		t.Errorf("Objects = %+v at generation %d, want none at 1", objs, gen)
	}
}

// What Objects lists of the clusterset (for the snapshot) preloads into a
// new index as it was served.
func TestClustersetPreload(t *testing.T) {
	ix := index.New(index.Options{Multicluster: true})
	ix.Synced()
	ix.Apply(
		importChange(&object.ServiceImport{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP,
			IPs: []netip.Addr{ip("10.100.0.10")}}),
		importChange(&object.ServiceImport{Meta: object.Meta{Name: "db", Namespace: "prod"}, Type: object.Headless}),
		sliceChange(mcSlice("db-a", "db", "cluster-a", object.Endpoint{Addresses: []netip.Addr{ip("10.1.0.1")}, Hostname: "db-0", Ready: true})),
	)
	objs, _ := objectsOf(ix)
	saved := index.New(index.Options{Multicluster: true})
	saved.Preload(objs)
	v := saved.View()
	if web := v.ClustersetService([]byte("web.prod")); web == nil || !slices.Equal(web.ClusterIPs(), []netip.Addr{ip("10.100.0.10")}) {
		t.Errorf("preloaded web = %+v", web)
	}
	if got := endpointNames(v.ClustersetService([]byte("db.prod"))); !slices.Equal(got, []string{"db-0.cluster-a=10.1.0.1"}) {
		t.Errorf("preloaded db endpoints = %v", got)
	}
}

// TestObjectServiceImport: Object gives back a ServiceImport the index
// holds as a Service: showing the same as the import applied, with the
// addresses the index holds (not a copy per call), which is what the API
// source's reuseIndexed needs to keep one copy of an unchanged import
// through a relist. A Service of the same name is another object.
func TestObjectServiceImport(t *testing.T) {
	ix := index.New(index.Options{Multicluster: true})
	web := &object.ServiceImport{Meta: object.Meta{Name: "web", Namespace: "prod", Labels: map[string]string{"app": "web"}, ResourceVersion: "7"},
		Type: object.ClusterIP, IPs: []netip.Addr{ip("10.100.0.10")}, Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}}
	db := &object.ServiceImport{Meta: object.Meta{Name: "db", Namespace: "prod"}, Type: object.Headless}
	svc := (&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP}).SetClusterIPs([]netip.Addr{ip("10.96.0.10")})
	ix.Apply(importChange(web), importChange(db), index.Change{Kind: object.KindService, Namespace: "prod", Name: "web", Object: svc})

	for _, want := range []*object.ServiceImport{web, db} {
		got, meta := ix.Object(object.KindServiceImport, want.Namespace, want.Name)
		si, ok := got.(*object.ServiceImport)
		if !ok || !object.SameView(si, want) || meta == nil || meta.Name != want.Name || meta.Namespace != want.Namespace {
			t.Fatalf("Object(ServiceImport %s) = %#v, %+v; want %+v", want.Name, got, meta, want)
		}
		again, _ := ix.Object(object.KindServiceImport, want.Namespace, want.Name)
		if len(want.IPs) > 0 && &si.IPs[0] != &again.(*object.ServiceImport).IPs[0] {
			t.Errorf("Object(ServiceImport %s) holds a copy of its addresses", want.Name)
		}
	}
	if got, _ := ix.Object(object.KindService, "prod", "web"); got != svc {
		t.Errorf("Object(Service web) = %#v, want the Service, not the import", got)
	}
	for _, key := range [][2]string{{"prod", "missing"}, {"other", "web"}} {
		if got, meta := ix.Object(object.KindServiceImport, key[0], key[1]); got != nil || meta != nil {
			t.Errorf("Object(ServiceImport %s/%s) = %#v, want none", key[0], key[1], got)
		}
	}
	ix.Apply(index.Change{Kind: object.KindServiceImport, Namespace: "prod", Name: "web"})
	if got, _ := ix.Object(object.KindServiceImport, "prod", "web"); got != nil {
		t.Errorf("Object(ServiceImport web) after its deletion = %#v", got)
	}
}
