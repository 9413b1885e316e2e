package object

import (
	"errors"
	"fmt"
	"net/netip"

	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
)

// ServiceImport is the DNS view of a multicluster.x-k8s.io ServiceImport:
// a service of the clusterset, answered under the multicluster zones as a
// Service is under the cluster's. Its endpoints are the EndpointSlices
// whose MultiClusterService names it.
type ServiceImport struct {
	Meta
	// Type is ClusterIP for a ClusterSetIP import, else Headless.
	Type ServiceType `json:"type"`
	// IPs are the ClusterSetIPs (ClusterSetIP imports only). An import of
	// that type without them has no DNS view yet: the index skips it.
	IPs   []netip.Addr `json:"ips,omitempty"`
	Ports []Port       `json:"ports,omitempty"`
}

// FromServiceImport converts a multicluster.x-k8s.io/v1alpha1
// ServiceImport, the version stock CoreDNS reads.
func FromServiceImport(si *mcsv1alpha1.ServiceImport) (*ServiceImport, error) {
	if si == nil {
		return nil, errors.New("nil ServiceImport")
	}
	out := &ServiceImport{Meta: meta(&si.ObjectMeta, si.Labels)}
	switch si.Spec.Type {
	case mcsv1alpha1.ClusterSetIP:
		out.Type = ClusterIP
	case mcsv1alpha1.Headless:
		out.Type = Headless
	default:
		return nil, fmt.Errorf("spec.type %q: want ClusterSetIP or Headless", si.Spec.Type)
	}
	if out.Type == ClusterIP && len(si.Spec.IPs) > 0 {
		out.IPs = make([]netip.Addr, 0, len(si.Spec.IPs))
		for _, s := range si.Spec.IPs {
			ip, err := parseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("spec.ips: %q: %v", s, err)
			}
			out.IPs = append(out.IPs, ip)
		}
	}
	if len(si.Spec.Ports) > 0 {
		out.Ports = make([]Port, len(si.Spec.Ports))
		for i := range si.Spec.Ports {
			p := &si.Spec.Ports[i]
			n, err := portNumber(p.Name, p.Port)
			if err != nil {
				return nil, err
			}
			out.Ports[i] = Port{Name: p.Name, Protocol: protocol(p.Protocol), Port: n}
		}
	}
	return out, nil
}
