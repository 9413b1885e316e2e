package external

import (
	"context"
	"strings"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// ServeDNS implements plugin.Handler. The zone's apex and its apex
// subdomain hold the records of the zone itself (apex.go); every other
// name is the backend's. A name with no records is NXDOMAIN (or the next
// plugin's, with fallthrough) or whatever other rcode the backend gives;
// a name with records but none of the type asked is NODATA. Both carry
// the SOA.
func (e *External) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	state := request.Request{W: w, Req: r}
	zone := e.zoneOf(state.Name())
	if zone == "" {
		return plugin.NextOrFailure(e.Name(), e.Next, ctx, w, r)
	}
	state.Zone = zone
	// As stock, every zone is checked, not only the one matched: a zone
	// may lie inside another's apex subdomain, and stock answers its
	// names as that subdomain's.
	for i, z := range e.Zones {
		if state.Name() == z {
			return e.serveApex(state)
		}
		if inDomain(state.Name(), e.apexNames[i]) {
			return e.serveSubApex(state)
		}
	}

	services, rcode := e.backend.External(state, e.headless)
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(services) == 0 {
		if rcode == dns.RcodeNameError && e.Fall.Through(state.Name()) {
			return plugin.NextOrFailure(e.Name(), e.Next, ctx, w, r)
		}
		m.Rcode = rcode
		m.Ns = []dns.RR{e.soa(state)}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	}
	switch state.QType() {
	case dns.TypeA, dns.TypeAAAA:
		m.Answer, m.Truncated = e.addresses(ctx, state, services, state.QType())
	case dns.TypeSRV:
		m.Answer, m.Extra = e.srv(ctx, state, services, true)
	case dns.TypePTR:
		m.Answer = e.ptr(state, services)
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{e.soa(state)}
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// zoneOf returns the longest of the zones name is in, or "", as
// plugin.Zones.Matches does but without its allocations.
func (e *External) zoneOf(name string) string {
	zone := ""
	for _, z := range e.Zones {
		if len(z) > len(zone) && inDomain(name, z) {
			zone = z
		}
	}
	return zone
}

// inDomain tells whether name is domain or below it; both are lower case
// and fully qualified. It compares in place, where dns.IsSubDomain splits
// both names into new slices on every query.
func inDomain(name, domain string) bool {
	if !strings.HasSuffix(name, domain) {
		return false
	}
	cut := len(name) - len(domain)
	if cut == 0 || domain == "." {
		return true
	}
	if name[cut-1] != '.' {
		return false
	}
	// The dot must end a label, not be an escaped dot inside one.
	backslashes := 0
	for i := cut - 2; i >= 0 && name[i] == '\\'; i-- {
		backslashes++
	}
	return backslashes%2 == 0
}

// Name implements plugin.Handler.
func (e *External) Name() string { return pluginName }
