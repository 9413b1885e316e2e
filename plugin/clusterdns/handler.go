package clusterdns

import (
	"context"
	"errors"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// errNotSynced is returned (with SERVFAIL) for cluster names asked before
// the source's first sync: an NXDOMAIN then would be a lie that resolvers
// cache.
var errNotSynced = errors.New("cluster state not synced yet")

// ServeDNS implements plugin.Handler.
func (cd *ClusterDNS) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	hq := cd.history.query(ctx, w, r)
	rc, err := cd.serveDNS(ctx, w, r, &hq)
	// Unless a reply was written (and recorded), the server writes rc.
	hq.record(rc, nil)
	return rc, err
}

// serveDNS answers r; hq records the answer in the query history (see
// historyQuery), without wrapping w for the answers written here.
func (cd *ClusterDNS) serveDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, hq *historyQuery) (int, error) {
	state := request.Request{W: w, Req: r}
	if state.QClass() != dns.ClassINET {
		return cd.next(ctx, w, r, hq)
	}
	// The name as it came off the wire (already in presentation form):
	// request.QName re-escapes it, which cost a third of a declined
	// search_path query.
	qname := r.Question[0].Name
	if qt := r.Question[0].Qtype; (qt == dns.TypeAXFR || qt == dns.TypeIXFR) && cd.resolver.Zone(qname) != "" {
		// Transfers are the transfer plugin's, which runs before us (see
		// xfr.go); without it they are refused, as stock refuses them.
		return dns.RcodeRefused, nil
	}
	snap := cd.index.View()
	if snap == nil {
		if cd.resolver.Zone(qname) == "" {
			return cd.next(ctx, w, r, hq)
		}
		return dns.RcodeServerFailure, plugin.Error(cd.Name(), errNotSynced)
	}
	if r.Opcode != dns.OpcodeQuery {
		// The server lets NOTIFY through; we have nothing to do with it.
		if cd.resolver.Zone(qname) == "" {
			return cd.next(ctx, w, r, hq)
		}
		return dns.RcodeNotImplemented, nil
	}
	client := cd.clientOf(snap, w)
	res, ok := cd.resolver.Resolve(snap, client, qname, state.QType())
	if !ok {
		return cd.next(ctx, w, r, hq)
	}
	if moreThanOneOPT(r.Extra) {
		// RFC 6891 6.1.1: a query with more than one OPT RR MUST get
		// FORMERR. CoreDNS's server does not check; for our zones we do.
		return dns.RcodeFormatError, nil
	}
	if res.NameError() && cd.cfg.search != nil {
		cd.completeSearch(ctx, state, qname, snap, client, &res)
	}
	if res.NameError() && cd.Fall.Through(qname) {
		return cd.next(ctx, w, r, hq)
	}
	cd.chase(ctx, state, &res)

	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.Rcode = res.Rcode
	m.Answer, m.Ns, m.Extra = res.Answer, res.Ns, res.Extra
	hq.record(m.Rcode, m.Answer)
	// The server's writer truncates to the client's buffer size.
	if err := w.WriteMsg(m); err != nil {
		log.Debugf("write reply for %s: %v", qname, err)
	}
	return dns.RcodeSuccess, nil
}

// next passes r to the next plugin. With the query history on, through a
// writer that records the reply that plugin writes: the one allocation the
// history costs, for queries that are not the plugin's to answer.
func (cd *ClusterDNS) next(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, hq *historyQuery) (int, error) {
	if hq.h == nil || hq.recorded {
		return plugin.NextOrFailure(cd.Name(), cd.Next, ctx, w, r)
	}
	hw := &historyWriter{ResponseWriter: w, q: *hq}
	hq.recorded = true // by hw from here on
	rc, err := plugin.NextOrFailure(cd.Name(), cd.Next, ctx, hw, r)
	hw.q.record(rc, nil)
	return rc, err
}

// Name implements plugin.Handler.
func (cd *ClusterDNS) Name() string { return pluginName }

// moreThanOneOPT reports whether the additional section holds more than one
// OPT pseudo-record.
func moreThanOneOPT(extra []dns.RR) bool {
	seen := false
	for _, rr := range extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			if seen {
				return true
			}
			seen = true
		}
	}
	return false
}
