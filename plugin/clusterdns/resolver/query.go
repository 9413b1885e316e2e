package resolver

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// query is the state of answering one question.
type query struct {
	r    *Resolver
	snap *index.View
	// client is who asks: it sees only the namespaces visible to it.
	client index.Client
	z      *zone
	// zoneName is z.name as the owner spells it: stock CoreDNS keeps the
	// question's case in the SOA and in the names it makes from the zone.
	zoneName string
	owner    string // owner name of the answer records: the name as asked
	qtype    uint16
	res      Result // built in place: the query lives on the caller's stack
	// follow is an in-zone CNAME target to answer next.
	follow string
	// ttl of the records being added: the zone's, or the service's own.
	ttl uint32
	// trace, when set, records the decisions (Explain; trace.go).
	trace *Trace
}

// newQuery starts the answer to (owner, qtype) in zone z, which owner falls
// in (owner "": the zone's own records). The zone's name in the records it
// makes is spelled as the owner spells it, as stock CoreDNS does.
func (r *Resolver) newQuery(snap *index.View, client index.Client, z *zone, owner string, qtype uint16) query {
	zoneName := z.name
	if len(owner) >= len(z.name) {
		zoneName = owner[len(owner)-len(z.name):]
	}
	return query{r: r, snap: snap, client: client, z: z, zoneName: zoneName, owner: owner, qtype: qtype, ttl: r.cfg.TTL}
}

func (q *query) nxdomain() { q.res.Rcode = dns.RcodeNameError }

// notListedYet answers a name the view cannot decide yet (its pods are
// still being listed): SERVFAIL, which a client retries, never an
// NXDOMAIN it would believe.
func (q *query) notListedYet() { q.res.Rcode = dns.RcodeServerFailure }

// noSuchName answers a name no rule of the schema has the shape of.
func (q *query) noSuchName() {
	q.note(RuleNoSuchName, 0, "", "")
	q.nxdomain()
}

// nodata marks the name as existing without records of the asked type. It
// is the default: NOERROR with nothing in the answer.
func (q *query) nodata() {}

// resolve answers rel, the lower-case name relative to the zone with a
// trailing dot ("web.prod.svc."), or "" at the apex.
func (q *query) resolve(rel []byte) {
	if len(rel) == 0 {
		q.note(RuleApex, 0, "", "")
		q.apex()
		return
	}
	if q.z.reverse {
		q.reverse()
		return
	}
	rest, last := cutLast(rel[:len(rel)-1])
	switch string(last) {
	case "svc":
		q.svc(rest)
	case "pod":
		q.pod(rest)
	case "dns-version":
		if len(rest) != 0 {
			q.noSuchName()
			return
		}
		q.note(RuleDNSVersion, 0, "", "")
		if q.qtype == dns.TypeTXT || q.qtype == dns.TypeANY {
			hdr := q.hdr(q.owner, dns.TypeTXT)
			hdr.Ttl = dnsVersionTTL
			version := DNSSchemaVersion
			if q.z.clusterset {
				version = MulticlusterSchemaVersion
			}
			q.res.Answer = append(q.res.Answer, &dns.TXT{Hdr: hdr, Txt: []string{version}})
		}
	case "dns":
		switch {
		case len(rest) == 0:
			q.note(RuleEmptyNonTerminal, 0, "", "")
			q.nodata() // empty non-terminal above ns.dns
		case string(rest) == "ns":
			q.note(RuleNSName, 0, "", "")
			q.nsAddrs(q.owner, &q.res.Answer)
		default:
			q.noSuchName()
		}
	default:
		q.noSuchName()
	}
}

func (q *query) apex() {
	switch q.qtype {
	case dns.TypeSOA, dns.TypeANY:
		q.res.Answer = append(q.res.Answer, q.soa())
	case dns.TypeNS:
		ns := q.nsTarget()
		q.res.Answer = append(q.res.Answer, &dns.NS{Hdr: q.hdr(q.owner, dns.TypeNS), Ns: ns})
		q.nsAddrs(ns, &q.res.Extra)
	}
}

