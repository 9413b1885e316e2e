package external

import (
	"context"
	"strings"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/etcd/msg"
	"github.com/coredns/coredns/plugin/pkg/dnsutil"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// The suffixes of the keys of the backend's headless map (the kubernetes
// plugin's Endpoint and PortProtocol): a service's endpoints, and the
// endpoints of one of its named ports.
const (
	keyEndpoint     = "endpoint"
	keyPortProtocol = "port.protocol"
)

// Transfer implements transfer.Transferer: the zone's SOA, NS and glue,
// then the records of the backend's services, then the SOA again. A
// secondary at the current serial gets the SOA alone. The records are
// those stock's transfer sends, each once: stock sends some twice (a host
// name's CNAME, a headless service's SRV records, an address per port).
func (e *External) Transfer(zone string, serial uint32) (<-chan []dns.RR, error) {
	if plugin.Zones(e.Zones).Matches(zone) != zone {
		return nil, transfer.ErrNotAuthoritative
	}
	if zone == "." {
		zone = ""
	}
	state := request.Request{Zone: zone}
	soa := e.soa(state)
	ch := make(chan []dns.RR, 2)
	ch <- []dns.RR{soa}
	if serial != 0 && serial >= soa.Serial {
		close(ch)
		return ch, nil
	}
	go func() {
		defer close(ch)
		x := zoneTransfer{e: e, ch: ch, sent: make(map[string]struct{}), srvOwners: make(map[string]struct{})}
		x.send(e.ns(state))
		x.send(e.nameServerAddresses(state, dnsutil.Join("ns1", e.apex, zone))...)
		services, headless := e.backend.ExternalServices(zone, e.headless)
		for i := range services {
			x.service(&services[i])
		}
		for key, endpoints := range headless {
			x.headless(key, endpoints)
		}
		ch <- []dns.RR{soa}
	}()
	return ch, nil
}

// zoneTransfer sends the records of one transfer.
type zoneTransfer struct {
	e  *External
	ch chan<- []dns.RR
	// sent holds every record sent, as text, so none is sent twice; a
	// transfer is rare and the set lives as long as it does.
	sent map[string]struct{}
	// srvOwners holds the owners of the services' SRV records: stock sends
	// one SRV record per name, the first.
	srvOwners map[string]struct{}
}

func (x *zoneTransfer) send(rrs ...dns.RR) {
	var out []dns.RR
	for _, rr := range rrs {
		text := rr.String()
		if _, ok := x.sent[text]; ok {
			continue
		}
		x.sent[text] = struct{}{}
		out = append(out, rr)
	}
	if len(out) > 0 {
		x.ch <- out
	}
}

// service sends a service's records: at its name (TargetStrip 0) its
// addresses and an SRV record, at the name of a port (_port._proto.name)
// the port's SRV record.
func (x *zoneTransfer) service(s *msg.Service) {
	name := msg.Domain(s.Key)
	one := []msg.Service{*s}
	if s.TargetStrip == 0 {
		x.send(x.e.transferAddresses(name, one)...)
	}
	srvs, _ := x.e.srv(context.Background(), questionFor(name), one, false)
	for _, rr := range srvs {
		if _, ok := x.srvOwners[rr.Header().Name]; ok {
			continue
		}
		x.srvOwners[rr.Header().Name] = struct{}{}
		x.send(rr)
	}
}

// headless sends the records of one entry of the backend's headless map:
// for a service's endpoints, the addresses and SRV records at the
// service's name and at each endpoint's; for a named port, its SRV
// records.
func (x *zoneTransfer) headless(key string, endpoints []msg.Service) {
	cut := strings.LastIndexByte(key, '/')
	if cut < 0 {
		return
	}
	name := msg.Domain(key[:cut])
	switch key[cut+1:] {
	case keyEndpoint:
		x.send(x.e.transferAddresses(name, endpoints)...)
		srvs, _ := x.e.srv(context.Background(), questionFor(name), endpoints, false)
		x.send(srvs...)
		for i := range endpoints {
			one := endpoints[i : i+1]
			epName := msg.Domain(endpoints[i].Key)
			x.send(x.e.transferAddresses(epName, one)...)
			srvs, _ := x.e.srv(context.Background(), questionFor(epName), one, false)
			x.send(srvs...)
		}
	case keyPortProtocol:
		srvs, _ := x.e.srv(context.Background(), questionFor(name), endpoints, false)
		x.send(srvs...)
	}
}

// transferAddresses returns the address records of name: A and AAAA, and
// for a host name a CNAME, which a transfer does not chase.
func (e *External) transferAddresses(name string, services []msg.Service) []dns.RR {
	var rrs []dns.RR
	for i := range services {
		s := &services[i]
		what, ip := s.HostType()
		if what == dns.TypeCNAME {
			rrs = append(rrs, s.NewCNAME(name, s.Host))
			continue
		}
		rrs = append(rrs, addressRecord(name, what, ip, e.ttl))
	}
	return rrs
}

// questionFor is a request for name, all srv needs to name its records.
func questionFor(name string) request.Request {
	return request.Request{Req: &dns.Msg{Question: []dns.Question{{Name: name}}}}
}
