package object

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
)

// The From* functions convert API objects into slim objects. They run for
// every object a source receives (in an informer's transform for the API
// source), so they allocate only what the slim object keeps, share strings
// and label maps with their input instead of copying them, and never write to
// their input: an informer's object may be read by others.
//
// Their errors describe the field at fault but not the object: the caller
// knows how to name it (namespace/name, document number).

// FromService converts a core/v1 Service.
func FromService(s *corev1.Service) (*Service, error) {
	if s == nil {
		return nil, errors.New("nil Service")
	}
	out := &Service{
		Meta:                     meta(&s.ObjectMeta, s.Labels),
		PublishNotReadyAddresses: s.Spec.PublishNotReadyAddresses,
		HasSelector:              len(s.Spec.Selector) > 0,
	}
	var extName, badTTL string
	var ips []netip.Addr
	switch {
	case s.Spec.Type == corev1.ServiceTypeExternalName:
		out.Type = ExternalName
		name, err := externalName(s.Spec.ExternalName)
		if err != nil {
			return nil, err
		}
		extName = name
	case isHeadless(&s.Spec):
		out.Type = Headless
	default:
		out.Type = ClusterIP
		var err error
		if ips, err = clusterIPs(&s.Spec); err != nil {
			return nil, err
		}
	}
	ports, err := servicePorts(s.Spec.Ports)
	if err != nil {
		return nil, err
	}
	out.Ports = ports
	extIPs, extHostnames, err := externalAddrs(s)
	if err != nil {
		return nil, err
	}
	if v, ok := s.Annotations[TTLAnnotation]; ok {
		// A bad value is not an error: the service still resolves, with
		// the zone's ttl.
		if ttl, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil && ttl <= MaxTTL {
			out.TTL, out.HasTTL = uint32(ttl), true
		} else {
			badTTL = v
		}
	}
	out.Extra = newServiceExtra(ServiceExtra{ExternalName: extName, BadTTL: badTTL, ExternalIPs: extIPs, ExternalHostnames: extHostnames})
	out.SetClusterIPs(ips)
	return out, nil
}

// isHeadless tells whether a Service has no cluster IP. The API server keeps
// clusterIP and clusterIPs[0] equal; a hand-written manifest may set only
// clusterIPs.
func isHeadless(spec *corev1.ServiceSpec) bool {
	if spec.ClusterIP == corev1.ClusterIPNone {
		return true
	}
	return spec.ClusterIP == "" && len(spec.ClusterIPs) > 0 && spec.ClusterIPs[0] == corev1.ClusterIPNone
}

func clusterIPs(spec *corev1.ServiceSpec) ([]netip.Addr, error) {
	raw := spec.ClusterIPs
	if len(raw) == 0 {
		if spec.ClusterIP == "" {
			return nil, nil
		}
		raw = []string{spec.ClusterIP}
	}
	ips := make([]netip.Addr, 0, len(raw))
	for _, r := range raw {
		if r == "" || r == corev1.ClusterIPNone {
			continue
		}
		ip, err := parseAddr(r)
		if err != nil {
			return nil, fmt.Errorf("invalid clusterIP %q", r)
		}
		ips = append(ips, ip)
	}
	if len(ips) == 0 {
		return nil, nil
	}
	return ips, nil
}

// externalAddrs returns where a Service is reached from outside the
// cluster: its externalIPs and the ingress points of its load balancer.
// Both are nil when there are none.
func externalAddrs(s *corev1.Service) ([]netip.Addr, []string, error) {
	ingress := s.Status.LoadBalancer.Ingress
	if len(s.Spec.ExternalIPs)+len(ingress) == 0 {
		return nil, nil, nil // most services: no allocation
	}
	var ips []netip.Addr
	var hostnames []string
	for _, r := range s.Spec.ExternalIPs {
		ip, err := parseAddr(r)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid externalIP %q", r)
		}
		ips = append(ips, ip)
	}
	for _, in := range ingress {
		switch {
		case in.IP != "":
			ip, err := parseAddr(in.IP)
			if err != nil {
				return nil, nil, fmt.Errorf("invalid loadBalancer ingress IP %q", in.IP)
			}
			ips = append(ips, ip)
		case in.Hostname != "":
			if _, ok := dns.IsDomainName(in.Hostname); !ok || strings.ContainsAny(in.Hostname, " \\\"") {
				return nil, nil, fmt.Errorf("invalid loadBalancer ingress hostname %q", in.Hostname)
			}
			hostnames = append(hostnames, in.Hostname)
		}
	}
	return ips, hostnames, nil
}

