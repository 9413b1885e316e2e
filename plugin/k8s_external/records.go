package external

import (
	"context"
	"math"
	"net"

	"github.com/coredns/coredns/plugin/etcd/msg"
	"github.com/coredns/coredns/plugin/pkg/dnsutil"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// The records the backend's services become, as stock builds them: address
// and PTR records carry the zone's TTL; CNAME and SRV records carry the
// service's (the cluster plugin's TTL); SRV glue the zone's.

// addresses returns the records of type qtype (A or AAAA) for state's
// name: each address once, and for a host name (a load balancer's) a CNAME
// with, chased through the server, the target's records of qtype.
func (e *External) addresses(ctx context.Context, state request.Request, services []msg.Service, qtype uint16) (records []dns.RR, truncated bool) {
	var seen seenSet[string]
	for i := range services {
		s := &services[i]
		what, ip := s.HostType()
		switch what {
		case dns.TypeCNAME:
			records = append(records, s.NewCNAME(state.QName(), s.Host))
			if resp, err := e.upstream.Lookup(ctx, state, dns.Fqdn(s.Host), qtype); err == nil && resp != nil {
				records = append(records, resp.Answer...)
				truncated = truncated || resp.Truncated
			}
		case qtype:
			if seen.add(s.Host) {
				records = append(records, addressRecord(state.QName(), what, ip, e.ttl))
			}
		}
	}
	return records, truncated
}

// ptr returns the PTR records of a reverse name: each "<svc>.<ns>" the
// backend found once, in the first zone.
func (e *External) ptr(state request.Request, services []msg.Service) []dns.RR {
	var seen seenSet[string]
	var records []dns.RR
	for i := range services {
		s := &services[i]
		if seen.add(s.Host) {
			rr := s.NewPTR(state.QName(), dnsutil.Join(s.Host, e.Zones[0]))
			rr.Hdr.Ttl = e.ttl
			records = append(records, rr)
		}
	}
	return records
}

// srvKey tells SRV records (target and port) and their glue (target and
// address) apart when each is given once.
type srvKey struct {
	target string
	port   uint16
	addr   string
}

// srv returns the SRV records of state's name and, with glue, their
// targets' addresses: a service's target is its own name (the key's
// domain) with its address as glue; a host name is its own target, its
// addresses chased through the server. Services without a port (port -1)
// have no SRV record. Weights split 100 among the records of a priority,
// as stock splits them.
func (e *External) srv(ctx context.Context, state request.Request, services []msg.Service, glue bool) (records, extra []dns.RR) {
	totals := priorityWeights(services)
	var seen seenSet[srvKey]
	for i := range services {
		s := services[i] // a copy: its Host becomes the target below
		if s.Port == -1 {
			continue
		}
		share := 100.0 / float64(totals.of(s.Priority))
		if s.Weight == 0 {
			share *= 100
		} else {
			share *= float64(s.Weight)
		}
		weight := max(uint16(math.Floor(share)), 1)

		what, ip := s.HostType()
		addr := dns.Fqdn(s.Host)
		if what != dns.TypeCNAME {
			addr = s.Host
			s.Host = msg.Domain(s.Key)
		}
		rr := s.NewSRV(state.QName(), weight)
		if seen.add(srvKey{target: rr.Target, port: rr.Port}) {
			records = append(records, rr)
		}
		if !glue || !seen.add(srvKey{target: rr.Target, addr: addr}) {
			continue
		}
		switch what {
		case dns.TypeCNAME:
			for _, qtype := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
				if resp, err := e.upstream.Lookup(ctx, state, addr, qtype); err == nil && resp != nil {
					extra = append(extra, resp.Answer...)
				}
			}
		default:
			extra = append(extra, addressRecord(rr.Target, what, ip, e.ttl))
		}
	}
	return records, extra
}

// addressRecord is an A or AAAA record, as what says.
func addressRecord(name string, what uint16, ip net.IP, ttl uint32) dns.RR {
	hdr := dns.RR_Header{Name: name, Rrtype: what, Class: dns.ClassINET, Ttl: ttl}
	if what == dns.TypeA {
		return &dns.A{Hdr: hdr, A: ip}
	}
	return &dns.AAAA{Hdr: hdr, AAAA: ip}
}

// weightTotals holds the sum of the weights of each priority (a weight of
// 0 counting 100). Services mostly share one priority: a short list beats
// a map.
type weightTotals []struct {
	priority, total int
}

func priorityWeights(services []msg.Service) weightTotals {
	var totals weightTotals
	for i := range services {
		w := services[i].Weight
		if w == 0 {
			w = 100
		}
		j := totals.index(services[i].Priority)
		if j < 0 {
			totals = append(totals, struct{ priority, total int }{services[i].Priority, 0})
			j = len(totals) - 1
		}
		totals[j].total += w
	}
	return totals
}

func (t weightTotals) index(priority int) int {
	for i := range t {
		if t[i].priority == priority {
			return i
		}
	}
	return -1
}

func (t weightTotals) of(priority int) int { return t[t.index(priority)].total }

// seenSet remembers the keys already answered, so each record is given
// once. Most answers have a few records: those scan a fixed array, and
// only long ones (a large headless service) pay for a map.
type seenSet[K comparable] struct {
	few  [8]K
	n    int
	many map[K]struct{}
}

// add records k and tells whether it is new.
func (s *seenSet[K]) add(k K) bool {
	for _, f := range s.few[:s.n] {
		if f == k {
			return false
		}
	}
	if s.many != nil {
		if _, ok := s.many[k]; ok {
			return false
		}
		s.many[k] = struct{}{}
		return true
	}
	if s.n < len(s.few) {
		s.few[s.n] = k
		s.n++
		return true
	}
	s.many = map[K]struct{}{k: {}}
	return true
}
