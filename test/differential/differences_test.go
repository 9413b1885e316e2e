package differential

import (
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// difference is one way clusterdns may answer other than stock, on
// purpose. explain, given copies of both replies, says whether they differ
// in this way, and if so changes them so that this difference is gone;
// what is left must be equal (or explained by another entry) for the
// replies to pass. readme is the phrase of README's "Differences you may
// notice" that gives users the reason, checked to be there.
type difference struct {
	name   string
	reason string
	readme string
	// mode, when set, is the mode whose replies need the entry (AXFR);
	// while that mode is not yet supported, the entry need not be used.
	mode    string
	explain func(q query, stock, ours *view) bool
}

// differences are the only differences the test accepts. An entry that
// no reply needed fails the test too: the list says what is true now.
var differences = []difference{
	{
		name:   "fallthrough-of-a-difference",
		reason: "with fallthrough, a name one server answers NXDOMAIN for (by one of the differences above) goes to the next plugin, and the other server's NODATA does not",
		readme: "With `fallthrough`, a name goes to the next plugin only when",
		explain: func(q query, stock, ours *view) bool {
			base, ok := baseline.get(q)
			if !ok || base.stock.equal(base.ours) {
				return false
			}
			switch {
			case fromUpstream(stock) && base.stock.rcode == "NXDOMAIN" && ours.equal(base.ours):
				*stock = *base.stock.clone()
			case fromUpstream(ours) && base.ours.rcode == "NXDOMAIN" && stock.equal(base.stock):
				*ours = *base.ours.clone()
			default:
				return false
			}
			// What is left is the difference the baseline mode had,
			// which its own entries explain. This entry comes first, so
			// that it sees the replies as they came.
			_, ok = explainBaseline(q, stock, ours)
			if ok {
				*ours = *stock.clone()
			}
			return ok
		},
	},
	{
		name: "rfc8020-empty-non-terminal",
		reason: "an empty non-terminal (svc.<zone>, <namespace>.svc.<zone>, _tcp.<service>...) is NODATA, " +
			"not NXDOMAIN: below it names exist (RFC 8020), and search-list walks stop where they should",
		readme:  "Empty non-terminals",
		explain: nodataWhereStockSaysNXDOMAIN(emptyNonTerminal),
	},
	{
		name:    "name-exists-other-types",
		reason:  "a name that exists (the apex, dns-version, ns.dns, a reverse name with a PTR record) gets NODATA for its other types; stock says NXDOMAIN",
		readme:  "A name that exists gets NODATA",
		explain: nodataWhereStockSaysNXDOMAIN(existingName),
	},
	{
		name:   "nxdomain-where-stock-says-nodata",
		reason: "stock answers NODATA for SOA at any name and for anything under pod.<zone> with pods disabled; there is no such name, so NXDOMAIN",
		readme: "SOA at a name below the apex",
		explain: func(q query, stock, ours *view) bool {
			if !nodata(stock) || ours.rcode != "NXDOMAIN" || len(ours.answer) != 0 {
				return false
			}
			if q.qtype != dns.TypeSOA && !underPodZone(q.name) {
				return false
			}
			ours.rcode = stock.rcode
			return true
		},
	},
	{
		name:   "axfr-apex-ns-and-glue",
		mode:   "transfer",
		reason: "a zone transfer includes the apex NS and the address of ns.dns.<zone>; stock leaves both out (coredns/coredns#2997), so its secondaries had a zone without NS",
		readme: "coredns/coredns#2997",
		explain: func(q query, stock, ours *view) bool {
			if q.qtype != dns.TypeAXFR {
				return false
			}
			ns := "ns.dns." + strings.ToLower(q.name)
			return dropRecords(&ours.answer, func(rr string) bool {
				t := rrType(rr)
				apexNS := t == "NS" && owner(rr) == strings.ToLower(q.name) && strings.ToLower(rrField(rr, 4)) == ns
				glue := (t == "A" || t == "AAAA") && owner(rr) == ns
				return apexNS || glue
			})
		},
	},
	{
		name:   "axfr-srv-weights",
		mode:   "transfer",
		reason: "a zone transfer's SRV weights are those queries get; stock's transfer writes 100 on every SRV record of a service name, its queries 100 divided by the ports",
		readme: "Its SRV weights are those queries get",
		explain: func(q query, stock, ours *view) bool {
			if q.qtype != dns.TypeAXFR || strings.HasSuffix(q.name, ".arpa.") {
				return false
			}
			s, o := srvUnweighted(stock.answer), srvUnweighted(ours.answer)
			if slices.Equal(s, stock.answer) && slices.Equal(o, ours.answer) {
				return false
			}
			// Sorted again: the weight came before the target.
			slices.Sort(s)
			slices.Sort(o)
			stock.answer, ours.answer = s, o
			return true
		},
	},
	{
		name:   "axfr-reverse-zones-refused",
		mode:   "transfer",
		reason: "reverse zones are not transferred (REFUSED); stock sends the service names under them",
		readme: "zones are not transferred",
		explain: func(q query, stock, ours *view) bool {
			if q.qtype != dns.TypeAXFR || !strings.HasSuffix(q.name, ".arpa.") || !strings.Contains(ours.rcode, "rcode: 5") {
				return false
			}
			*stock = *ours.clone()
			return true
		},
	},
	{
		name:    "k8s-external-soa-serial",
		mode:    "k8s_external",
		reason:  "the SOA serial of the k8s_external zone is the time of the last change, as the cluster zone's; stock's is 0 until a Service changes after it started",
		readme:  "The SOA serial of the *k8s_external* zone",
		explain: zeroSerialIn(externalZone),
	},
	{
		name:   "clusterset-dns-version",
		mode:   "multicluster",
		reason: "dns-version.<multicluster zone> is the version of KEP-1645's specification, 1.0.0; stock serves the cluster specification's 1.1.0 there",
		readme: "`dns-version` of a `multicluster` zone",
		explain: func(q query, stock, ours *view) bool {
			if plain(q.name) != "dns-version."+clustersetZone {
				return false
			}
			changed := false
			for i, rr := range ours.answer {
				if rrType(rr) == "TXT" && strings.HasSuffix(rr, `"1.0.0"`) {
					ours.answer[i] = strings.TrimSuffix(rr, `"1.0.0"`) + `"1.1.0"`
					changed = true
				}
			}
			return changed
		},
	},
	{
		name:   "clusterset-ptr",
		mode:   "multicluster",
		reason: "KEP-1645 gives a ClusterSetIP, and a multi-cluster endpoint, without a cluster-local PTR record one into the multicluster zone; stock has none",
		readme: "PTR records of ClusterSetIPs",
		explain: func(q query, stock, ours *view) bool {
			if stock.rcode != "NXDOMAIN" || ours.rcode != "NOERROR" || len(ours.answer) == 0 {
				return false
			}
			for _, rr := range ours.answer {
				if rrType(rr) != "PTR" || !strings.HasSuffix(strings.ToLower(rrField(rr, 4)), ".svc."+clustersetZone) {
					return false
				}
			}
			*ours = *stock.clone()
			return true
		},
	},
	{
		name:   "axfr-clusterset-endpoint-names",
		mode:   "multicluster",
		reason: "a multicluster zone's transfer names each endpoint <hostname>.<clusterid>.<svc>, as queries do; stock's transfer leaves the cluster id out, names its own queries do not answer, and repeats an SRV record per cluster",
		readme: "transfer of a `multicluster` zone",
		explain: func(q query, stock, ours *view) bool {
			if q.qtype != dns.TypeAXFR || plain(q.name) != clustersetZone {
				return false
			}
			// Records of endpoint names, and SRV records pointing at
			// them: names below <svc>.<ns>.svc.<zone> that are not ports.
			endpoint := func(name string) bool {
				return dns.CountLabel(name) > dns.CountLabel(clustersetZone)+3 && !strings.HasPrefix(name, "_")
			}
			endpointRecord := func(rr string) bool {
				switch t := rrType(rr); t {
				case "A", "AAAA":
					return endpoint(owner(rr))
				case "SRV":
					return endpoint(strings.ToLower(rr[strings.LastIndexAny(rr, " \t")+1:])) // the target, weighted or not
				}
				return false
			}
			s := dropRecords(&stock.answer, endpointRecord)
			o := dropRecords(&ours.answer, endpointRecord)
			return s || o
		},
	},
	{
		name:    "clusterset-soa-serial",
		mode:    "multicluster",
		reason:  "the SOA serial of a multicluster zone is the time of the last change, as the cluster zone's; stock's is 0 until a ServiceImport or multi-cluster slice changes after it started",
		readme:  "The SOA serial of a `multicluster` zone",
		explain: zeroSerialIn(clustersetZone),
	},
	{
		name:   "loopback-nameserver",
		reason: "a server bound to loopback only (node-local, tests) answers the apex NS and ns.dns.<zone> with its loopback address; stock has no address for it and answers NODATA, a zone without NS",
		readme: "bound to loopback only",
		explain: wholeReply(func(q query, stock, ours *view) bool {
			if !nodata(stock) || ours.rcode != "NOERROR" || len(ours.answer) == 0 {
				return false
			}
			isNS := func(rr string) bool {
				return rrType(rr) == "NS" && strings.HasPrefix(strings.ToLower(rrField(rr, 4)), "ns.dns.")
			}
			isLoopback := func(rr string) bool {
				t := rrType(rr)
				return (t == "A" && strings.HasPrefix(rrField(rr, 4), "127.")) || (t == "AAAA" && rrField(rr, 4) == "::1")
			}
			for _, rr := range ours.answer {
				if !isNS(rr) && !isLoopback(rr) {
					return false
				}
			}
			return !slices.ContainsFunc(ours.extra, func(rr string) bool { return !isLoopback(rr) })
		}, oursTakesStocks),
	},
	{
		name:   "any-rfc8482",
		reason: "ANY gets one RRset of the name (RFC 8482); stock answers NODATA (NXDOMAIN at dns-version) as if the name had no records",
		readme: "ANY is answered with one record set",
		// A large RRset may not fit a UDP reply: its TC goes too.
		explain: wholeReply(func(q query, stock, ours *view) bool {
			return q.qtype == dns.TypeANY && ours.rcode == "NOERROR" && (len(ours.answer) != 0 || truncated(ours)) && len(stock.answer) == 0
		}, oursTakesStocksAndFlags),
	},
	{
		name:   "srv-names-address-records",
		reason: "_port._proto.<service> has SRV records only (the specification); stock also answers A/AAAA there with the service's addresses",
		readme: "has SRV records only, as the specification says",
		explain: wholeReply(func(q query, stock, ours *view) bool {
			return (q.qtype == dns.TypeA || q.qtype == dns.TypeAAAA) && strings.HasPrefix(plain(q.name), "_") && nodata(ours) && stock.rcode == "NOERROR" && len(stock.answer) != 0
		}, stockTakesOurs),
	},
	{
		name:   "empty-port-label",
		reason: "stock takes the empty port label of _._tcp.<service> as a wildcard for any port (wildcards left the kubernetes plugin in CoreDNS 1.9); here it is a port named \"_\", and there is none",
		readme: "_._tcp.<service>",
		// All the ports' records may not fit a UDP reply: its TC goes too.
		explain: wholeReply(func(q query, stock, ours *view) bool {
			return strings.HasPrefix(plain(q.name), "_._") && ours.rcode == "NXDOMAIN" && len(ours.answer) == 0
		}, stockTakesOursAndFlags),
	},
	{
		name:   "externalname-cname-every-type",
		reason: "an ExternalName's name holds a CNAME, so every type gets it (RFC 1034 3.6.2), with the target's records of that type; stock answers NODATA to types other than A, AAAA and CNAME",
		readme: "Every type at an ExternalName",
		explain: wholeReply(func(q query, stock, ours *view) bool {
			return nodata(stock) && ours.rcode == "NOERROR" && len(ours.answer) != 0 && rrType(ours.answer[0]) == "CNAME" && plain(owner(ours.answer[0])) == plain(q.name)
		}, oursTakesStocks),
	},
	{
		name:   "publish-not-ready-addresses",
		reason: "a Service with publishNotReadyAddresses gets all its endpoints, as the field's API documentation asks of any agent dealing with its endpoints (disregard ready/not-ready); stock trusts the slice's ready condition, which the EndpointSlice controller sets to true for such a Service, but a slice another controller writes need not",
		readme: "publishNotReadyAddresses",
		explain: func(q query, stock, ours *view) bool {
			if q.qtype == dns.TypeAXFR {
				// The zone holds the not-ready endpoints' records: their
				// names, their addresses at the service's name, SRV
				// records pointing at them (weights already set aside).
				return dropRecords(&ours.answer, func(rr string) bool {
					return !slices.Contains(stock.answer, rr) && publishesNotReady(owner(rr))
				})
			}
			if !publishesNotReady(plain(q.name)) && !(fullReverse(q.name) && len(ours.answer) > 0 && publishesNotReady(rrField(ours.answer[0], 4))) {
				return false
			}
			if stock.rcode == "NXDOMAIN" && ours.rcode == "NOERROR" {
				ours.takeReply(stock)
				return true
			}
			if stock.rcode == "NOERROR" && ours.rcode == "NOERROR" && isSubset(srvUnweighted(stock.answer), srvUnweighted(ours.answer)) && isSubset(stock.extra, ours.extra) {
				ours.answer, ours.extra = stock.answer, stock.extra
				return true
			}
			return false
		},
	},
	{
		name:   "reverse-soa-nameserver",
		reason: "the SOA of a reverse zone names ns.dns.<first forward zone>, which resolves; stock names ns.dns.in-addr.arpa., which does not exist",
		readme: "The SOA of a reverse zone",
		explain: func(q query, stock, ours *view) bool {
			changed := false
			for _, sec := range []*[]string{&ours.answer, &ours.ns} {
				for i, rr := range *sec {
					if rrType(rr) != "SOA" {
						continue
					}
					z := rrField(rr, 0)
					if lz := strings.ToLower(z); !strings.HasSuffix(lz, "in-addr.arpa.") && !strings.HasSuffix(lz, "ip6.arpa.") {
						continue
					}
					if fixed := strings.Replace(rr, "\tns.dns."+zone+" ", "\tns.dns."+z+" ", 1); fixed != rr {
						(*sec)[i] = fixed
						changed = true
					}
				}
			}
			return changed
		},
	},
	{
		name:   "extra-label-before-pod-or-reverse-name",
		reason: "stock answers a pod's or an address's records for a name with a label more before it (extra.<pod name>, extra.<reverse name>); that name does not exist",
		readme: "a label more before a pod's or a reverse name",
		explain: wholeReply(func(q query, stock, ours *view) bool {
			rest, ok := strings.CutPrefix(plain(q.name), "extra.")
			return ok && (fullReverse(rest) || underPodZone(rest)) && len(stock.answer) != 0 && ours.rcode == "NXDOMAIN"
		}, stockTakesOurs),
	},
}

// explainBaseline is explained, for the fallthrough entry (a direct call
// would make the list refer to itself).
var explainBaseline func(q query, stock, ours *view) ([]string, bool)

func init() { explainBaseline = explained }

// explained says whether stock and ours differ only in listed ways, and
// which entries it took.
func explained(q query, stock, ours *view) ([]string, bool) {
	return explainedWithout(q, stock, ours, "")
}

// explainedWithout is explained without the entry named skip: how the
// test shows that each entry is needed.
func explainedWithout(q query, stock, ours *view, skip string) ([]string, bool) {
	s, o := stock.clone(), ours.clone()
	var used []string
	for _, d := range differences {
		if d.name == skip {
			continue
		}
		if d.explain(q, s, o) {
			used = append(used, d.name)
			if s.equal(o) {
				return used, true
			}
		}
	}
	return nil, false
}

// zeroSerialIn explains stock's SOA serial 0 in zone, where ours is the
// time of the last change.
func zeroSerialIn(zone string) func(q query, stock, ours *view) bool {
	return func(q query, stock, ours *view) bool {
		changed := false
		for _, sec := range [][]string{stock.answer, stock.ns} {
			for i, rr := range sec {
				if rrType(rr) == "SOA" && strings.HasSuffix(owner(rr), zone) {
					if fixed := strings.Replace(rr, " 0 ", " <serial> ", 1); fixed != rr {
						sec[i] = fixed
						changed = true
					}
				}
			}
		}
		return changed
	}
}

// nodataWhereStockSaysNXDOMAIN explains our NODATA where stock says
// NXDOMAIN, for the names exists accepts.
func nodataWhereStockSaysNXDOMAIN(exists func(name string) bool) func(q query, stock, ours *view) bool {
	return func(q query, stock, ours *view) bool {
		if !exists(q.name) || stock.rcode != "NXDOMAIN" || !nodata(ours) {
			return false
		}
		ours.rcode = stock.rcode
		return true
	}
}

// wholeReply is the explain of an entry whose difference is a whole reply:
// where when holds, take makes one reply the other's.
func wholeReply(when func(q query, stock, ours *view) bool, take func(stock, ours *view)) func(q query, stock, ours *view) bool {
	return func(q query, stock, ours *view) bool {
		if !when(q, stock, ours) {
			return false
		}
		take(stock, ours)
		return true
	}
}

// wholeReply's takes: one reply takes the other's rcode and sections, its
// flags left compared (see takeReply); or, for a difference that changes
// whether the reply fits UDP (its TC flag), the flags too.
func oursTakesStocks(stock, ours *view) { ours.takeReply(stock) }
func stockTakesOurs(stock, ours *view)  { stock.takeReply(ours) }

func oursTakesStocksAndFlags(stock, ours *view) { ours.takeReply(stock); ours.flags = stock.flags }
func stockTakesOursAndFlags(stock, ours *view)  { stock.takeReply(ours); stock.flags = ours.flags }

func nodata(v *view) bool { return v.rcode == "NOERROR" && len(v.answer) == 0 && !truncated(v) }

func truncated(v *view) bool { return strings.Contains(v.flags, "tc") }

// rrField is the i-th tab-separated field of a record's text form (0 the
// owner, 3 the type, 4 the rdata).
func rrField(rr string, i int) string {
	f := strings.SplitN(rr, "\t", 5)
	if i >= len(f) {
		return ""
	}
	if i == 4 {
		first, _, _ := strings.Cut(f[4], " ")
		return first
	}
	return f[i]
}

func owner(rr string) string  { return strings.ToLower(rrField(rr, 0)) }
func rrType(rr string) string { return rrField(rr, 3) }

// withoutField is a record's text form without the n-th space-separated
// word of its rdata (counting from 1).
func withoutField(rr string, n int) string {
	f := strings.SplitN(rr, "\t", 5)
	if len(f) < 5 {
		return rr
	}
	words := strings.Fields(f[4])
	if n-1 < len(words) {
		words = slices.Delete(words, n-1, n)
	}
	return strings.Join(f[:4], "\t") + "\t" + strings.Join(words, " ")
}

func isSubset(sub, super []string) bool {
	for _, s := range sub {
		if !slices.Contains(super, s) {
			return false
		}
	}
	return true
}

// emptyNonTerminal says whether name is one of the spec's empty
// non-terminals: svc.<zone>, <ns>.svc.<zone>, pod.<zone>, <ns>.pod.<zone>,
// _<proto>.<service>..., or a reverse name short of an address.
func emptyNonTerminal(name string) bool {
	n := plain(name)
	labels := dns.SplitDomainName(n)
	if strings.HasSuffix(n, ".in-addr.arpa.") || strings.HasSuffix(n, ".ip6.arpa.") {
		return !fullReverse(n)
	}
	// The multicluster zone has the cluster zone's shape below svc.
	for _, z := range []string{zone, clustersetZone} {
		zl := dns.CountLabel(z)
		switch {
		case n == "dns."+z:
			return true // ns.dns.<zone> is below it
		case strings.HasSuffix(n, ".svc."+z) || n == "svc."+z:
			return len(labels) <= zl+2 || strings.HasPrefix(labels[0], "_") && len(labels) == zl+4
		case z == zone && (strings.HasSuffix(n, ".pod."+z) || n == "pod."+z):
			return len(labels) <= zl+2
		}
	}
	return false
}

// fullReverse says whether name is the reverse name of a whole address.
func fullReverse(name string) bool {
	n := plain(name)
	labels := dns.SplitDomainName(n)
	return strings.HasSuffix(n, ".in-addr.arpa.") && len(labels) == 6 || strings.HasSuffix(n, ".ip6.arpa.") && len(labels) == 34
}

func underPodZone(name string) bool {
	n := plain(name)
	return n == "pod."+zone || strings.HasSuffix(n, ".pod."+zone)
}

// fromUpstream says whether a reply is the test upstream's: what the next
// plugin after a fallthrough gives.
func fromUpstream(v *view) bool {
	for _, rr := range append(slices.Clone(v.answer), v.ns...) {
		if strings.Contains(rr, upstreamZone) || strings.Contains(rr, "192.0.2.53") || strings.Contains(rr, "2001:db8::53") || strings.Contains(rr, `"upstream"`) {
			return true
		}
	}
	return false
}

// notReadyServices are <service>.<ns>.svc.<zone> of the Services with
// publishNotReadyAddresses, set from the cluster before the modes run.
var notReadyServices []string

// publishesNotReady says whether name is, or is under, such a Service.
func publishesNotReady(name string) bool {
	n := strings.ToLower(name)
	for _, s := range notReadyServices {
		if n == s || strings.HasSuffix(n, "."+s) {
			return true
		}
	}
	return false
}

// pairOfViews is what both servers replied to one query.
type pairOfViews struct{ stock, ours *view }

// replies are the pairs of one mode, by query, for the fallthrough mode to
// compare with.
type replies struct {
	mu sync.Mutex
	m  map[string]pairOfViews
}

func (r *replies) put(q query, stock, ours *view) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]pairOfViews{}
	}
	r.m[q.String()] = pairOfViews{stock, ours}
}

