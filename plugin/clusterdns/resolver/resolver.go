// Package resolver answers DNS questions from an index snapshot: it is the
// Kubernetes DNS specification (1.1.0) as a pure function of (snapshot,
// client, question) -> answer; the client matters only under the visibility
// option, where a namespace it may not see answers as if it did not exist. The name grammar lives here; it reads no Kubernetes
// API types and keeps no state besides its configuration.
package resolver

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
)

// PodMode is how `<a-b-c-d>.<namespace>.pod.<zone>` names are answered.
type PodMode uint8

// The pod modes of the `pods` option.
const (
	// PodsDisabled answers NXDOMAIN for pod names.
	PodsDisabled PodMode = iota
	// PodsInsecure answers any well-formed pod name in an existing namespace
	// with the address it spells, without checking that such a pod exists.
	PodsInsecure
	// PodsVerified answers only when a pod with that address runs in that
	// namespace.
	PodsVerified
)

// Config is what the Corefile says about answering.
type Config struct {
	// Zones are the zones answered, lower case and fully qualified. The
	// first forward zone is the one PTR targets point into.
	Zones []string
	// TTL of every record, and the SOA minimum (negative caching) TTL.
	TTL uint32
	// Pods is the pod mode.
	Pods PodMode
	// IgnoreEmptyService answers NXDOMAIN for a ClusterIP service without
	// ready endpoints, so clients move on along their search list.
	IgnoreEmptyService bool
	// Zonal answers zone-scoped names of headless services:
	// <zone>.pin._zone.<svc>.<ns>.svc.<zone> and <zone>.prefer._zone...
	// (zonal.go). The index must keep zones (index.Options.Zonal).
	Zonal bool
	// LocalAddrs are the server's own addresses; ns.dns.<zone> answers with
	// the cluster IPs of the services whose endpoints these are, or with
	// the addresses themselves.
	LocalAddrs []netip.Addr
	// MulticlusterZones are the zones, among Zones, answered from
	// ServiceImports by the Multi-Cluster Services DNS specification
	// (KEP-1645) instead of from Services.
	MulticlusterZones []string
}

// DNSSchemaVersion is the version of the Kubernetes DNS specification
// implemented, served as TXT at dns-version.<zone>.
const DNSSchemaVersion = "1.1.0"

// MulticlusterSchemaVersion is the version of the Multi-Cluster Services
// DNS specification (KEP-1645) implemented, served as TXT at
// dns-version.<zone> of the multicluster zones. Stock CoreDNS serves
// DNSSchemaVersion there.
const MulticlusterSchemaVersion = "1.0.0"

// maxChain is the longest chain of ExternalName CNAMEs inside our zones
// that is followed: 11, as in stock CoreDNS (maxCnameChainLength records
// before the last one). A longer chain is answered NODATA, as there.
const maxChain = 11

// Resolver answers questions for the configured zones.
type Resolver struct {
	zones []zone
	// primary is the zone PTR records point into; clusterset, when set,
	// the one PTR records of ServiceImports point into.
	primary    *zone
	clusterset *zone
	cfg        Config
}

type zone struct {
	name       string // "cluster.local."
	reverse    bool   // in-addr.arpa or ip6.arpa, or a zone below them
	nsName     string // "ns.dns.cluster.local."
	hostmaster string // "hostmaster.cluster.local."
	// clusterset zones answer ServiceImports (multicluster).
	clusterset bool
}

// New returns a resolver for cfg. Zones must be lower case and fully
// qualified.
func New(cfg Config) *Resolver {
	r := &Resolver{cfg: cfg}
	for _, z := range cfg.Zones {
		r.zones = append(r.zones, zone{
			name:       z,
			reverse:    IsReverseZone(z),
			nsName:     "ns.dns." + z,
			hostmaster: "hostmaster." + z,
			clusterset: slices.Contains(cfg.MulticlusterZones, z),
		})
	}
	// Cluster names point into the first forward zone that is not a
	// multicluster one (stock takes the first forward zone, whichever).
	for i := range r.zones {
		z := &r.zones[i]
		switch {
		case z.clusterset && r.clusterset == nil:
			r.clusterset = z
		case !z.reverse && !z.clusterset && r.primary == nil:
			r.primary = z
		}
	}
	if r.primary == nil {
		r.primary = r.clusterset
	}
	return r
}

// Result is an answer: the sections of the reply and its rcode.
type Result struct {
	Rcode  int
	Answer []dns.RR
	Ns     []dns.RR
	Extra  []dns.RR
	// Zone is the configured zone the question fell in.
	Zone string
	// Chase, when set, is the target of an ExternalName CNAME outside our
	// zones: the caller looks up its records through the server and
	// appends them to Answer.
	Chase string
}

// NameError tells whether the result is NXDOMAIN, which fallthrough may
// pass to the next plugin.
func (res *Result) NameError() bool { return res.Rcode == dns.RcodeNameError }

// Zone returns the configured zone qname falls in, or "" if none. The
// longest match wins.
func (r *Resolver) Zone(qname string) string {
	if z := r.zoneOf(qname); z != nil {
		return z.name
	}
	return ""
}

// Resolve answers the question (qname, qtype) of client from snap: a name in
// a namespace the client may not see is answered as a name that does not
// exist (see index.Visible). qname must be fully
// qualified, in presentation form; the answer's owner names keep its case,
// and so does the zone in the SOA and in names made from the zone (SRV
// targets, NS), as in stock CoreDNS. ok is false when qname is outside the
// configured zones.
func (r *Resolver) Resolve(snap *index.View, client index.Client, qname string, qtype uint16) (Result, bool) {
	return r.Explain(snap, client, qname, qtype, nil)
}

