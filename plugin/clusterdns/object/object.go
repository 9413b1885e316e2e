// Package object holds the slim Kubernetes objects that clusterdns indexes.
//
// Every source (the Kubernetes API through client-go, a manifests file, a
// snapshot on disk) converts what it receives into these types, keeping only
// the fields DNS reads. Everything downstream of a source (the index, the
// resolver) sees nothing else, so memory per object stays small and the query
// path never touches an API type.
//
// Objects are immutable once handed to the index: a change is a new object.
//
// The json tags are the schema of the snapshot file (package snapshot),
// those of serviceJSON for a Service: changing one changes that format,
// whose golden test then fails until its version is bumped.
package object

import (
	"encoding/json"
	"net/netip"
	"time"
	"unique"
)

// Kind tells which kind of object a Key refers to.
type Kind uint8

// The kinds of objects a source delivers.
const (
	KindService Kind = iota + 1
	KindEndpointSlice
	KindPod
	KindNamespace
	// KindServiceImport is a multicluster.x-k8s.io ServiceImport, watched
	// only with the multicluster option.
	KindServiceImport
)

// String returns the Kubernetes name of the kind, for logs and metric labels.
func (k Kind) String() string {
	switch k {
	case KindService:
		return "Service"
	case KindEndpointSlice:
		return "EndpointSlice"
	case KindPod:
		return "Pod"
	case KindNamespace:
		return "Namespace"
	case KindServiceImport:
		return "ServiceImport"
	}
	return "Unknown"
}

// Meta is what every object carries.
type Meta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"` // empty for cluster-scoped objects (Namespace)
	Labels    map[string]string `json:"labels,omitempty"`
	// ResourceVersion is the object's metadata.resourceVersion when DNS
	// last saw it change (updates that change nothing DNS reads keep the
	// older one), for explain. It shares the decoded object's string, so it
	// costs a string header per object; a snapshot does not save it.
	ResourceVersion string `json:"-"`
	// Changed is when the object was last changed, as far as the source can
	// tell (the newest managedFields time, else creationTimestamp; zero when
	// unknown). It feeds the DNS programming latency metric, which a
	// snapshot does not, so it is not saved. A Stamp, not a time.Time: 8
	// bytes without a pointer for the collector to scan, where a time.Time
	// takes 24 with its *Location.
	Changed Stamp `json:"-"`
}

// Stamp is a point in time as nanoseconds since the Unix epoch (the years
// 1678 to 2262), 0 for none: the epoch itself reads as none.
type Stamp int64

// StampOf returns the Stamp of t, 0 for the zero time.
func StampOf(t time.Time) Stamp {
	if t.IsZero() {
		return 0
	}
	return Stamp(t.UnixNano())
}

// Time returns the time s stands for, the zero time for none.
func (s Stamp) Time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s))
}

// IsZero tells whether s is none.
func (s Stamp) IsZero() bool { return s == 0 }

// ServiceType is how a Service is answered in DNS.
type ServiceType uint8

// The DNS-relevant Service types.
const (
	// ClusterIP services (also NodePort and LoadBalancer) answer with their
	// cluster IPs.
	ClusterIP ServiceType = iota + 1
	// Headless services (clusterIP: None) answer with their endpoints.
	Headless
	// ExternalName services answer with a CNAME.
	ExternalName
)

// Port is a named port of a Service or an EndpointSlice.
type Port struct {
	Name     string `json:"name,omitempty"` // may be empty: unnamed ports have no SRV record
	Protocol string `json:"protocol"`       // lower case: "tcp", "udp" or "sctp", as used in SRV names
	Port     uint16 `json:"port"`
}

