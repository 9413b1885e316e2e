package resolver

import (
	"bytes"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// Zone-scoped names (the zonal option, as in the kubernetes plugin of
// CoreDNS 1.14.7 and later):
//
//	<topology zone>.pin._zone.<svc>.<ns>.svc.<zone>
//	<topology zone>.prefer._zone.<svc>.<ns>.svc.<zone>
//
// exist for headless services only, and answer A, AAAA and SRV with the
// endpoints whose EndpointSlice zone is the topology zone: pin with none
// of them when there are none (NODATA), prefer with every endpoint then.
// The topology zone is every label left of the directive (zone values may
// hold dots). The anchor label "_zone" sits where a name has always been
// too long to mean anything, so these names shadow no other.
const (
	zoneAnchor  = "_zone"
	zonalPin    = "pin"
	zonalPrefer = "prefer"
)

// zoneFilter selects the endpoints a zone-scoped name answers with.
type zoneFilter struct {
	on bool         // off: every endpoint
	id index.ZoneID // on: the endpoints of this zone, never 0
}

// anyZone is the filter of every other name: all endpoints.
var anyZone = zoneFilter{}

func (f zoneFilter) has(ep *index.Endpoint) bool { return !f.on || ep.Zone == f.id }

// zonal answers rest, the labels before "svc" of a name of five labels or
// more, as a zone-scoped name; any other name that long does not exist.
func (q *query) zonal(rest []byte) {
	topo, pin, key, ok := cutZonal(rest)
	if !ok {
		q.noSuchName()
		return
	}
	svc := q.service(key)
	if svc == nil || svc.Type != object.Headless {
		// A cluster IP has no zone: a pinned answer with it would drop
		// the pin. ExternalName services have no endpoints.
		if svc == nil {
			q.noteServiceKey(RuleZonalNotHeadless, key)
		} else {
			q.noteService(RuleZonalNotHeadless, svc)
		}
		q.nxdomain()
		return
	}
	q.useService(svc)
	// The answer with the endpoints in the zone tells whether there are
	// any: the endpoints are walked once more only when there are none and
	// prefer answers with all of them.
	if id, known := q.snap.ZoneID(topo); known && q.zoneAnswer(svc, zoneFilter{on: true, id: id}) {
		q.noteService(RuleZonal, svc)
		return
	}
	if pin {
		q.noteService(RuleZonalEmpty, svc)
		return // NODATA: the name exists, no endpoint is in the zone
	}
	q.noteService(RuleZonal, svc)
	q.zoneAnswer(svc, anyZone)
}

// zoneAnswer answers with the endpoints of svc, a headless service, that
// filter selects, and tells whether it selects any.
func (q *query) zoneAnswer(svc *index.Service, filter zoneFilter) bool {
	switch q.qtype {
	case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
		return q.endpointAddrs(svc, filter)
	case dns.TypeSRV:
		return q.serviceSRV(svc, filter)
	}
	return anyInZone(svc, filter)
}

// cutZonal cuts "<topology zone>.<directive>._zone.<svc>.<ns>" into the
// topology zone, whether the directive is pin (else prefer) and the
// service key "<svc>.<ns>". ok is false for any other shape.
func cutZonal(rest []byte) (topo []byte, pin bool, key []byte, ok bool) {
	i := bytes.LastIndexByte(rest, '.')
	if i < 0 {
		return nil, false, nil, false
	}
	j := bytes.LastIndexByte(rest[:i], '.')
	if j < 0 {
		return nil, false, nil, false
	}
	key = rest[j+1:]
	head, anchor := cutLast(rest[:j])
	topo, directive := cutLast(head)
	if string(anchor) != zoneAnchor || len(topo) == 0 || countLabels(topo) >= 1<<10 || endsEscaping(topo) {
		// An escaped dot before the directive makes it part of a label
		// of the topology zone: not a directive.
		return nil, false, nil, false
	}
	switch string(directive) {
	case zonalPin:
		pin = true
	case zonalPrefer:
	default:
		return nil, false, nil, false
	}
	return topo, pin, key, true
}

// endsEscaping tells whether label ends with an odd number of
// backslashes, which escape the dot after it.
func endsEscaping(label []byte) bool {
	n := 0
	for i := len(label) - 1; i >= 0 && label[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// anyInZone tells whether filter selects an endpoint of svc.
func anyInZone(svc *index.Service, filter zoneFilter) bool {
	for ep := range svc.Endpoints() {
		if filter.has(ep) {
			return true
		}
	}
	return false
}
