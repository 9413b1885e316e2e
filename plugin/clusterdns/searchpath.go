package clusterdns

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// The server-side search path (the search_path option).
//
// A pod's resolv.conf, as the kubelet writes it, searches
// <ns>.svc.<zone>, svc.<zone>, <zone> and then the node's own search
// domains, with ndots:5: a name with fewer than five dots is tried with
// each suffix in turn and then as it is, the client moving on at every
// NXDOMAIN. The first query of that walk names the pod's namespace, so the
// server can run the rest of the walk itself and answer the first query
// with a CNAME to the name that exists, plus its records: one round trip
// instead of one per suffix, without knowing which pod asked (CoreDNS's
// autopath finds the pod's namespace by watching every pod).
//
// What the server cannot know is whether a query really is a first step:
// <name>.<ns>.svc.<zone> is also a later step of any pod asking for
// <name>.<ns>. firstStep therefore only completes
// names that cannot be a name in namespace <ns> (a service, an endpoint
// or a port), and the walk only answers where every stub resolver ends
// up with the same answer (see completeSearch).

// searchPath is the parsed search_path option.
type searchPath struct {
	walks []zoneWalk
	// namespaces, when set, are the only namespaces whose pods get the
	// walk.
	namespaces map[string]struct{}
	// clients, when set, are the only client networks that get the walk.
	clients []netip.Prefix
	// resolvConf is the file the node's search domains were read from.
	resolvConf string
	// at is the Corefile file and line of the option, and explicit tells
	// whether it named its zones.
	at       string
	explicit bool
}

// withoutZones leaves out the walks of zones, the multicluster ones: a
// pod's search list names its cluster's zone only, so no walk starts in
// a multicluster zone. Naming one is an error.
func (sp *searchPath) withoutZones(zones []string) error {
	kept := sp.walks[:0]
	for _, w := range sp.walks {
		if !slices.Contains(zones, w.zone) {
			kept = append(kept, w)
		} else if sp.explicit {
			return fmt.Errorf("%q is a multicluster zone: no pod's search list starts there", w.zone)
		}
	}
	sp.walks = kept
	return nil
}

// completeSearch answers res, an NXDOMAIN for the question of state, with
// the result of the search walk the question starts, when it starts one
// and when every stub resolver would end its own walk at the same answer:
//
//   - the first name of the walk that exists has records of the asked type
//     (or a CNAME): the walk stops there for every resolver;
//   - the name that exists is the last one of the walk and has no records
//     of the type (NODATA): nothing follows that could give another answer.
//
// Anything else leaves the NXDOMAIN, which is true of the asked name, and
// the client walks on by itself: an existing name without the type before
// the end of the walk (musl and dig stop there, glibc goes on, so there is
// no one answer), an error or a truncated answer on the way, or a walk on
// which nothing exists. Names exist or not whatever the type asked, so the
// A and AAAA queries glibc sends side by side take the same decision.
func (cd *ClusterDNS) completeSearch(ctx context.Context, state request.Request, qname string, snap *index.View, client index.Client, res *resolver.Result) {
	if !completable(state.QType()) || ctx.Value(lookupForKey{}) != nil {
		return // a lookup of ours: a step of a walk, or a chased target
	}
	addr := clientIP(state.W)
	name, suffixes, ok := cd.cfg.search.firstStep(snap, client, qname, res.Zone, addr)
	if !ok || cd.autopathWalks(snap, addr, qname, res.Zone) {
		return // not a first step, or autopath's walk
	}
	ctx = context.WithValue(ctx, lookupForKey{}, qname)
	result := "client_walk"
	for i, suffix := range suffixes {
		target := name + "." + suffix
		step, ok := cd.lookupStep(ctx, state, snap, client, target)
		if ok && step.Rcode == dns.RcodeNameError {
			continue
		}
		// The first name that exists, or a failed lookup: the walk ends.
		switch {
		case !ok || step.Rcode != dns.RcodeSuccess:
		case len(step.Answer) > 0:
			result = "answer"
			cd.answerSearch(res, qname, target, step.Answer, nil, step.Extra)
		case i == len(suffixes)-1:
			result = "nodata"
			cd.answerSearch(res, qname, target, nil, step.Ns, nil)
		}
		break
	}
	searchWalks.WithLabelValues(result).Inc()
}