// externalName returns the CNAME target of an ExternalName service: lower
// case, because answers compare and compress names, and fully qualified,
// because that is how it goes on the wire.
func externalName(name string) (string, error) {
	if name == "" {
		return "", errors.New("externalName is empty")
	}
	fqdn := dns.Fqdn(strings.ToLower(name))
	if _, ok := dns.IsDomainName(fqdn); !ok || fqdn == "." {
		return "", fmt.Errorf("invalid externalName %q: not a domain name", name)
	}
	return fqdn, nil
}

func servicePorts(in []corev1.ServicePort) ([]Port, error) {
	if len(in) == 0 {
		return nil, nil
	}
	ports := make([]Port, len(in))
	for i := range in {
		p := &in[i]
		n, err := portNumber(p.Name, p.Port)
		if err != nil {
			return nil, err
		}
		ports[i] = Port{Name: p.Name, Protocol: protocol(p.Protocol), Port: n}
	}
	return ports, nil
}

// FromEndpointSlice converts a discovery/v1 EndpointSlice. Slices of
// addressType FQDN carry no addresses DNS can publish: it returns nil, nil
// for them.
func FromEndpointSlice(es *discoveryv1.EndpointSlice) (*EndpointSlice, error) {
	if es == nil {
		return nil, errors.New("nil EndpointSlice")
	}
	if es.AddressType == discoveryv1.AddressTypeFQDN {
		return nil, nil
	}
	// Labels are not kept: only the service names are read, and a slice's
	// labels (managed-by, service-name, copies of the Service's labels) cost
	// more memory than the rest of a small slice.
	out := &EndpointSlice{
		Meta:                meta(&es.ObjectMeta, nil),
		ServiceName:         es.Labels[discoveryv1.LabelServiceName],
		MultiClusterService: es.Labels[mcsv1alpha1.LabelServiceName],
		SourceCluster:       es.Labels[mcsv1alpha1.LabelSourceCluster],
	}
	ports, err := slicePorts(es.Ports)
	if err != nil {
		return nil, err
	}
	out.Ports = ports
	endpoints, err := sliceEndpoints(es.AddressType, es.Endpoints)
	if err != nil {
		return nil, err
	}
	out.Endpoints = endpoints
	return out, nil
}

func slicePorts(in []discoveryv1.EndpointPort) ([]Port, error) {
	if len(in) == 0 {
		return nil, nil
	}
	ports := make([]Port, 0, len(in))
	for i := range in {
		p := &in[i]
		// A port without a number means "all ports" (a Service without
		// ports): there is nothing to put in an SRV record.
		if p.Port == nil {
			continue
		}
		var name string
		if p.Name != nil {
			name = *p.Name
		}
		var proto corev1.Protocol
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		n, err := portNumber(name, *p.Port)
		if err != nil {
			return nil, err
		}
		ports = append(ports, Port{Name: name, Protocol: protocol(proto), Port: n})
	}
	if len(ports) == 0 {
		return nil, nil
	}
	return ports, nil
}