// Explain answers the question as Resolve does for client, with the same
// code, recording in tr why (tr nil: Resolve).
func (r *Resolver) Explain(snap *index.View, client index.Client, qname string, qtype uint16, tr *Trace) (Result, bool) {
	z := r.zoneOf(qname)
	if z == nil {
		return Result{}, false
	}
	q := r.newQuery(snap, client, z, qname, qtype)
	q.trace = tr
	zoneName := q.zoneName
	q.res.Zone = z.name
	var buf [MaxName]byte
	if lower, ok := LowerName(buf[:0], qname); ok {
		q.resolve(lower[:len(lower)-len(z.name)])
		q.followChain(&buf)
	} else {
		// A name longer than MaxName within 255 octets is written with
		// \DDD escapes (up to four characters an octet), and octets that
		// need escaping are in no cluster name: it does not exist.
		q.noSuchName()
	}
	// Negative answers carry the SOA of the zone asked, as asked.
	q.z, q.zoneName = z, zoneName
	if q.res.Rcode == dns.RcodeNameError || q.res.Rcode == dns.RcodeSuccess && len(q.res.Answer) == 0 {
		q.res.Ns = append(q.res.Ns, q.soa())
	}
	return q.res, true
}

// followChain answers the in-zone targets of ExternalName CNAMEs the way
// stock CoreDNS does (plugin.A, AAAA, TXT): a CNAME stays only when what it
// points to answers. A target that loops back, a chain longer than
// maxChain, and a target that does not exist or has no records of the type
// make the answer NODATA: the asked name exists, so it is never NXDOMAIN
// (which fallthrough would hand to the next plugin). Targets outside our
// zones are left to the caller (Result.Chase). Stock resolves a target in
// another of our zones through the server, which keeps the CNAME whatever
// that zone answers: so does a chain here past a change of zone.
func (q *query) followChain(buf *[MaxName]byte) {
	start := len(q.res.Answer) - 1 // the first CNAME of the chain in this zone
	cnames := 1
	for q.follow != "" {
		target := q.follow
		if q.loops(start, target) {
			q.note(RuleChainBroken, 0, "", "")
			q.dropChain(start)
			return
		}
		lower, _ := LowerName(buf[:0], target)
		z := q.r.zoneOf(target)
		if z != q.z {
			start = len(q.res.Answer)
		}
		mark := len(q.res.Answer)
		q.owner, q.follow, q.ttl, q.z, q.zoneName = target, "", q.r.cfg.TTL, z, z.name
		q.resolve(lower[:len(lower)-len(z.name)])
		if q.follow != "" || q.res.Chase != "" {
			if cnames++; cnames > maxChain {
				q.note(RuleChainBroken, 0, "", "")
				q.dropChain(start)
				return
			}
			continue
		}
		if q.res.Rcode != dns.RcodeSuccess || len(q.res.Answer) == mark {
			q.note(RuleChainBroken, 0, "", "")
			q.dropChain(start)
		}
	}
}

// loops tells whether following target from the current owner goes round:
// the target is the owner or below it (stock's "x CNAME x" check), or an
// owner earlier in the chain.
func (q *query) loops(start int, target string) bool {
	if inZone(target, q.owner) {
		return true
	}
	for _, rr := range q.res.Answer[start:] {
		if cname, ok := rr.(*dns.CNAME); ok && strings.EqualFold(cname.Hdr.Name, target) {
			return true
		}
	}
	return false
}

// dropChain takes the CNAMEs from start on out of the answer, leaving
// NODATA (or the CNAMEs before a change of zone).
func (q *query) dropChain(start int) {
	q.res.Answer = q.res.Answer[:start]
	q.res.Rcode = dns.RcodeSuccess
	q.res.Chase, q.follow = "", ""
}

// MaxName is the longest name in presentation form handled (255 octets on
// the wire, and escapes are not valid in cluster names anyway): the size of
// the stack buffers LowerName writes into.
const MaxName = 256

// lowerName appends the ASCII lower-case form of a fully qualified name to
// dst, without allocating for names up to MaxName.
func LowerName(dst []byte, name string) ([]byte, bool) {
	if len(name) == 0 || len(name) > MaxName || name[len(name)-1] != '.' {
		return dst, false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// zoneOf returns the configured zone name falls in, or nil: the longest
// match, compared without regard to case, at a label boundary. It reads the
// name in presentation form, of any length: a dot escaped with a backslash
// is part of a label, not a boundary.
func (r *Resolver) zoneOf(name string) *zone {
	var best *zone
	for i := range r.zones {
		z := &r.zones[i]
		if inZone(name, z.name) && (best == nil || len(z.name) > len(best.name)) {
			best = z
		}
	}
	return best
}

// inZone tells whether name is zone or below it. zone is lower case, fully
// qualified and free of escapes.
func inZone(name, zone string) bool {
	if len(name) == 0 || name[len(name)-1] != '.' || escaped(name, len(name)-1) {
		return false
	}
	if zone == "." {
		return true
	}
	if len(name) < len(zone) {
		return false
	}
	// Most questions are in lower case: compare bytes before folding case.
	if suffix := name[len(name)-len(zone):]; suffix != zone && !strings.EqualFold(suffix, zone) {
		return false
	}
	rest := name[:len(name)-len(zone)]
	return rest == "" || (rest[len(rest)-1] == '.' && !escaped(rest, len(rest)-1))
}

// escaped tells whether name[i] is escaped: preceded by an odd number of
// backslashes.
func escaped(name string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// IsReverseZone tells whether z is in-addr.arpa., ip6.arpa. or below them.
func IsReverseZone(z string) bool {
	return strings.HasSuffix(z, "in-addr.arpa.") || strings.HasSuffix(z, "ip6.arpa.")
}