// answerSearch makes res the answer of a walk from qname that ended at
// target: a CNAME to target, then target's records.
func (cd *ClusterDNS) answerSearch(res *resolver.Result, qname, target string, answer, ns, extra []dns.RR) {
	cname := &dns.CNAME{Hdr: dns.RR_Header{Name: qname, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: cd.cfg.TTL}, Target: target}
	*res = resolver.Result{
		Rcode:  dns.RcodeSuccess,
		Answer: append(append(make([]dns.RR, 0, 1+len(answer)), cname), answer...),
		Ns:     ns,
		Extra:  extra,
		Zone:   res.Zone,
	}
}

// lookupStep answers name as a client asking it would see it: from the
// index when it is ours, else through the server (its cache, forward,
// stub domains), as the answers of ExternalName services are. ok is false
// when the lookup failed or its answer was truncated.
func (cd *ClusterDNS) lookupStep(ctx context.Context, state request.Request, snap *index.View, client index.Client, name string) (resolver.Result, bool) {
	qtype := state.QType()
	res, ours := cd.resolver.Resolve(snap, client, name, qtype)
	if ours && !(res.NameError() && cd.Fall.Through(name)) {
		cd.chase(ctx, state, &res)
		return res, true
	}
	m, err := cd.upstream.Lookup(ctx, state, name, qtype)
	if err != nil || m == nil || m.Truncated {
		return resolver.Result{}, false
	}
	return resolver.Result{Rcode: m.Rcode, Answer: m.Answer, Ns: m.Ns}, true
}

// completable tells whether stub resolvers walk their search list with
// questions of this type; CNAME and ANY questions would get an answer of
// another shape than they ask for.
func completable(qtype uint16) bool {
	return qtype != dns.TypeCNAME && qtype != dns.TypeANY && qtype != dns.TypeOPT && qtype < dns.TypeTKEY
}

// firstStep tells whether qname, a name of zone that does not exist, is
// taken as the first step of a pod's search walk: <name>.<ns>.svc.<zone>
// where <ns> is a namespace that exists (and is allowed, and visible to the
// client: a hidden one must not be told from one that does not exist by
// the walk it would start), <name> cannot be
// a name in <ns> and has fewer than ndots dots, and the client is allowed.
// It returns <name> in the case of the question and the suffixes to try.
func (sp *searchPath) firstStep(snap *index.View, asker index.Client, qname, zone string, addr netip.Addr) (string, []string, bool) {
	w := walkOf(sp.walks, zone)
	if w == nil || len(qname) <= len(zone) || strings.IndexByte(qname, '\\') >= 0 {
		return "", nil, false // escaped dots would make labels lie
	}
	var buf [resolver.MaxName]byte
	lower, ok := resolver.LowerName(buf[:0], qname)
	if !ok {
		return "", nil, false
	}
	head, ok := bytes.CutSuffix(lower[:len(lower)-len(zone)], []byte(".svc."))
	if !ok {
		return "", nil, false
	}
	i := bytes.LastIndexByte(head, '.')
	if i <= 0 {
		return "", nil, false
	}
	name, ns := head[:i], head[i+1:]
	if sp.namespaces != nil {
		if _, ok := sp.namespaces[string(ns)]; !ok {
			return "", nil, false
		}
	}
	if !snap.NamespaceExists(ns) || !index.Visible(snap, asker, ns) || !outsideNamespace(snap, name, head) || !sp.clientAllowed(addr) {
		return "", nil, false
	}
	return qname[:len(name)], w.suffixes, true
}

// outsideNamespace tells whether name (lower case; head is "<name>.<ns>")
// cannot be a name in namespace <ns>, so that <name>.<ns>.svc.<zone> is not
// a later step of a pod asking for "<name>.<ns>".
// A single label is a service name, "<a>.<b>" an endpoint of service <b>
// when <b> exists or a protocol when <a> starts with "_", and
// "_<port>._<proto>.<service>" a port. Names with ndots dots or more were
// tried as they are before the search list, and are not walked again.
func outsideNamespace(snap *index.View, name, head []byte) bool {
	if len(name) == 0 || name[0] == '.' || name[len(name)-1] == '.' || bytes.Contains(name, []byte("..")) {
		return false
	}
	dots := bytes.Count(name, []byte{'.'})
	if dots == 0 || dots >= podNdots {
		return false
	}
	first, rest, _ := bytes.Cut(name, []byte{'.'})
	switch dots {
	case 1:
		return first[0] != '_' && snap.Service(head[len(first)+1:]) == nil
	case 2:
		return first[0] != '_' || rest[0] != '_'
	}
	return true
}

func (sp *searchPath) clientAllowed(client netip.Addr) bool {
	if len(sp.clients) == 0 {
		return true
	}
	for _, p := range sp.clients {
		if p.Contains(client) {
			return true
		}
	}
	return false
}
