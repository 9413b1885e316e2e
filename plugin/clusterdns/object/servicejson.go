package object

import (
	"encoding/json"
	"net/netip"
)

// serviceJSON is a Service as the snapshot file writes it: one flat object
// whose keys come in this order. Service itself is laid out for memory
// (its rare fields behind Extra, its pointer-free fields last), which
// encoding/json would otherwise follow, moving and nesting keys; this
// mirror keeps the format, pinned by the snapshot's golden test, apart
// from the layout.
type serviceJSON struct {
	Meta
	Type                     ServiceType  `json:"type"`
	ClusterIPs               []netip.Addr `json:"clusterIPs,omitempty"`
	ExternalName             string       `json:"externalName,omitempty"`
	Ports                    []Port       `json:"ports,omitempty"`
	PublishNotReadyAddresses bool         `json:"publishNotReadyAddresses,omitempty"`
	HasSelector              bool         `json:"hasSelector,omitempty"`
	TTL                      uint32       `json:"ttl,omitempty"`
	HasTTL                   bool         `json:"hasTTL,omitempty"`
	ExternalIPs              []netip.Addr `json:"externalIPs,omitempty"`
	ExternalHostnames        []string     `json:"externalHostnames,omitempty"`
}

// MarshalJSON writes s as the flat serviceJSON. A value receiver, so that
// a Service value, not only a pointer, keeps the format.
func (s Service) MarshalJSON() ([]byte, error) { return json.Marshal(s.flat()) }

// UnmarshalJSON reads the flat serviceJSON into s, with an Extra only when
// the service has one of its fields (a dual-stack one has two cluster
// IPs). BadTTL, which the format does not
// hold, is kept.
func (s *Service) UnmarshalJSON(data []byte) error {
	j := s.flat()
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*s = Service{
		Meta: j.Meta, Type: j.Type, Ports: j.Ports,
		PublishNotReadyAddresses: j.PublishNotReadyAddresses, HasSelector: j.HasSelector, TTL: j.TTL, HasTTL: j.HasTTL,
		Extra: newServiceExtra(ServiceExtra{ExternalName: j.ExternalName, BadTTL: s.BadTTL(), ExternalIPs: j.ExternalIPs,
			ExternalHostnames: j.ExternalHostnames}),
	}
	s.SetClusterIPs(j.ClusterIPs)
	return nil
}

// flat is s as the snapshot writes it.
func (s *Service) flat() serviceJSON {
	return serviceJSON{
		Meta: s.Meta, Type: s.Type, ClusterIPs: s.ClusterIPs(), ExternalName: s.ExternalName(), Ports: s.Ports,
		PublishNotReadyAddresses: s.PublishNotReadyAddresses, HasSelector: s.HasSelector, TTL: s.TTL, HasTTL: s.HasTTL,
		ExternalIPs: s.ExternalIPs(), ExternalHostnames: s.ExternalHostnames(),
	}
}