func sliceEndpoints(family discoveryv1.AddressType, in []discoveryv1.Endpoint) ([]Endpoint, error) {
	if len(in) == 0 {
		return nil, nil
	}
	// All addresses share one backing array: an endpoint almost always has
	// exactly one address, and a slice header per endpoint is cheaper than
	// an allocation per endpoint.
	n := 0
	for i := range in {
		n += len(in[i].Addresses)
	}
	addrs := make([]netip.Addr, 0, n)
	out := make([]Endpoint, len(in))
	for i := range in {
		ep := &in[i]
		start := len(addrs)
		for _, a := range ep.Addresses {
			ip, err := parseAddr(a)
			if err != nil {
				return nil, fmt.Errorf("endpoints[%d]: invalid address %q", i, a)
			}
			if !sameFamily(family, ip) {
				return nil, fmt.Errorf("endpoints[%d]: address %q is not of addressType %s", i, a, family)
			}
			addrs = append(addrs, ip)
		}
		e := Endpoint{
			Addresses: addrs[start:len(addrs):len(addrs)],
			Ready:     ep.Conditions.Ready == nil || *ep.Conditions.Ready,
		}
		if ep.Hostname != nil {
			e.Hostname = *ep.Hostname
		}
		if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
			e.TargetPod = ep.TargetRef.Name
		}
		if ep.Zone != nil {
			// Interned: each endpoint would otherwise keep its own copy
			// of one of a few zone names alive, from its decoded slice.
			e.Zone = MakeZone(strings.ToLower(*ep.Zone))
		}
		out[i] = e
	}
	return out, nil
}

// sameFamily checks an address against its slice's addressType; the API
// server enforces it, manifests files may not.
func sameFamily(family discoveryv1.AddressType, ip netip.Addr) bool {
	switch family {
	case discoveryv1.AddressTypeIPv4:
		return ip.Is4()
	case discoveryv1.AddressTypeIPv6:
		return ip.Is6()
	}
	return true
}

// FromPod converts a core/v1 Pod. A pod that has stopped (phase Succeeded
// or Failed) or whose state is lost (Unknown) returns nil, nil: its address
// may already belong to another pod, and `pods verified` must not vouch for
// it. Stock CoreDNS leaves them out the same way, with a field selector on
// its pod watch. Pods being deleted still count: they serve until they
// stop. Pods on the host network count too, with the node's address, as
// in stock: such a pod does run in its namespace with that address.
func FromPod(p *corev1.Pod) (*Pod, error) {
	if p == nil {
		return nil, errors.New("nil Pod")
	}
	b := PodBuilder{Name: p.Name, Namespace: p.Namespace, ResourceVersion: p.ResourceVersion}
	b.changed = lastChangeOf(&p.ObjectMeta)
	b.Phase(p.Status.Phase)
	b.PodIP(p.Status.PodIP)
	for _, r := range p.Status.PodIPs {
		b.AddPodIP(r.IP)
	}
	return b.Pod()
}

// PodBuilder makes the Pod FromPod would from the fields FromPod reads,
// given one at a time and in any order: the API source's pod watch reads
// them straight from a pod's protobuf, which it never decodes whole (a
// decoded pod is about 21 KB of garbage, of which a Pod keeps 150 bytes).
// FromPod fills one from a decoded pod, so that each rule is in one place.
// The zero PodBuilder is a pod with no fields.
type PodBuilder struct {
	Name, Namespace, ResourceVersion string

	changed lastChange
	stopped bool
	podIP   string
	// hasPodIPs: podIPs has entries, and podIP is not read. ips are the
	// valid ones; err is the first invalid one's.
	hasPodIPs bool
	ips       []netip.Addr
	err       error
}

// Created sets the creationTimestamp.
func (b *PodBuilder) Created(t time.Time) { b.changed.created = t }

// Managed adds the time of one managedFields entry that has one.
func (b *PodBuilder) Managed(t time.Time) { b.changed.managedAt(t) }

// Phase sets status.phase. It keeps only whether the pod has stopped: a
// decoder may pass a string that aliases its buffer.
func (b *PodBuilder) Phase(p corev1.PodPhase) {
	switch p {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown:
		b.stopped = true
	default:
		b.stopped = false
	}
}

