package index

import (
	"iter"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// ServiceKind classifies services the way the DNS programming latency metric
// of the Kubernetes DNS SLOs does.
type ServiceKind uint8

// The service kinds, as metric label values by String.
const (
	KindClusterIP ServiceKind = iota
	KindHeadlessWithSelector
	KindHeadlessWithoutSelector
	KindExternalName
)

func (k ServiceKind) String() string {
	switch k {
	case KindHeadlessWithSelector:
		return "headless_with_selector"
	case KindHeadlessWithoutSelector:
		return "headless_without_selector"
	case KindExternalName:
		return "external_name"
	}
	return "cluster_ip"
}

// Service is the DNS entry of one Service: its own records and its
// endpoints, ready to answer from. It is immutable once published.
//
// What DNS reads of the Service object itself (Type, ClusterIPs,
// ExternalName, Ports, TTL and HasTTL, ExternalIPs and ExternalHostnames)
// is read through the object, which the index holds anyway: copying
// those fields doubled what a Service costs the collector to scan
// (memory.go in source/api sets the memory limit's headroom from it),
// about 110 bytes a Service. Its Name and Namespace
// are the object's too, in lower case (buildService): a lower-case copy
// of each was 32 bytes of string headers a Service, all scanned, for
// names the API server and the manifests file already hold to lower case
// (DNS-1035 and DNS-1123 labels). The object's metadata is not the
// entry's: an entry whose view did not change keeps the object it was
// built from (sameEntry).
//
// The collector scans an object up to its last pointer, so the fields
// without pointers come after those with them: 16 of the entry's 24 bytes
// are scanned. A headless service's endpoints are behind one pointer
// (endpointSet), nil for the services that have none, nearly all of them.
type Service struct {
	*object.Service
	// eps are the addresses DNS publishes: ready ones (all of them with
	// publishNotReadyAddresses), each address once; nil for none. Read
	// them with Endpoints, EndpointCount and EndpointsNamed.
	eps *endpointSet
	// namespaceNumber is the namespace's number under the visibility
	// option (View.VisibleService).
	namespaceNumber uint32
	Kind            ServiceKind
	// SharedNames is set when two endpoints share a name (a dual-stack pod
	// with a hostname): SRV answers then dedupe their targets.
	SharedNames bool
}

// Endpoint is one published endpoint address. A headless service holds
// an array of them, which the collector scans whole (memory.go in
// source/api): each word counts.
type Endpoint struct {
	Addr netip.Addr
	// Name is the endpoint's DNS label: its hostname, else its pod's name
	// under endpoint_pod_names, else its address with dashes.
	Name string
	// ports are its EndpointSlice's ports (nil: none), which every
	// endpoint of the slice shares: a pointer to the slice object's list
	// rather than a copy of its header, 16 bytes less an endpoint.
	ports *[]object.Port
	hash  uint32 // fnv32(Name), for the service's name table
	// Zone is the endpoint's topology zone, with the zonal option (see
	// View.ZoneID).
	Zone ZoneID
}

// Ports are the endpoint's ports, its EndpointSlice's. The slice must not
// be modified.
func (e *Endpoint) Ports() []object.Port {
	if e.ports == nil {
		return nil
	}
	return *e.ports
}

// byNameThreshold is the endpoint count above which a service gets a name
// index; below it a scan is as fast and costs no memory.
const byNameThreshold = 8

// buildService makes the DNS entry of svc, with the endpoints merged in m
// (nil: none are published).
func buildService(svc *object.Service, m *mergedService) *Service {
	e := &Service{Service: lowerCaseNames(svc), Kind: serviceKind(svc)}
	if m != nil {
		e.setEndpoints(m, nil)
	}
	return e
}

// lowerCaseNames returns svc, or a copy of it named in lower case if it is
// not: the entry answers by its object's Name and Namespace. Objects from
// the API server and the manifests file are in lower case already, and
// strings.ToLower returns a lower-case string as it is, so this copies
// nothing for them. A snapshot holds what they gave, but its names are
// not checked for case, nor are a test's.
func lowerCaseNames(svc *object.Service) *object.Service {
	name, ns := strings.ToLower(svc.Name), strings.ToLower(svc.Namespace)
	if name == svc.Name && ns == svc.Namespace {
		return svc
	}
	cp := *svc
	cp.Name, cp.Namespace = name, ns
	return &cp
}

// sameEntry tells whether two entries show the same in DNS: equal but
// for the metadata and the fields DNS does not read of their objects (a
// label, a resource version).
func sameEntry(a, b *Service) bool {
	x, y := *a, *b
	x.Service, y.Service, x.eps, y.eps = nil, nil, nil, nil
	return reflect.DeepEqual(x, y) && sameEndpointSets(a.eps, b.eps) && sameDNSFields(a.Service, b.Service)
}

// sameDNSFields tells whether two Service objects show the same in DNS:
// the fields DNS reads of them, compared where they are, without building
// either (an empty list is the same as none).
func sameDNSFields(a, b *object.Service) bool {
	return a.Type == b.Type && a.TTL == b.TTL && a.HasTTL == b.HasTTL && a.ExternalName() == b.ExternalName() &&
		slices.Equal(a.Ports, b.Ports) && slices.Equal(a.ClusterIPs(), b.ClusterIPs()) &&
		slices.Equal(a.ExternalIPs(), b.ExternalIPs()) && slices.Equal(a.ExternalHostnames(), b.ExternalHostnames())
}

func serviceKind(svc *object.Service) ServiceKind {
	switch {
	case svc.Type == object.ExternalName:
		return KindExternalName
	case svc.Type == object.Headless && svc.HasSelector:
		return KindHeadlessWithSelector
	case svc.Type == object.Headless:
		return KindHeadlessWithoutSelector
	}
	return KindClusterIP
}

// publishesEndpoints tells whether svc's endpoints are in the DNS view:
// those of an ExternalName service are not, nor any under noendpoints.
func publishesEndpoints(svc *object.Service, opts Options) bool {
	return svc.Type != object.ExternalName && !opts.NoEndpoints
}

// assignedName is the DNS label an endpoint has whatever its address, as
// the stock kubernetes plugin names it: its hostname, else its pod's name
// under endpoint_pod_names. Without one (ok false), each address is named
// by DashedIP.
func assignedName(ep object.Endpoint, podNames bool) (name string, ok bool) {
	if ep.Hostname != "" {
		return strings.ToLower(ep.Hostname), true
	}
	if podNames && ep.TargetPod != "" && len(ep.TargetPod) <= 63 {
		return strings.ToLower(ep.TargetPod), true
	}
	return "", false
}

// DashedIP writes an address as one DNS label, as stock CoreDNS names
// endpoints: 10-244-1-7, fd00--7, and a trailing 0 where the address ends
// in "::" (fd00-10-244-3--0), since a label ending in a dash is not a host
// name.
func DashedIP(a netip.Addr) string {
	var buf [64]byte
	return string(appendDashedIP(buf[:0], a))
}

// appendDashedIP appends DashedIP(a) to dst, so that a caller comparing
// it with a name it has allocates nothing.
func appendDashedIP(dst []byte, a netip.Addr) []byte {
	a = a.Unmap().WithZone("")
	start := len(dst)
	dst = a.AppendTo(dst)
	sep := byte(':')
	if a.Is4() {
		sep = '.'
	}
	for i := start; i < len(dst); i++ {
		if dst[i] == sep {
			dst[i] = '-'
		}
	}
	if a.Is6() && dst[len(dst)-1] == '-' {
		dst = append(dst, '0')
	}
	return dst
}

// RecordTTL is the TTL of the service's records: its own when it has one
// (HasTTL), else def, the zone's.
func (s *Service) RecordTTL(def uint32) uint32 {
	if s.HasTTL {
		return s.TTL
	}
	return def
}

// Endpoints are the service's published endpoints, in order: its
// EndpointSlices' in name order, each address once. They must not be
// modified.
func (s *Service) Endpoints() iter.Seq[*Endpoint] { return s.eps.all() }

// EndpointCount is how many endpoints the service publishes.
func (s *Service) EndpointCount() int {
	if s.eps == nil {
		return 0
	}
	return int(s.eps.n)
}

// EndpointsNamed calls fn for each endpoint whose name is label (lower
// case), in order; fn returns false to stop.
func (s *Service) EndpointsNamed(label []byte, fn func(*Endpoint) bool) {
	if s.eps != nil && s.eps.leaves != nil {
		h := fnv32(label)
		chunks := s.eps.chunks
		for _, e := range s.eps.leaves[h&uint32(len(s.eps.leaves)-1)] {
			switch eh := uint32(e >> 32); {
			case eh > h:
				return
			case eh == h:
				if ep := at(chunks, e); ep.Name == string(label) && !fn(ep) {
					return
				}
			}
		}
		return
	}
	for ep := range s.Endpoints() {
		if ep.Name == string(label) && !fn(ep) {
			return
		}
	}
}

// HasPortProtocol tells whether the service has a named port of protocol
// proto (lower case), which makes _proto.<svc> an empty non-terminal.
func (s *Service) HasPortProtocol(proto []byte) bool {
	for _, p := range s.Ports {
		if p.Name != "" && p.Protocol == string(proto) {
			return true
		}
	}
	for ep := range s.Endpoints() {
		for _, p := range ep.Ports() {
			if p.Name != "" && p.Protocol == string(proto) {
				return true
			}
		}
	}
	return false
}

type reverseName struct {
	addr netip.Addr
	name string // relative owner: "svc.ns" or "endpoint.svc.ns"
}

// reverseNames lists the reverse records of the service, whose key
// (serviceKey) is base: a cluster IP's name is the key itself, one string
// with the tables' key rather than 16 bytes more a Service.
func (s *Service) reverseNames(base string) []reverseName {
	var out []reverseName
	if s.Type == object.ClusterIP {
		for _, ip := range s.ClusterIPs() {
			out = append(out, reverseName{ip, base})
		}
	}
	for ep := range s.Endpoints() {
		out = append(out, reverseName{ep.Addr, ep.Name + "." + base})
	}
	return out
}