// nsTarget is the name of this server: ns.dns.<zone>, the zone as asked, or
// for a reverse zone the primary zone's.
func (q *query) nsTarget() string {
	if q.z.reverse && q.r.primary != nil {
		return q.r.primary.nsName
	}
	if q.zoneName == q.z.name {
		return q.z.nsName
	}
	return "ns.dns." + q.zoneName
}

// nsAddrs answers ns.dns.<zone>: the cluster IPs of the services that have
// this server as an endpoint (kube-dns), else the server's own addresses.
func (q *query) nsAddrs(owner string, dst *[]dns.RR) {
	var addrs []netip.Addr
	for _, local := range q.r.cfg.LocalAddrs {
		for _, name := range q.snap.ReverseNames(local) {
			// Endpoint names have three labels: endpoint.svc.ns.
			ep, key := cutFirst([]byte(name))
			if len(ep) == 0 || bytes.Count(key, []byte{'.'}) != 1 {
				continue
			}
			if svc := q.snap.Service(key); svc != nil && svc.Type == object.ClusterIP {
				addrs = append(addrs, svc.ClusterIPs()...)
			}
		}
	}
	if len(addrs) == 0 {
		addrs = q.r.cfg.LocalAddrs
	}
	for _, a := range addrs {
		q.addr(owner, a, dst, q.qtype == dns.TypeNS)
	}
}

// svc answers names below svc.<zone>; rest is what precedes "svc".
func (q *query) svc(rest []byte) {
	switch countLabels(rest) {
	case 0, 1:
		q.kindOrNamespace(rest) // svc.<zone>, <ns>.svc.<zone>
	case 2:
		svc := q.service(rest)
		if svc == nil {
			q.noteServiceKey(RuleNoService, rest)
			q.nxdomain()
			return
		}
		q.useService(svc)
		q.answerService(svc)
	case 3:
		first, key := cutFirst(rest)
		svc := q.service(key)
		if svc == nil || svc.Type == object.ExternalName || q.ignored(svc) {
			q.noteMissing(svc, key, RuleNoEndpoint)
			q.nxdomain()
			return
		}
		if first[0] == '_' {
			// _tcp.<svc>: an empty non-terminal when the service has named
			// ports of that protocol.
			if !svc.HasPortProtocol(first[1:]) {
				q.noteService(RuleNoPort, svc)
				q.nxdomain()
				return
			}
			q.noteService(RulePortProtocol, svc)
			return
		}
		// In a multicluster zone no endpoint has a one-label name: so
		// <clusterid>.<svc> is NXDOMAIN, as KEP-1645 wants of a name that
		// would pick one cluster's backends, though endpoints are below it.
		q.useService(svc)
		q.endpoint(svc, first)
	case 4:
		name := rest
		port, rest := cutFirst(rest)
		proto, key := cutFirst(rest)
		srv := port[0] == '_' && proto[0] == '_'
		// <hostname>.<clusterid>.<svc>: the endpoint's name in the
		// clusterset is both labels.
		clusterEndpoint := q.z.clusterset && port[0] != '_' && proto[0] != '_'
		if !srv && !clusterEndpoint {
			q.noSuchName()
			return
		}
		missing := RuleNoPort
		if clusterEndpoint {
			missing = RuleNoEndpoint
		}
		svc := q.service(key)
		if svc == nil || svc.Type == object.ExternalName || q.ignored(svc) {
			q.noteMissing(svc, key, missing)
			q.nxdomain()
			return
		}
		q.useService(svc)
		if srv {
			q.srv(svc, port[1:], proto[1:])
		} else {
			q.endpoint(svc, name[:len(port)+1+len(proto)])
		}
	default:
		// Zone-scoped names are of the cluster's own zones only, as in
		// stock.
		if !q.r.cfg.Zonal || q.z.clusterset {
			q.noSuchName()
			return
		}
		q.zonal(rest)
	}
}

// noteMissing records why a name below service key does not exist: no
// such service, or one whose type or emptiness has no names below it
// (then rule, for an ExternalName).
func (q *query) noteMissing(svc *index.Service, key []byte, rule Rule) {
	switch {
	case q.trace == nil:
	case svc == nil:
		q.noteServiceKey(RuleNoService, key)
	case q.ignored(svc):
		q.noteService(RuleIgnoredEmpty, svc)
	default:
		q.noteService(rule, svc)
	}
}

