// Package indextest provides a small, fixed cluster for tests of the
// packages that read an index (resolver, handler): every kind of service and
// endpoint the DNS specification distinguishes, in a few namespaces.
package indextest

import (
	"net/netip"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// Cluster returns the test cluster as changes to apply:
//
//	namespaces default, prod, staging, empty (no services)
//	prod/web     ClusterIP 10.96.0.10, ports http/80/tcp https/443/tcp dns/53/udp and an unnamed 8080,
//	             ready endpoints 10.244.1.7 (pod web-a) and 10.244.1.8 (pod web-b), not ready 10.244.1.9
//	prod/db      headless with selector, port postgres/5432/tcp, endpoints db-0 10.244.2.1 (zone zone-a), db-1 10.244.2.2
//	prod/search  ExternalName search.example.com
//	prod/alias   ExternalName web.prod.svc.cluster.local
//	prod/loop-a  ExternalName loop-b.prod.svc.cluster.local, and loop-b back to loop-a
//	prod/api     dual-stack ClusterIP 10.96.0.20 and fd00:10:96::20, endpoints in both families
//	prod/cache   headless, publishNotReadyAddresses, one not-ready endpoint 10.244.3.1
//	prod/nohosts headless without selector, no endpoints
//	prod/quiet   ClusterIP 10.96.0.30 without endpoints
//	prod/v6      headless IPv6, endpoint fd00:244::5 (pod v6-a), dual-stack pod db-x with hostname
//	staging/web  ClusterIP 10.96.1.10
//	default/kubernetes ClusterIP 10.96.0.1, https/443/tcp
//	pods         prod/web-a 10.244.1.7, prod/v6-a fd00:244::5
func Cluster() []index.Change {
	var cs []index.Change
	ns := func(name string, labels map[string]string) {
		cs = append(cs, index.Change{Kind: object.KindNamespace, Name: name,
			Object: &object.Namespace{Meta: object.Meta{Name: name, Labels: labels}}})
	}
	svc := func(s *object.Service) {
		cs = append(cs, index.Change{Kind: object.KindService, Namespace: s.Namespace, Name: s.Name, Object: s})
	}
	slice := func(es *object.EndpointSlice) {
		cs = append(cs, index.Change{Kind: object.KindEndpointSlice, Namespace: es.Namespace, Name: es.Name, Object: es})
	}
	pod := func(p *object.Pod) {
		cs = append(cs, index.Change{Kind: object.KindPod, Namespace: p.Namespace, Name: p.Name, Object: p})
	}
	meta := func(ns, name string) object.Meta {
		return object.Meta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}}
	}

	ns("default", nil)
	ns("prod", map[string]string{"env": "prod"})
	ns("staging", map[string]string{"env": "staging"})
	ns("empty", nil)

	svc((&object.Service{Meta: meta("default", "kubernetes"), Type: object.ClusterIP,
		Ports: []object.Port{{Name: "https", Protocol: "tcp", Port: 443}}}).SetClusterIPs(Addrs("10.96.0.1")))

	webPorts := []object.Port{{Name: "http", Protocol: "tcp", Port: 80}, {Name: "https", Protocol: "tcp", Port: 443}, {Name: "dns", Protocol: "udp", Port: 53}, {Protocol: "tcp", Port: 8080}}
	svc((&object.Service{Meta: meta("prod", "web"), Type: object.ClusterIP, HasSelector: true,
		Ports: webPorts}).SetClusterIPs(Addrs("10.96.0.10")))
	slice(&object.EndpointSlice{Meta: meta("prod", "web-abcde"), ServiceName: "web",
		Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 8080}},
		Endpoints: []object.Endpoint{
			{Addresses: Addrs("10.244.1.7"), TargetPod: "web-a", Ready: true},
			{Addresses: Addrs("10.244.1.8"), TargetPod: "web-b", Ready: true},
			{Addresses: Addrs("10.244.1.9"), TargetPod: "web-c", Ready: false},
		}})

	svc(&object.Service{Meta: meta("prod", "db"), Type: object.Headless, HasSelector: true,
		Ports: []object.Port{{Name: "postgres", Protocol: "tcp", Port: 5432}}})
	slice(&object.EndpointSlice{Meta: meta("prod", "db-xyz"), ServiceName: "db",
		Ports: []object.Port{{Name: "postgres", Protocol: "tcp", Port: 5432}},
		Endpoints: []object.Endpoint{
			{Addresses: Addrs("10.244.2.1"), Hostname: "db-0", TargetPod: "db-0", Zone: object.MakeZone("zone-a"), Ready: true},
			{Addresses: Addrs("10.244.2.2"), Hostname: "db-1", TargetPod: "db-1", Ready: true},
		}})

	svc(&object.Service{Meta: meta("prod", "search"), Type: object.ExternalName, Extra: &object.ServiceExtra{ExternalName: "search.example.com."}})
	svc(&object.Service{Meta: meta("prod", "alias"), Type: object.ExternalName, Extra: &object.ServiceExtra{ExternalName: "web.prod.svc.cluster.local."}})
	svc(&object.Service{Meta: meta("prod", "loop-a"), Type: object.ExternalName, Extra: &object.ServiceExtra{ExternalName: "loop-b.prod.svc.cluster.local."}})
	svc(&object.Service{Meta: meta("prod", "loop-b"), Type: object.ExternalName, Extra: &object.ServiceExtra{ExternalName: "loop-a.prod.svc.cluster.local."}})

	svc((&object.Service{Meta: meta("prod", "api"), Type: object.ClusterIP, HasSelector: true,
		Ports: []object.Port{{Name: "grpc", Protocol: "tcp", Port: 9090}}}).SetClusterIPs(Addrs("10.96.0.20", "fd00:10:96::20")))
	slice(&object.EndpointSlice{Meta: meta("prod", "api-v4"), ServiceName: "api",
		Ports:     []object.Port{{Name: "grpc", Protocol: "tcp", Port: 9090}},
		Endpoints: []object.Endpoint{{Addresses: Addrs("10.244.4.1"), Ready: true}}})
	slice(&object.EndpointSlice{Meta: meta("prod", "api-v6"), ServiceName: "api",
		Ports:     []object.Port{{Name: "grpc", Protocol: "tcp", Port: 9090}},
		Endpoints: []object.Endpoint{{Addresses: Addrs("fd00:244::41"), Ready: true}}})

	svc(&object.Service{Meta: meta("prod", "cache"), Type: object.Headless, HasSelector: true, PublishNotReadyAddresses: true})
	slice(&object.EndpointSlice{Meta: meta("prod", "cache-1"), ServiceName: "cache",
		Endpoints: []object.Endpoint{{Addresses: Addrs("10.244.3.1"), Ready: false}}})

	svc(&object.Service{Meta: meta("prod", "nohosts"), Type: object.Headless})
	svc((&object.Service{Meta: meta("prod", "quiet"), Type: object.ClusterIP, HasSelector: true}).SetClusterIPs(Addrs("10.96.0.30")))

	svc(&object.Service{Meta: meta("prod", "v6"), Type: object.Headless, HasSelector: true,
		Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}})
	slice(&object.EndpointSlice{Meta: meta("prod", "v6-1"), ServiceName: "v6",
		Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}},
		Endpoints: []object.Endpoint{
			{Addresses: Addrs("fd00:244::5"), TargetPod: "v6-a", Ready: true},
			{Addresses: Addrs("fd00:244::6"), Hostname: "db-x", Ready: true},
		}})
	slice(&object.EndpointSlice{Meta: meta("prod", "v6-2"), ServiceName: "v6",
		Ports:     []object.Port{{Name: "http", Protocol: "tcp", Port: 80}},
		Endpoints: []object.Endpoint{{Addresses: Addrs("10.244.6.6"), Hostname: "db-x", Ready: true}}})

	svc((&object.Service{Meta: meta("staging", "web"), Type: object.ClusterIP}).SetClusterIPs(Addrs("10.96.1.10")))

	pod(&object.Pod{Meta: object.Meta{Name: "web-a", Namespace: "prod"}, IPs: Addrs("10.244.1.7")})
	pod(&object.Pod{Meta: object.Meta{Name: "v6-a", Namespace: "prod"}, IPs: Addrs("fd00:244::5")})
	return cs
}