// PodIP sets status.podIP, read only when status.podIPs is empty.
func (b *PodBuilder) PodIP(ip string) { b.podIP = ip }

// AddPodIP adds an entry of status.podIPs.
func (b *PodBuilder) AddPodIP(ip string) {
	b.hasPodIPs = true
	if b.err != nil {
		return
	}
	addr, err := parseAddr(ip)
	if err != nil {
		b.err = fmt.Errorf("invalid podIP %q", ip)
		return
	}
	b.ips = append(b.ips, addr)
}

// Pod returns the Pod of the fields given: nil, nil for a pod that has
// stopped (see FromPod).
func (b *PodBuilder) Pod() (*Pod, error) {
	if b.stopped {
		return nil, nil
	}
	out := &Pod{Meta: Meta{Name: b.Name, Namespace: b.Namespace, ResourceVersion: b.ResourceVersion, Changed: StampOf(b.changed.time())}}
	switch {
	case b.hasPodIPs:
		if b.err != nil {
			return nil, b.err
		}
		out.IPs = b.ips
	case b.podIP != "":
		ip, err := parseAddr(b.podIP)
		if err != nil {
			return nil, fmt.Errorf("invalid podIP %q", b.podIP)
		}
		out.IPs = []netip.Addr{ip}
	}
	return out, nil
}

// FromNamespace converts a core/v1 Namespace, labels included for
// namespace_labels and visibility selectors, and the visibility annotation.
func FromNamespace(ns *corev1.Namespace) *Namespace {
	if ns == nil {
		return nil
	}
	return &Namespace{Meta: meta(&ns.ObjectMeta, ns.Labels), VisibleTo: ns.Annotations[VisibleToAnnotation]}
}

// meta takes the fields every slim object keeps. Labels are passed in so
// that kinds that do not need them keep none.
func meta(m *metav1.ObjectMeta, labels map[string]string) Meta {
	return Meta{
		Name:            m.Name,
		Namespace:       m.Namespace,
		Labels:          labels,
		ResourceVersion: m.ResourceVersion,
		Changed:         StampOf(changed(m)),
	}
}

// changed is the best guess at when an object was last written: see
// lastChange.
func changed(m *metav1.ObjectMeta) time.Time { return lastChangeOf(m).time() }

func lastChangeOf(m *metav1.ObjectMeta) lastChange {
	c := lastChange{created: m.CreationTimestamp.Time}
	for i := range m.ManagedFields {
		if mt := m.ManagedFields[i].Time; mt != nil {
			c.managedAt(mt.Time)
		}
	}
	return c
}

// lastChange is the best guess at when an object was last written: the
// newest managedFields entry (each write by a field manager stamps one),
// else its creation.
type lastChange struct{ managed, created time.Time }

func (c *lastChange) managedAt(t time.Time) {
	if t.After(c.managed) {
		c.managed = t
	}
}

func (c lastChange) time() time.Time {
	if c.managed.IsZero() {
		return c.created
	}
	return c.managed
}

// parseAddr parses an IP address as the API writes them. Zones are refused:
// they mean nothing outside one host and would make equal addresses differ.
func parseAddr(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	if ip.Zone() != "" {
		return netip.Addr{}, errors.New("address has a zone")
	}
	return ip, nil
}

func portNumber(name string, port int32) (uint16, error) {
	if port < 1 || port > 65535 {
		return 0, fmt.Errorf("port %q: number %d out of range 1-65535", name, port)
	}
	return uint16(port), nil
}

// protocol returns the SRV label of a protocol. The usual values map to
// constants so that no object allocates its own copy.
func protocol(p corev1.Protocol) string {
	switch p {
	case "", corev1.ProtocolTCP:
		return "tcp"
	case corev1.ProtocolUDP:
		return "udp"
	case corev1.ProtocolSCTP:
		return "sctp"
	}
	return strings.ToLower(string(p))
}