// kindOrNamespace answers <kind>.<zone> (rest empty) and <ns>.<kind>.<zone>
// (rest the namespace): empty non-terminals, the latter when the client
// may see an existing namespace of that name.
func (q *query) kindOrNamespace(rest []byte) {
	switch {
	case len(rest) == 0:
		q.note(RuleEmptyNonTerminal, 0, "", "")
		q.nodata()
	case !q.namespaceExists(rest):
		q.noteNamespace(RuleNoNamespace, rest)
		q.nxdomain()
	default:
		q.noteNamespace(RuleNamespace, rest)
	}
}

// namespaceExists tells whether namespace ns exists for the client: it
// exists and the client may see it. A hidden namespace answers exactly as
// one that does not exist, so that its empty non-terminals reveal nothing.
func (q *query) namespaceExists(ns []byte) bool {
	return q.snap.NamespaceExists(ns) && index.Visible(q.snap, q.client, ns)
}

// service returns the service whose key, "name.namespace", is key: a
// Service, or in a multicluster zone a ServiceImport; none when the client
// may not see its namespace.
func (q *query) service(key []byte) *index.Service {
	var svc *index.Service
	if q.z.clusterset {
		svc = q.snap.ClustersetService(key)
	} else {
		svc = q.snap.Service(key)
	}
	if svc == nil || !q.snap.VisibleService(q.client, svc) {
		return nil
	}
	return svc
}

// answerService answers <svc>.<ns>.svc.<zone>.
func (q *query) answerService(svc *index.Service) {
	switch svc.Type {
	case object.ExternalName:
		q.noteService(RuleExternalName, svc)
		q.externalName(svc)
		return
	case object.ClusterIP:
		if q.ignored(svc) {
			q.noteService(RuleIgnoredEmpty, svc)
			q.nxdomain()
			return
		}
		switch q.qtype {
		case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
			q.noteService(RuleClusterIP, svc)
			q.addrs(q.owner, svc.ClusterIPs())
		case dns.TypeSRV:
			q.noteService(RuleClusterIPSRV, svc)
			q.serviceSRV(svc, anyZone)
		default:
			q.noteService(RuleClusterIP, svc)
		}
	case object.Headless:
		if svc.EndpointCount() == 0 {
			q.noteService(RuleHeadlessEmpty, svc)
			q.nxdomain()
			return
		}
		switch q.qtype {
		case dns.TypeSRV:
			q.noteService(RuleHeadlessSRV, svc)
			q.serviceSRV(svc, anyZone)
		case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
			q.noteService(RuleHeadless, svc)
			q.endpointAddrs(svc, anyZone)
		default:
			q.noteService(RuleHeadless, svc)
		}
	}
}

// ignored tells whether `ignore empty_service` hides svc: a ClusterIP
// service without ready endpoints does not exist then, and neither do its
// ports and protocols (as in stock, which skips the service for every
// name under it).
func (q *query) ignored(svc *index.Service) bool {
	return q.r.cfg.IgnoreEmptyService && svc.Type == object.ClusterIP && svc.EndpointCount() == 0
}

// addrs answers A or AAAA (or, for ANY, whichever family there is, IPv4
// first: RFC 8482 minimal answers) from addrs.
func (q *query) addrs(owner string, addrs []netip.Addr) {
	want := q.family(addrs)
	n := 0
	for _, a := range addrs {
		if familyOf(a) == want {
			n++
		}
	}
	if n == 0 {
		return
	}
	block := newAddrBlock(want, n)
	q.res.Answer = growRR(q.res.Answer, n)
	hdr := q.hdr(owner, want)
	for _, a := range addrs {
		if familyOf(a) == want {
			q.res.Answer = append(q.res.Answer, block.add(hdr, a))
		}
	}
}

