// Package resolver answers DNS questions from an index snapshot: it is the
// Kubernetes DNS specification (1.1.0) as a pure function of (snapshot,
// question) -> answer. The name grammar lives here; it reads no Kubernetes
// API types and keeps no state besides its configuration.
package resolver

import (
	"net/netip"
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
	// LocalAddrs are the server's own addresses; ns.dns.<zone> answers with
	// the cluster IPs of the services whose endpoints these are, or with
	// the addresses themselves.
	LocalAddrs []netip.Addr
}

// DNSSchemaVersion is the version of the Kubernetes DNS specification
// implemented, served as TXT at dns-version.<zone>.
const DNSSchemaVersion = "1.1.0"

// maxChase bounds how many ExternalName CNAMEs inside our zones are
// followed, so that services pointing at each other cannot loop.
const maxChase = 8

// Resolver answers questions for the configured zones.
type Resolver struct {
	zones []zone
	// primary is the zone PTR records point into.
	primary *zone
	cfg     Config
}

type zone struct {
	name       string // "cluster.local."
	reverse    bool   // in-addr.arpa or ip6.arpa, or a zone below them
	nsName     string // "ns.dns.cluster.local."
	hostmaster string // "hostmaster.cluster.local."
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
		})
	}
	for i := range r.zones {
		if !r.zones[i].reverse {
			r.primary = &r.zones[i]
			break
		}
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
	var buf [MaxName]byte
	lower, ok := LowerName(buf[:0], qname)
	if !ok {
		return ""
	}
	if z := r.matchZone(lower); z != nil {
		return z.name
	}
	return ""
}

// Resolve answers the question (qname, qtype) from snap. qname must be fully
// qualified; the answer's owner names keep its case. ok is false when qname
// is outside the configured zones.
func (r *Resolver) Resolve(snap *index.View, qname string, qtype uint16) (Result, bool) {
	var buf [MaxName]byte
	lower, valid := LowerName(buf[:0], qname)
	if !valid {
		return Result{}, false
	}
	z := r.matchZone(lower)
	if z == nil {
		return Result{}, false
	}
	q := query{r: r, snap: snap, z: z, owner: qname, qtype: qtype, ttl: r.cfg.TTL}
	q.res.Zone = z.name
	q.resolve(lower[:len(lower)-len(z.name)])
	// Follow ExternalName CNAMEs that stay in our zones, a bounded number of
	// times so that services pointing at each other cannot loop.
	for depth := 0; q.follow != "" && depth < maxChase; depth++ {
		q.owner, q.follow, q.ttl = q.follow, "", r.cfg.TTL
		if lower, valid = LowerName(buf[:0], q.owner); !valid {
			break
		}
		if q.z = r.matchZone(lower); q.z == nil {
			break
		}
		q.resolve(lower[:len(lower)-len(q.z.name)])
	}
	if q.res.Rcode != dns.RcodeSuccess || len(q.res.Answer) == 0 {
		q.res.Ns = append(q.res.Ns, q.soa())
	}
	return q.res, true
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

func (r *Resolver) matchZone(lower []byte) *zone {
	var best *zone
	for i := range r.zones {
		z := &r.zones[i]
		if !hasZoneSuffix(lower, z.name) {
			continue
		}
		if best == nil || len(z.name) > len(best.name) {
			best = z
		}
	}
	return best
}

// hasZoneSuffix tells whether name is zone or below it, at a label boundary.
func hasZoneSuffix(name []byte, zone string) bool {
	if zone == "." {
		return true
	}
	if len(name) < len(zone) || string(name[len(name)-len(zone):]) != zone {
		return false
	}
	return len(name) == len(zone) || name[len(name)-len(zone)-1] == '.'
}

// IsReverseZone tells whether z is in-addr.arpa., ip6.arpa. or below them.
func IsReverseZone(z string) bool {
	return strings.HasSuffix(z, "in-addr.arpa.") || strings.HasSuffix(z, "ip6.arpa.")
}