// Service is the DNS view of a core/v1 Service.
//
// Its layout is set by memory: every Service is held once (by the index:
// the API source's informers keep no store), and the collector scans each up to its
// last pointer word, which is the memory limit's headroom between relists
// (memory.go in source/api). So the fields few Services have are behind
// one pointer (Extra), read through the methods of the same names, the
// one cluster IP of a single-stack service is held inline (no slice
// header, no array of its own), and the pointer-free fields come after
// every pointer field: 128 bytes, all but the last 8 scanned, where the
// flat struct took 232 (a 240-byte size class) scanned to byte 216, and
// its cluster IP another 24.
//
// The snapshot format is that of the flat struct (MarshalJSON).
type Service struct {
	Meta
	Ports []Port
	// Extra holds the fields most Services do not have; nil when they
	// have none of them. Read them through the methods (ExternalName,
	// BadTTL, ExternalIPs, ExternalHostnames, ClusterIPs), which a nil
	// Extra answers.
	Extra *ServiceExtra
	// clusterIP is the cluster IP of a single-stack ClusterIP service
	// (see ClusterIPs).
	clusterIP [1]netip.Addr
	// TTL is the TTL of the service's records from the TTLAnnotation, when
	// HasTTL; else the zone's ttl applies.
	TTL                      uint32
	Type                     ServiceType
	PublishNotReadyAddresses bool
	// Headless services without a selector get their endpoints from slices
	// someone else writes; the distinction only matters for metrics.
	HasSelector bool
	HasTTL      bool
}

// ServiceExtra is what few Services have: ExternalName ones, those with
// external addresses, and those with a bad TTL annotation.
type ServiceExtra struct {
	// ExternalName is the CNAME target of an ExternalName service, fully
	// qualified and lower case.
	ExternalName string
	// BadTTL is an annotation value that is not a whole number of seconds
	// in [0, MaxTTL]: it is ignored, and reported once per change (by the
	// live source: a snapshot does not save it, nor report it again).
	BadTTL string
	// ExternalIPs are the addresses the service is reached at from outside
	// the cluster: spec.externalIPs, then the IPs of status.loadBalancer
	// .ingress, in that order, as stock CoreDNS lists them. Only
	// k8s_external answers with them.
	ExternalIPs []netip.Addr
	// ExternalHostnames are the hostnames of status.loadBalancer.ingress
	// (cloud load balancers named by DNS, not by IP), which k8s_external
	// answers with a CNAME.
	ExternalHostnames []string
	// ClusterIPs are the cluster IPs of a dual-stack service, one per IP
	// family (a single-stack one holds its IP inline), and any list the
	// snapshot check is to refuse (an empty address).
	ClusterIPs []netip.Addr
}

// newServiceExtra returns e as a service's Extra: nil when it has none
// of its fields.
func newServiceExtra(e ServiceExtra) *ServiceExtra {
	if e.ExternalName == "" && e.BadTTL == "" && len(e.ExternalIPs) == 0 && len(e.ExternalHostnames) == 0 && len(e.ClusterIPs) == 0 {
		return nil
	}
	return &e
}

// ClusterIPs are the cluster IPs of a ClusterIP service, one per IP
// family; nil for other services. The result may be the Service's own
// memory: it is read-only, as the Service is.
func (s *Service) ClusterIPs() []netip.Addr {
	if s.Extra != nil && s.Extra.ClusterIPs != nil {
		return s.Extra.ClusterIPs
	}
	if !s.clusterIP[0].IsValid() {
		return nil
	}
	return s.clusterIP[:]
}

// SetClusterIPs sets the service's cluster IPs and returns s. It is for
// the code making a Service (converters, tests): a Service is not changed
// once a source has handed it on.
func (s *Service) SetClusterIPs(ips []netip.Addr) *Service {
	s.clusterIP[0] = netip.Addr{}
	var more []netip.Addr
	if len(ips) == 1 && ips[0].IsValid() {
		s.clusterIP[0] = ips[0]
	} else if len(ips) > 0 {
		more = ips
	}
	if s.Extra == nil && more == nil {
		return s
	}
	var extra ServiceExtra
	if s.Extra != nil {
		extra = *s.Extra // a copy: s.Extra may be another Service's
	}
	extra.ClusterIPs = more
	s.Extra = newServiceExtra(extra)
	return s
}

// ExternalName is the CNAME target of an ExternalName service (see
// ServiceExtra), "" for the others.
func (s *Service) ExternalName() string {
	if s.Extra == nil {
		return ""
	}
	return s.Extra.ExternalName
}

// BadTTL is the TTLAnnotation's value when it is not a valid TTL (see
// ServiceExtra), else "".
func (s *Service) BadTTL() string {
	if s.Extra == nil {
		return ""
	}
	return s.Extra.BadTTL
}

// ExternalIPs are the service's addresses outside the cluster (see
// ServiceExtra), nil when it has none, as most services.
func (s *Service) ExternalIPs() []netip.Addr {
	if s.Extra == nil {
		return nil
	}
	return s.Extra.ExternalIPs
}