// endpointAddrs answers A or AAAA (for ANY: A, else AAAA) with the
// addresses of svc's endpoints in zone. It tells whether any endpoint is in
// zone, and answers nothing when none is.
func (q *query) endpointAddrs(svc *index.Service, zone zoneFilter) bool {
	want := uint16(dns.TypeA)
	if q.qtype == dns.TypeAAAA {
		want = dns.TypeAAAA
	}
	n, all := 0, 0
	for ep := range svc.Endpoints() {
		if !zone.has(ep) {
			continue
		}
		all++
		if familyOf(ep.Addr) == want {
			n++
		}
	}
	if n == 0 && q.qtype == dns.TypeANY {
		want, n = dns.TypeAAAA, all
	}
	if n == 0 {
		return all > 0
	}
	block := newAddrBlock(want, n)
	q.res.Answer = growRR(q.res.Answer, n)
	hdr := q.hdr(q.owner, want)
	for ep := range svc.Endpoints() {
		if familyOf(ep.Addr) == want && zone.has(ep) {
			q.res.Answer = append(q.res.Answer, block.add(hdr, ep.Addr))
		}
	}
	return true
}

// family is the record type to answer from addrs: the asked one, or for
// ANY the first family present. Zero means no record.
func (q *query) family(addrs []netip.Addr) uint16 {
	switch q.qtype {
	case dns.TypeA, dns.TypeAAAA:
		return q.qtype
	case dns.TypeANY:
		for _, a := range addrs {
			if familyOf(a) == dns.TypeA {
				return dns.TypeA
			}
		}
		if len(addrs) > 0 {
			return dns.TypeAAAA
		}
	}
	return 0
}

// addrBlock holds the n address records of one answer and their address
// bytes in two allocations, instead of two per record.
type addrBlock struct {
	a    []dns.A
	aaaa []dns.AAAA
	ip   []byte
}

func newAddrBlock(rrtype uint16, n int) *addrBlock {
	if rrtype == dns.TypeA {
		return &addrBlock{a: make([]dns.A, 0, n), ip: make([]byte, 0, 4*n)}
	}
	return &addrBlock{aaaa: make([]dns.AAAA, 0, n), ip: make([]byte, 0, 16*n)}
}

func (b *addrBlock) add(hdr dns.RR_Header, a netip.Addr) dns.RR {
	if hdr.Rrtype == dns.TypeA {
		off := len(b.ip)
		ip4 := a.As4()
		b.ip = append(b.ip, ip4[:]...)
		b.a = append(b.a, dns.A{Hdr: hdr, A: b.ip[off:len(b.ip):len(b.ip)]})
		return &b.a[len(b.a)-1]
	}
	off := len(b.ip)
	ip16 := a.As16()
	b.ip = append(b.ip, ip16[:]...)
	b.aaaa = append(b.aaaa, dns.AAAA{Hdr: hdr, AAAA: b.ip[off:len(b.ip):len(b.ip)]})
	return &b.aaaa[len(b.aaaa)-1]
}

// addr appends one address record for owner to dst, if the question asks
// for its family (or always, for glue).
func (q *query) addr(owner string, a netip.Addr, dst *[]dns.RR, glue bool) {
	t := familyOf(a)
	if !glue && q.qtype != t && q.qtype != dns.TypeANY {
		return
	}
	*dst = append(*dst, addrRR(q.hdr(owner, t), a))
}

func addrRR(hdr dns.RR_Header, a netip.Addr) dns.RR {
	if hdr.Rrtype == dns.TypeA {
		b := a.As4()
		return &dns.A{Hdr: hdr, A: b[:]}
	}
	b := a.As16()
	return &dns.AAAA{Hdr: hdr, AAAA: b[:]}
}

