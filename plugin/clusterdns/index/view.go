package index

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
)

// View is an immutable DNS view of the cluster. The query path loads one
// per query and reads it without locks; writers publish a new one.
type View struct {
	services   *entryTable
	namespaces *shards[string, struct{}]
	reverse    reverseTable
	pods       *podTable
	// zones are the numbers of the endpoints' zones (the zonal option). A
	// view shares the writer's table as it was when published: a zone seen
	// later is in no endpoint of this view.
	zones map[string]ZoneID
	// vis is who sees what (nil: everyone sees everything; see
	// visibility.go).
	vis *visibility
	// clusterset holds the ServiceImports as services, clustersetReverse
	// their reverse names (multicluster).
	clusterset        *entryTable
	clustersetReverse reverseTable
	// podsPending is set while the source has synced all but its pods
	// (Index.SyncedBeforePods): pods cannot be told apart from addresses
	// that are not pods yet.
	podsPending bool
	serial      uint32
	// replaced is closed when a newer view is published (Index.Replaced).
	replaced chan struct{}
}

// Service returns the service whose key, "name.namespace" in lower case, is
// key.
func (s *View) Service(key []byte) *Service {
	return s.services.lookup(key)
}

// ClustersetService returns the ServiceImport whose key, "name.namespace"
// in lower case, is key, as a service: ClusterSetIP imports as ClusterIP,
// their endpoints named "<hostname>.<clusterid>".
func (s *View) ClustersetService(key []byte) *Service {
	return s.clusterset.lookup(key)
}

// ClustersetReverseNames returns the names in the clusterset that point at
// addr, relative to the ".svc.<multicluster zone>" suffix.
func (s *View) ClustersetReverseNames(addr netip.Addr) []string {
	return s.clustersetReverse.names(addr)
}

// NamespaceExists tells whether the namespace (lower case) exists and is
// visible.
func (s *View) NamespaceExists(name []byte) bool {
	_, ok := lookupName(s.namespaces, name)
	return ok
}

// ZoneID returns the number of the topology zone name (lower case) in the
// view's endpoints (Endpoint.Zone); ok is false when no endpoint was seen
// in that zone, or the index does not keep zones.
func (s *View) ZoneID(name []byte) (id ZoneID, ok bool) {
	id, ok = s.zones[string(name)]
	return id, ok
}

// ReverseNames returns the names that point at addr, relative to the
// ".svc.<zone>" suffix: "svc.ns" for a cluster IP, "endpoint.svc.ns" for an
// endpoint. The slice must not be modified.
func (s *View) ReverseNames(addr netip.Addr) []string {
	return s.reverse.names(addr)
}

// PodInNamespace tells whether a pod with address addr runs in namespace
// (lower case). It needs Options.Pods.
func (s *View) PodInNamespace(addr netip.Addr, namespace []byte) bool {
	for _, p := range s.pods.at(addr) {
		if s.pods.namespace(p) == string(namespace) {
			return true
		}
	}
	return false
}

// PodsPending tells whether the view's pods are not listed yet
// (Index.SyncedBeforePods): a name that needs a pod gets SERVFAIL, not
// NXDOMAIN, until they are.
func (s *View) PodsPending() bool { return s.podsPending }

// Serial is the SOA serial: the time of the last change, in Unix seconds,
// or one past the previous view's serial when that is later. Views are
// only published when what they show changes, so the serial moves exactly
// then.
func (s *View) Serial() uint32 { return s.serial }

// sameMaps tells whether s and o share every map: a batch that wrote none
// of them changed nothing the view shows.
func (s *View) sameMaps(o *View) bool {
	return s.services == o.services && s.namespaces == o.namespaces && s.reverse.same(&o.reverse) && s.pods == o.pods &&
		s.vis == o.vis &&
		s.clusterset == o.clusterset && s.clustersetReverse.same(&o.clustersetReverse) &&
		s.podsPending == o.podsPending
}

// sameContents tells whether s and o hold the same entries, compared deeply.
func (s *View) sameContents(o *View) bool {
	return sameEntries(s.services, o.services) && sameShards(s.namespaces, o.namespaces, same) &&
		sameReverse(&s.reverse, &o.reverse) && s.pods.sameContents(o.pods) && reflect.DeepEqual(s.vis, o.vis) &&
		sameEntries(s.clusterset, o.clusterset) && sameReverse(&s.clustersetReverse, &o.clustersetReverse) &&
		s.podsPending == o.podsPending
}

// same compares deeply.
func same[V any](a, b V) bool { return reflect.DeepEqual(a, b) }

func sameShards[K comparable, V any](a, b *shards[K, V], eq func(V, V) bool) bool {
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for k, v := range a[i] {
			if w, ok := b[i][k]; !ok || !eq(v, w) {
				return false
			}
		}
	}
	return true
}

// Services returns every service of the view, sorted by name and then
// namespace: the order of a zone transfer. The slice is the caller's; the
// services are shared and must not be changed.
func (s *View) Services() []*Service { return sortedServices(s.services) }

// ClustersetServices returns every ServiceImport of the view as a service,
// in the order of Services.
func (s *View) ClustersetServices() []*Service { return sortedServices(s.clusterset) }

func sortedServices(services *entryTable) []*Service {
	out := make([]*Service, 0, services.len())
	services.all(func(svc *Service) { out = append(out, svc) })
	slices.SortFunc(out, func(a, b *Service) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace, b.Namespace)
	})
	return out
}

// PodAt returns the namespace and name of the pod with address addr (the
// first one indexed, if several claim it), without allocating. It needs
// Options.Pods.
func (s *View) PodAt(addr netip.Addr) (namespace, name string, ok bool) {
	pods := s.pods.at(addr)
	if len(pods) == 0 {
		return "", "", false
	}
	return s.pods.namespace(pods[0]), s.pods.name(pods[0]), true
}