// ExternalHostnames are the hostnames of the service's load balancer (see
// ServiceExtra), nil when it has none, as most services.
func (s *Service) ExternalHostnames() []string {
	if s.Extra == nil {
		return nil
	}
	return s.Extra.ExternalHostnames
}

// TTLAnnotation on a Service overrides the zone's ttl for its records.
const TTLAnnotation = "clusterdns.io/ttl"

// MaxTTL bounds TTLs, as the ttl option does.
const MaxTTL = 3600

// Endpoint is one endpoint of an EndpointSlice.
type Endpoint struct {
	Addresses []netip.Addr `json:"addresses"`
	Hostname  string       `json:"hostname,omitempty"` // spec hostname, empty when not set
	// TargetPod is the name of the pod behind the endpoint, if any; it is the
	// endpoint's DNS name under endpoint_pod_names.
	TargetPod string `json:"targetPod,omitempty"`
	// Zone is the endpoint's topology zone (the slice's zone field, lower
	// case), none when not set: what zone-scoped names (the zonal option)
	// select on.
	Zone Zone `json:"zone,omitzero"`
	// Ready is the endpoint's ready condition, with "unknown" counted as
	// ready as the EndpointSlice API prescribes.
	Ready bool `json:"ready,omitempty"`
}

// Zone is a topology zone's name, interned: a cluster has a few zones and
// many endpoints, and each endpoint holds one pointer to its zone's name,
// where a string would take a pointer and a length. That keeps an
// Endpoint at 72 bytes, not 80: ten of them fit a 768-byte size class,
// not an 896-byte one. It is written to a snapshot as a string.
type Zone struct{ name unique.Handle[string] }

// MakeZone returns the Zone named name, none for "".
func MakeZone(name string) Zone {
	if name == "" {
		return Zone{}
	}
	return Zone{unique.Make(name)}
}

// String returns the zone's name, "" for none.
func (z Zone) String() string {
	if z.IsZero() {
		return "" // the zero Handle has no value to read
	}
	return z.name.Value()
}

// IsZero tells whether z is none; a snapshot then leaves the zone out.
func (z Zone) IsZero() bool { return z == Zone{} }

// MarshalJSON writes z as its name.
func (z Zone) MarshalJSON() ([]byte, error) { return json.Marshal(z.String()) }

// UnmarshalJSON reads a name into z, interned as a converter interns it.
func (z *Zone) UnmarshalJSON(data []byte) error {
	var name string
	if err := json.Unmarshal(data, &name); err != nil {
		return err
	}
	*z = MakeZone(name)
	return nil
}

// EndpointSlice is the DNS view of a discovery/v1 EndpointSlice.
type EndpointSlice struct {
	Meta
	// ServiceName is the kubernetes.io/service-name label: the Service the
	// slice belongs to.
	ServiceName string `json:"serviceName"`
	// MultiClusterService is the multicluster.kubernetes.io/service-name
	// label: the ServiceImport whose endpoints, from another cluster of
	// the clusterset (or this one), the slice holds. SourceCluster is the
	// multicluster.kubernetes.io/source-cluster label: that cluster's id.
	// Both are kept as written; the index checks them (multicluster).
	MultiClusterService string     `json:"multiClusterService,omitempty"`
	SourceCluster       string     `json:"sourceCluster,omitempty"`
	Ports               []Port     `json:"ports,omitempty"`
	Endpoints           []Endpoint `json:"endpoints,omitempty"`
}

// Pod is the DNS view of a core/v1 Pod: only what `pods verified` reads.
type Pod struct {
	Meta
	IPs []netip.Addr `json:"ips"`
}

// Namespace is the DNS view of a core/v1 Namespace.
type Namespace struct {
	Meta
	// VisibleTo is the VisibleToAnnotation's value, as written (empty
	// when the namespace has none): the namespaces whose pods may resolve
	// this one's names when the visibility option is on. The index parses
	// it, so that a malformed value is reported with the namespace named.
	VisibleTo string `json:"visibleTo,omitempty"`
}

// VisibleToAnnotation on a Namespace exports its names, under the
// visibility option, to the client namespaces its value selects: a label
// selector matched against their labels, or "*" for every client. An
// annotation, not a label: a label's value cannot hold a selector.
const VisibleToAnnotation = "clusterdns.io/visible-to"
