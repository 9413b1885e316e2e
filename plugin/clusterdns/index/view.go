package index

import "net/netip"

// View is an immutable DNS view of the cluster. The query path loads one
// per query and reads it without locks; writers publish a new one.
type View struct {
	services   *shards[string, *Service]
	namespaces *shards[string, struct{}]
	reverse    *shards[netip.Addr, []string]
	pods       *shards[netip.Addr, []podRef]
	serial     uint32
}

// Service returns the service whose key, "name.namespace" in lower case, is
// key.
func (s *View) Service(key []byte) *Service {
	svc, _ := lookupName(s.services, key)
	return svc
}

// NamespaceExists tells whether the namespace (lower case) exists and is
// visible.
func (s *View) NamespaceExists(name []byte) bool {
	_, ok := lookupName(s.namespaces, name)
	return ok
}

// ReverseNames returns the names that point at addr, relative to the
// ".svc.<zone>" suffix: "svc.ns" for a cluster IP, "endpoint.svc.ns" for an
// endpoint. The slice must not be modified.
func (s *View) ReverseNames(addr netip.Addr) []string {
	names, _ := lookupAddr(s.reverse, addr)
	return names
}

// PodInNamespace tells whether a pod with address addr runs in namespace
// (lower case). It needs Options.Pods.
func (s *View) PodInNamespace(addr netip.Addr, namespace []byte) bool {
	refs, _ := lookupAddr(s.pods, addr)
	for _, r := range refs {
		if r.namespace == string(namespace) {
			return true
		}
	}
	return false
}

// Serial is the SOA serial: the time of the last change, in Unix seconds.
func (s *View) Serial() uint32 { return s.serial }
