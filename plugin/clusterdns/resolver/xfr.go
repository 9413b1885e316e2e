package resolver

import (
	"slices"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// Transferable tells whether zone (lower case, fully qualified) can be
// transferred: it is one of the forward zones. A reverse zone is not: its
// records are PTRs keyed by address, which stock's walk does not produce
// either (it lists services under the reverse zone's name).
func (r *Resolver) Transferable(zone string) bool {
	return r.forwardZone(zone) != nil
}

func (r *Resolver) forwardZone(name string) *zone {
	for i := range r.zones {
		if r.zones[i].name == name && !r.zones[i].reverse {
			return &r.zones[i]
		}
	}
	return nil
}

// SOA returns the SOA record of zone in snap, as the apex answers it, or
// nil if zone is not Transferable.
func (r *Resolver) SOA(snap *index.View, zone string) dns.RR {
	z := r.forwardZone(zone)
	if z == nil {
		return nil
	}
	q := r.newQuery(snap, index.Client{}, z, "", dns.TypeSOA)
	return q.soa()
}

// Transfer walks zone in snap as a zone transfer sends it, calling emit
// with one chunk of records at a time: the SOA; the apex NS and its glue
// (which stock leaves out, coredns#2997); each service's records, services
// sorted by name and then namespace as stock sorts them; the SOA again. It
// returns false, emitting nothing, if zone is not Transferable.
//
// Every record is the answer the resolver gives to the question for its
// owner and type, so a secondary serves what this server answers. The
// names and types are those of stock's walk: A/AAAA and SRV (each port,
// and each named port) of ClusterIP services; A/AAAA of headless services,
// of their endpoints by name, and SRV of their named ports; CNAME of
// ExternalName services. Within a service, the records of one name and
// type come together (stock interleaves them per address).
//
// Under the visibility option a transfer is not asked by a client pod, and
// its secondaries answer whoever asks them: it holds only the namespaces
// exported to every client (the zero index.Client).
func (r *Resolver) Transfer(snap *index.View, zone string, emit func([]dns.RR)) bool {
	z := r.forwardZone(zone)
	if z == nil {
		return false
	}
	soa := r.SOA(snap, zone)
	emit([]dns.RR{soa})
	apex := r.answer(snap, z, z.name, dns.TypeNS)
	emit(append(apex.Answer, apex.Extra...))
	services := snap.Services
	if z.clusterset {
		// A multicluster zone transfers its ServiceImports, as stock's
		// does, with the same records as a Service's.
		services = snap.ClustersetServices
	}
	for _, svc := range services() {
		if rrs := r.serviceRecords(snap, z, svc); len(rrs) > 0 {
			emit(rrs)
		}
	}
	emit([]dns.RR{soa})
	return true
}

// serviceRecords is one service's chunk of a zone transfer.
func (r *Resolver) serviceRecords(snap *index.View, z *zone, svc *index.Service) []dns.RR {
	base := svc.Name + "." + svc.Namespace + ".svc." + z.name
	var rrs []dns.RR
	add := func(owner string, qtype uint16) {
		rrs = append(rrs, r.answer(snap, z, owner, qtype).Answer...)
	}
	switch svc.Type {
	case object.ExternalName:
		add(base, dns.TypeCNAME)
	case object.ClusterIP:
		add(base, dns.TypeA)
		add(base, dns.TypeAAAA)
		add(base, dns.TypeSRV)
		for _, p := range svc.Ports {
			if p.Name != "" {
				add("_"+p.Name+"._"+p.Protocol+"."+base, dns.TypeSRV)
			}
		}
	case object.Headless:
		add(base, dns.TypeA)
		add(base, dns.TypeAAAA)
		// Each endpoint name and each named port once, in endpoint order:
		// a dual-stack endpoint has two addresses under one name.
		var names []string
		var ports []object.Port
		for ep := range svc.Endpoints() {
			if !slices.Contains(names, ep.Name) {
				names = append(names, ep.Name)
				add(ep.Name+"."+base, dns.TypeA)
				add(ep.Name+"."+base, dns.TypeAAAA)
			}
			for _, p := range ep.Ports() {
				if p.Name != "" && !slices.ContainsFunc(ports, samePortName(p)) {
					ports = append(ports, p)
				}
			}
		}
		for _, p := range ports {
			add("_"+p.Name+"._"+p.Protocol+"."+base, dns.TypeSRV)
		}
	}
	return rrs
}

// answer is the resolver's answer to (owner, qtype) in zone z; owner is
// lower case and inside z. It follows no ExternalName: a zone transfer
// carries the CNAME, not its target's records.
func (r *Resolver) answer(snap *index.View, z *zone, owner string, qtype uint16) Result {
	q := r.newQuery(snap, index.Client{}, z, owner, qtype)
	q.resolve([]byte(owner[:len(owner)-len(z.name)]))
	if q.res.Rcode != dns.RcodeSuccess {
		return Result{}
	}
	return q.res
}

// samePortName matches the ports with p's name and protocol: they share
// one SRV owner.
func samePortName(p object.Port) func(object.Port) bool {
	return func(o object.Port) bool { return o.Name == p.Name && o.Protocol == p.Protocol }
}
