package external

import (
	"strings"

	"github.com/coredns/coredns/plugin/pkg/dnsutil"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// The records of the zone itself: SOA and NS at the apex, and the name
// server ns1.<apex>.<zone> with the backend's addresses of this server.
// SOA timers are stock's; its minimum TTL is the zone's TTL.
const (
	soaRefresh = 7200
	soaRetry   = 1800
	soaExpire  = 86400
)

// serveApex answers a question for the zone's name: SOA, NS with the name
// server's addresses as glue, NODATA for other types.
func (e *External) serveApex(state request.Request) (int, error) {
	m := new(dns.Msg)
	m.SetReply(state.Req)
	m.Authoritative = true
	switch state.QType() {
	case dns.TypeSOA:
		m.Answer = []dns.RR{e.soa(state)}
	case dns.TypeNS:
		m.Answer = []dns.RR{e.ns(state)}
		// Stock names the glue after the question's name, so it keeps the
		// question's case.
		m.Extra = e.nameServerAddresses(state, dnsutil.Join("ns1", e.apex, state.QName()))
	default:
		m.Ns = []dns.RR{e.soa(state)}
	}
	state.W.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// serveSubApex answers a question for a name under <apex>.<zone>: only
// ns1.<apex>.<zone> exists, with the name server's addresses; <apex>.<zone>
// is an empty non-terminal (NODATA); other names do not exist.
func (e *External) serveSubApex(state request.Request) (int, error) {
	m := new(dns.Msg)
	m.SetReply(state.Req)
	m.Authoritative = true
	base, _ := dnsutil.TrimZone(state.Name(), state.Zone)
	// Stock counts the labels of the name below the zone, so an apex of
	// more than one label has no name server name it answers.
	switch labels := dns.CountLabel(base); {
	case labels == 1:
	case labels == 2 && strings.HasPrefix(base, "ns1."):
		qtype := state.QType()
		for _, rr := range e.nameServerAddresses(state, state.QName()) {
			if rr.Header().Rrtype == qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
	default:
		m.Rcode = dns.RcodeNameError
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{e.soa(state)}
	}
	state.W.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// nameServerAddresses returns the backend's addresses of this server as
// records of name with the zone's TTL.
func (e *External) nameServerAddresses(state request.Request, name string) []dns.RR {
	rrs := e.backend.ExternalAddress(state, e.headless)
	for _, rr := range rrs {
		rr.Header().Name = name
		rr.Header().Ttl = e.ttl
	}
	return rrs
}

func (e *External) soa(state request.Request) *dns.SOA {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: state.Zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: e.ttl},
		Ns:      dnsutil.Join("ns1", e.apex, state.Zone),
		Mbox:    dnsutil.Join(e.hostmaster, e.apex, state.Zone),
		Serial:  e.backend.ExternalSerial(state.Zone),
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  e.ttl,
	}
}

func (e *External) ns(state request.Request) *dns.NS {
	return &dns.NS{
		Hdr: dns.RR_Header{Name: state.Zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: e.ttl},
		Ns:  dnsutil.Join("ns1", e.apex, state.Zone),
	}
}