// endpoint answers <endpoint>.<svc>.<ns>.svc.<zone>, in one walk of the
// endpoints of that name.
//
// SRV at an endpoint's name is answered as stock does: a record per port
// pointing at the name itself, with the endpoint's addresses in the
// additional section. The specification defines SRV records under
// _<port>._<proto> only, but nothing forbids these, and clients of stock
// may read an endpoint's ports from them.
func (q *query) endpoint(svc *index.Service, label []byte) {
	found, srv := false, q.qtype == dns.TypeSRV
	target := "" // of the SRV records, made once an endpoint is found
	start, n := len(q.res.Answer), 0
	svc.EndpointsNamed(label, func(ep *index.Endpoint) bool {
		found = true
		if !srv {
			q.addr(q.owner, ep.Addr, &q.res.Answer, false)
			return true
		}
		if target == "" {
			target = string(label) + "." + svc.Name + "." + svc.Namespace + ".svc." + q.zoneName
		}
		for _, p := range ep.Ports() {
			n++
			if !hasSRV(q.res.Answer[start:], target, p.Port) {
				q.res.Answer = append(q.res.Answer, q.srvRR(target, p.Port, 0))
			}
		}
		if len(ep.Ports()) > 0 {
			q.res.Extra = append(q.res.Extra, addrRR(q.hdr(target, familyOf(ep.Addr)), ep.Addr))
		}
		return true
	})
	if !found {
		q.noteService(RuleNoEndpoint, svc)
		q.nxdomain()
		return
	}
	if srv {
		setWeights(q.res.Answer[start:], n)
	}
	q.noteService(RuleEndpoint, svc)
}

// serviceSRV answers SRV for a service name: every port of a ClusterIP
// service, every named port of every endpoint in zone of a headless one.
// For a headless service it tells whether any endpoint is in zone, and
// answers nothing when none is.
func (q *query) serviceSRV(svc *index.Service, zone zoneFilter) bool {
	base := svc.Name + "." + svc.Namespace + ".svc." + q.zoneName
	if svc.Type == object.ClusterIP {
		// Stock makes a record per port and cluster IP, weighs them, then
		// drops the second family's duplicates: a dual-stack service's
		// records weigh half as much.
		n := len(svc.Ports) * len(svc.ClusterIPs())
		for _, p := range svc.Ports {
			q.res.Answer = append(q.res.Answer, q.srvRR(base, p.Port, n))
		}
		if n > 0 {
			q.clusterIPGlue(base, svc.ClusterIPs())
		}
		return true
	}
	n, inZone := 0, false
	for ep := range svc.Endpoints() {
		if zone.has(ep) {
			n += len(ep.Ports())
			inZone = true
		}
	}
	if !inZone {
		return false
	}
	start := len(q.res.Answer)
	for ep := range svc.Endpoints() {
		if len(ep.Ports()) == 0 || !zone.has(ep) {
			continue
		}
		target := ep.Name + "." + base
		for _, p := range ep.Ports() {
			if svc.SharedNames && hasSRV(q.res.Answer[start:], target, p.Port) {
				continue
			}
			q.res.Answer = append(q.res.Answer, q.srvRR(target, p.Port, n))
		}
		q.res.Extra = append(q.res.Extra, addrRR(q.hdr(target, familyOf(ep.Addr)), ep.Addr))
	}
	return true
}

// hasSRV tells whether rrs has an SRV record for target and port: the
// addresses of a dual-stack endpoint share one SRV record, weighed as two
// (as stock weighs before it drops the duplicate).
func hasSRV(rrs []dns.RR, target string, port uint16) bool {
	for _, rr := range rrs {
		if s, ok := rr.(*dns.SRV); ok && s.Target == target && s.Port == port {
			return true
		}
	}
	return false
}