// Clusterset returns the ServiceImports of the test clusterset and the
// EndpointSlices an MCS controller writes for them, from clusters
// cluster-a and cluster-b, as changes to apply:
//
//	prod/web   ClusterSetIP 10.100.0.10 and fd00:100::10, ports http/80/tcp and an unnamed 8080,
//	           endpoint 10.244.1.7 from cluster-a (also prod/web's in Cluster)
//	prod/db    headless, port postgres/5432/tcp: cluster-a db-0 10.1.0.1 (and 10.1.0.2, not ready),
//	           cluster-b db-0 10.2.0.1 and 10.2.0.2 without a hostname
//	prod/idle  ClusterSetIP 10.100.0.30 without endpoints
//	prod/gone  headless without endpoints
func Clusterset() []index.Change {
	var cs []index.Change
	imp := func(si *object.ServiceImport) {
		cs = append(cs, index.Change{Kind: object.KindServiceImport, Namespace: si.Namespace, Name: si.Name, Object: si})
	}
	slice := func(name, service, cluster string, ports []object.Port, eps ...object.Endpoint) {
		cs = append(cs, index.Change{Kind: object.KindEndpointSlice, Namespace: "prod", Name: name, Object: &object.EndpointSlice{
			Meta: object.Meta{Name: name, Namespace: "prod"}, MultiClusterService: service, SourceCluster: cluster,
			Ports: ports, Endpoints: eps}})
	}
	meta := func(name string) object.Meta { return object.Meta{Name: name, Namespace: "prod"} }
	http := []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}
	postgres := []object.Port{{Name: "postgres", Protocol: "tcp", Port: 5432}}

	imp(&object.ServiceImport{Meta: meta("web"), Type: object.ClusterIP, IPs: Addrs("10.100.0.10", "fd00:100::10"),
		Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}, {Protocol: "tcp", Port: 8080}}})
	slice("web-a", "web", "cluster-a", http, object.Endpoint{Addresses: Addrs("10.244.1.7"), Ready: true})

	imp(&object.ServiceImport{Meta: meta("db"), Type: object.Headless, Ports: postgres})
	slice("db-a", "db", "cluster-a", postgres,
		object.Endpoint{Addresses: Addrs("10.1.0.1"), Hostname: "db-0", Ready: true},
		object.Endpoint{Addresses: Addrs("10.1.0.2"), Hostname: "db-1", Ready: false})
	slice("db-b", "db", "cluster-b", postgres,
		object.Endpoint{Addresses: Addrs("10.2.0.1"), Hostname: "db-0", Ready: true},
		object.Endpoint{Addresses: Addrs("10.2.0.2"), Ready: true})

	imp(&object.ServiceImport{Meta: meta("idle"), Type: object.ClusterIP, IPs: Addrs("10.100.0.30"), Ports: http})
	imp(&object.ServiceImport{Meta: meta("gone"), Type: object.Headless})
	return cs
}

// Index returns an index holding Cluster and Clusterset, built with opts
// (Clusterset shows only with opts.Multicluster).
func Index(opts index.Options) *index.Index {
	ix := index.New(opts)
	ix.Replace(append(Cluster(), Clusterset()...))
	return ix
}

// Addrs parses addresses written as text, for the objects of a test.
func Addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}