func (r *replies) get(q query) (pairOfViews, bool) {
	if r == nil {
		return pairOfViews{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.m[q.String()]
	return p, ok
}

// baseline are the replies of the first mode (pods disabled, no
// fallthrough), once it has run.
var baseline *replies

// plain is a name in lower case with its \DDD and \X escapes decoded
// (an escaped dot stays escaped): what the name means, for the entries'
// checks.
func plain(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '\\' && i+3 < len(name) && isDigit(name[i+1]) && isDigit(name[i+2]) && isDigit(name[i+3]) {
			c = (name[i+1]-'0')*100 + (name[i+2]-'0')*10 + (name[i+3] - '0')
			i += 3
		} else if c == '\\' && i+1 < len(name) && name[i+1] != '.' {
			i++
			c = name[i]
		}
		if c == '.' && i > 0 && name[i-1] == '\\' {
			b.WriteString("\\.")
			continue
		}
		b.WriteByte(c)
	}
	return strings.ToLower(b.String())
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// existingNames are names that exist outside the Services' own: the
// apexes, dns-version and ns.dns, and the reverse names of the cluster's
// addresses; set before the modes run.
var existingNames = map[string]bool{}

// clustersetNames are the names the multicluster mode asks; set before
// the modes run.
var clustersetNames []string

func existingName(name string) bool { return existingNames[plain(name)] }

// dropRecords removes the records drop matches from *rrs, and says whether
// it found any. It works on a copy: an entry before it may have given one
// view the other's section, array and all.
func dropRecords(rrs *[]string, drop func(rr string) bool) bool {
	kept := slices.DeleteFunc(slices.Clone(*rrs), drop)
	if len(kept) == len(*rrs) {
		return false
	}
	*rrs = kept
	return true
}

// srvUnweighted are records with the weight of each SRV record left out:
// more targets make smaller weights.
func srvUnweighted(rrs []string) []string {
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = rr
		if rrType(rr) == "SRV" {
			out[i] = withoutField(rr, 2)
		}
	}
	return out
}