// srv answers _<port>._<proto>.<svc>.<ns>.svc.<zone>.
func (q *query) srv(svc *index.Service, port, proto []byte) {
	base := svc.Name + "." + svc.Namespace + ".svc." + q.zoneName
	var answer, extra []dns.RR
	rule, records := RuleHeadlessSRV, 0 // records: how many stock spreads the weight over (see weight)
	if svc.Type == object.ClusterIP {
		for _, p := range svc.Ports {
			if p.Name == string(port) && p.Protocol == string(proto) {
				answer = append(answer, q.srvRR(base, p.Port, 0))
			}
		}
		rule, records = RuleClusterIPSRV, len(answer)*len(svc.ClusterIPs())
	} else {
		for ep := range svc.Endpoints() {
			for _, p := range ep.Ports() {
				if p.Name == string(port) && p.Protocol == string(proto) {
					records++
					target := ep.Name + "." + base
					if !svc.SharedNames || !hasSRV(answer, target, p.Port) {
						answer = append(answer, q.srvRR(target, p.Port, 0))
					}
					extra = append(extra, addrRR(q.hdr(target, familyOf(ep.Addr)), ep.Addr))
					break
				}
			}
		}
	}
	if len(answer) == 0 {
		q.noteService(RuleNoPort, svc)
		q.nxdomain()
		return
	}
	q.noteService(rule, svc)
	if q.qtype != dns.TypeSRV && q.qtype != dns.TypeANY {
		return
	}
	q.res.Answer = append(q.res.Answer, setWeights(answer, records)...)
	if svc.Type == object.ClusterIP {
		// The glue is built only for a reply that carries it.
		q.clusterIPGlue(base, svc.ClusterIPs())
	} else {
		q.res.Extra = append(q.res.Extra, extra...)
	}
}

func (q *query) clusterIPGlue(target string, ips []netip.Addr) {
	for _, a := range ips {
		q.res.Extra = append(q.res.Extra, addrRR(q.hdr(target, familyOf(a)), a))
	}
}

// srvRR makes an SRV record weighing 1/n of 100 (see weight).
func (q *query) srvRR(target string, port uint16, n int) *dns.SRV {
	return &dns.SRV{Hdr: q.hdr(q.owner, dns.TypeSRV), Priority: 0, Weight: weight(n), Port: port, Target: target}
}

// setWeights gives the SRV records rrs the weight of n records.
func setWeights(rrs []dns.RR, n int) []dns.RR {
	w := weight(n)
	for _, rr := range rrs {
		rr.(*dns.SRV).Weight = w
	}
	return rrs
}

// weight spreads 100 over n records as the stock plugin does: n counts
// the records before the duplicates of a dual-stack name are dropped, and
// the weight is at least 1 (0 would mean "almost never" to clients,
// RFC 2782).
func weight(n int) uint16 {
	if n <= 1 {
		return 100
	}
	return uint16(max(100/n, 1))
}

// externalName answers an ExternalName service with a CNAME, followed by
// the target's records when the target is in our zones (else the caller
// chases it through the server).
func (q *query) externalName(svc *index.Service) {
	q.res.Answer = append(q.res.Answer, &dns.CNAME{Hdr: q.hdr(q.owner, dns.TypeCNAME), Target: svc.ExternalName()})
	if q.qtype == dns.TypeCNAME || q.qtype == dns.TypeANY {
		return
	}
	target := svc.ExternalName()
	if len(target) > MaxName {
		return // no name of ours is that long (see Resolve)
	}
	if q.r.zoneOf(target) == nil {
		q.note(RuleExternalNameChase, 0, "", "")
		q.res.Chase = target
		return
	}
	// The target is ours: Resolve answers it next (followChain).
	q.follow = target
}

// pod answers names below pod.<zone>; rest is what precedes "pod".
func (q *query) pod(rest []byte) {
	if q.r.cfg.Pods == PodsDisabled {
		q.note(RulePodsDisabled, 0, "", "")
		q.nxdomain()
		return
	}
	switch countLabels(rest) {
	case 0, 1:
		q.kindOrNamespace(rest) // pod.<zone>, <ns>.pod.<zone>
	case 2:
		ipLabel, ns := cutFirst(rest)
		if !q.namespaceExists(ns) {
			q.noteNamespace(RuleNoNamespace, ns)
			q.nxdomain()
			return
		}
		a, ok := parseDashedIP(ipLabel)
		if ok && q.r.cfg.Pods == PodsVerified && q.snap.PodsPending() {
			q.noteNamespace(RulePodsNotListed, ns)
			q.notListedYet()
			return
		}
		if !ok || (q.r.cfg.Pods == PodsVerified && !q.snap.PodInNamespace(a, ns)) {
			q.noteNamespace(RuleNoPod, ns)
			q.nxdomain()
			return
		}
		if q.r.cfg.Pods == PodsVerified {
			q.notePod(a)
		} else {
			q.noteNamespace(RulePodInsecure, ns)
		}
		q.addr(q.owner, a, &q.res.Answer, false)
		if q.qtype == dns.TypeSRV {
			// As stock: a record of port 0 (a pod name has no port)
			// pointing at the name itself, and its address.
			target := string(rest) + ".pod." + q.zoneName
			q.res.Answer = append(q.res.Answer, q.srvRR(target, 0, 1))
			q.res.Extra = append(q.res.Extra, addrRR(q.hdr(target, familyOf(a)), a))
		}
	default:
		q.noSuchName()
	}
}

// reverse answers a PTR question in a reverse zone.
func (q *query) reverse() {
	var buf [MaxName]byte
	lower, _ := LowerName(buf[:0], q.owner)
	a, ok := parseReverse(lower)
	if !ok || q.r.primary == nil {
		q.noSuchName()
		return
	}
	// The names the client may see: none is a name that does not exist.
	// KEP-1645: an address with a cluster-local PTR record gets no other;
	// else it points into the clusterset.
	if !q.reverseNames(q.snap.ReverseNames(a), q.r.primary) &&
		!(q.r.clusterset != nil && q.reverseNames(q.snap.ClustersetReverseNames(a), q.r.clusterset)) {
		q.note(RuleNoReverse, 0, "", "")
		q.nxdomain()
	}
}

// reverseNames answers the PTR records into zone target of the names the
// client may see, and tells whether there was one.
func (q *query) reverseNames(names []string, target *zone) bool {
	ptr := q.qtype == dns.TypePTR || q.qtype == dns.TypeANY
	exists := false
	for _, n := range names {
		if !q.visibleName(n) {
			continue
		}
		if !exists {
			q.note(RuleReverse, 0, "", "")
		}
		exists = true
		if !ptr {
			return true
		}
		q.res.Answer = append(q.res.Answer, &dns.PTR{Hdr: q.hdr(q.owner, dns.TypePTR), Ptr: n + ".svc." + target.name})
		if q.qtype == dns.TypeANY {
			return true
		}
	}
	return exists
}

// visibleName tells whether the client may see a reverse name, "svc.ns"
// or "endpoint.svc.ns": its namespace is its last label.
func (q *query) visibleName(name string) bool {
	return index.Visible(q.snap, q.client, name[strings.LastIndexByte(name, '.')+1:])
}

func (q *query) hdr(owner string, rrtype uint16) dns.RR_Header {
	return dns.RR_Header{Name: owner, Rrtype: rrtype, Class: dns.ClassINET, Ttl: q.ttl}
}

// useService makes the records that follow carry svc's TTL: its
// clusterdns.io/ttl annotation, else the zone's.
func (q *query) useService(svc *index.Service) {
	q.ttl = svc.RecordTTL(q.ttl)
}

// maxSOATTL caps the TTL of the SOA record itself (its minimum, the
// negative caching TTL, is the ttl option), as stock CoreDNS does.
const maxSOATTL = 300

// dnsVersionTTL is the TTL of dns-version.<zone>, a constant: stock
// CoreDNS's.
const dnsVersionTTL = 28800

// soa is the zone's SOA record, for the apex and the authority section of
// negative answers. The serial is the time of the last change.
func (q *query) soa() dns.RR {
	var serial uint32
	if q.snap != nil {
		serial = q.snap.Serial()
	}
	// Names in the question's case cost an allocation: only mixed-case
	// questions pay it.
	mbox := q.z.hostmaster
	if q.zoneName != q.z.name {
		mbox = "hostmaster." + q.zoneName
	}
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: q.zoneName, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: min(q.r.cfg.TTL, maxSOATTL)},
		Ns:      q.nsTarget(),
		Mbox:    mbox,
		Serial:  serial,
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  q.r.cfg.TTL,
	}
}

func familyOf(a netip.Addr) uint16 {
	if a.Is4() || a.Is4In6() {
		return dns.TypeA
	}
	return dns.TypeAAAA
}

func growRR(s []dns.RR, n int) []dns.RR {
	if cap(s)-len(s) >= n {
		return s
	}
	out := make([]dns.RR, len(s), len(s)+n)
	copy(out, s)
	return out
}
