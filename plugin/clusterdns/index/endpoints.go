package index

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// A service's endpoints are merged from its EndpointSlices: slices in name
// order, endpoints in slice order, each address once (the first slice that
// holds it wins). Re-merging every slice on each slice event made a rollout
// of a big headless service cost O(N²): 50 slices of 1,000 endpoints took
// over 150 ms of writer lock per event. So the writer keeps, per service,
// each slice's contribution (mergedSlice) already named, and a slice event
// redoes only that slice: its names, its reverse records and the dedupe of
// its addresses. A publish then makes, for each service that changed
// (Index.flushMerged), a new immutable entry whose endpoints are the
// slices' won endpoints themselves, shared with the entry it replaces but
// for the changed slices' (endpointSet), so that it too costs what
// changed.

// sliceSet is the EndpointSlices of one service, by name. Nearly every
// service has one slice or none: a map each (about 300 bytes with one
// slice, all scanned by the collector) cost more than the slice's own
// part of the merge.
type sliceSet []namedSlice

type namedSlice struct {
	name string
	es   *object.EndpointSlice
}

func (set sliceSet) find(name string) (int, bool) {
	return slices.BinarySearchFunc(set, name, func(s namedSlice, n string) int { return strings.Compare(s.name, n) })
}

// get returns the slice named name, or nil.
func (set sliceSet) get(name string) *object.EndpointSlice {
	if i, ok := set.find(name); ok {
		return set[i].es
	}
	return nil
}

// with returns set with es as the slice named name; set is reused.
func (set sliceSet) with(name string, es *object.EndpointSlice) sliceSet {
	i, ok := set.find(name)
	if ok {
		set[i].es = es
		return set
	}
	return slices.Insert(set, i, namedSlice{name, es})
}

// without returns set without the slice named name; set is reused.
func (set sliceSet) without(name string) sliceSet {
	if i, ok := set.find(name); ok {
		return slices.Delete(set, i, i+1)
	}
	return set
}

// mergedService is the writer's merge state of one service's endpoints.
type mergedService struct {
	slices []*mergedSlice // by name
	// holders counts, per address, the slices that offer it. An address
	// offered by two slices (a pod moving between them) is the only case
	// where one slice's change alters another's contribution. It is kept
	// only while such an address exists (shared > 0): otherwise every
	// slice wins all it offers, and a slice event checks its new addresses
	// against the reverse index it updates anyway (Index.setExclusive),
	// which spares two lookups per changed endpoint in a map as big as
	// the service, and the map itself.
	holders map[netip.Addr]int32
	shared  int // addresses holders counts more than once
	// clusterset names endpoints "<hostname>.<clusterid>" (multicluster).
	clusterset bool
}

// mergedSlice is one slice's part of the merged endpoints.
type mergedSlice struct {
	name string
	// offered are the slice's published endpoints (ready ones, or all with
	// publishNotReadyAddresses), named.
	offered []Endpoint
	// won are the offered endpoints whose address neither an earlier slice
	// nor an earlier endpoint of this one offers: the slice's segment of
	// Service.Endpoints. It aliases offered when they are the
	// same, as they are but for an address in two slices.
	won []Endpoint
}

// offeredEndpoints lists what slice es offers to svc's endpoints, with
// their zones numbered in zones (nil: zones are not kept). An
// address the slice lists twice is left in: holders counts it twice, and
// recomputeWon keeps its first endpoint, as it does across slices. That
// spares a set per event for what the EndpointSlice controller never does.
// prev is what the slice offered before: an endpoint named after its
// address at the same place keeps its name, so a rollout step allocates
// names only for the endpoints it changed. Endpoints' zones are numbered
// in zones (nil: zones are not kept). In the clusterset, an endpoint's
// name is "<hostname>.<clusterid>": the two labels the multicluster zones
// name it by.
func offeredEndpoints(svc *object.Service, es *object.EndpointSlice, opts Options, zones *zoneTable, clusterset bool, prev []Endpoint) []Endpoint {
	n := 0
	for _, ep := range es.Endpoints {
		if ep.Ready || svc.PublishNotReadyAddresses {
			n += len(ep.Addresses)
		}
	}
	if n == 0 {
		return nil
	}
	// Sized exactly: the array is published as it is (setEndpoints).
	out := make([]Endpoint, 0, n)
	var buf [64]byte
	cluster := ""
	if clusterset {
		cluster = "." + strings.ToLower(es.SourceCluster)
	}
	var ports *[]object.Port
	if len(es.Ports) > 0 {
		ports = &es.Ports
	}
	for _, ep := range es.Endpoints {
		if !ep.Ready && !svc.PublishNotReadyAddresses {
			continue
		}
		for _, a := range ep.Addresses {
			e := Endpoint{Addr: a, ports: ports, Zone: zones.id(ep.Zone.String())}
			if name, ok := assignedName(ep, opts.EndpointPodNames); ok {
				if cluster != "" {
					name += cluster
				}
				e.Name, e.hash = name, fnv32(name)
			} else if dashed, i := append(appendDashedIP(buf[:0], a), cluster...), len(out); i < len(prev) && prev[i].Addr == a && prev[i].Name == string(dashed) {
				e.Name, e.hash = prev[i].Name, prev[i].hash
			} else {
				e.Name = string(dashed)
				e.hash = fnv32(e.Name)
			}
			out = append(out, e)
		}
	}
	return out
}

// newMergedService merges every slice of a service from scratch.
func newMergedService(svc *object.Service, set sliceSet, opts Options, zones *zoneTable, clusterset bool) *mergedService {
	m := &mergedService{clusterset: clusterset}
	for _, s := range set { // by name, as m.slices are
		m.slices = append(m.slices, &mergedSlice{name: s.name, offered: offeredEndpoints(svc, s.es, opts, zones, clusterset, nil)})
	}
	m.countHolders()
	m.recomputeWon()
	m.dropHoldersIfExclusive()
	return m
}

// countHolders counts the holders of every offered address from scratch,
// for when an address may be offered twice.
func (m *mergedService) countHolders() {
	n := 0
	for _, ms := range m.slices {
		n += len(ms.offered)
	}
	m.holders, m.shared = make(map[netip.Addr]int32, n), 0
	for _, ms := range m.slices {
		m.hold(ms.offered, 1)
	}
}

// dropHoldersIfExclusive drops the holders once no address is offered
// twice: the merge is then each slice's offer, whole.
func (m *mergedService) dropHoldersIfExclusive() {
	if m.shared == 0 {
		m.holders = nil
	}
}

// hold adds delta to the holders of eps's addresses and tells whether any
// of them is offered more than once (by another slice, or twice by this).
func (m *mergedService) hold(eps []Endpoint, delta int32) (shared bool) {
	for i := range eps {
		was := m.holders[eps[i].Addr]
		n := was + delta
		if n <= 0 {
			delete(m.holders, eps[i].Addr)
		} else {
			m.holders[eps[i].Addr] = n
		}
		switch {
		case was <= 1 && n > 1:
			m.shared++
		case was > 1 && n <= 1:
			m.shared--
		}
		shared = shared || delta < 0 && n >= 1 || delta > 0 && n >= 2
	}
	return shared
}

// recomputeWon redoes every slice's won endpoints, for when an address
// offered by more than one slice may have changed hands.
func (m *mergedService) recomputeWon() {
	seen := make(map[netip.Addr]struct{})
	for _, ms := range m.slices {
		ms.won = ms.offered
		aliased := true
		for i, e := range ms.offered {
			dup := false
			if m.holders[e.Addr] > 1 {
				if _, dup = seen[e.Addr]; !dup {
					seen[e.Addr] = struct{}{}
				}
			}
			switch {
			case dup && aliased:
				ms.won, aliased = slices.Clone(ms.offered[:i]), false
			case !dup && !aliased:
				ms.won = append(ms.won, e)
			}
		}
	}
}

// find returns the position of slice name in m.slices, or where it would
// go, and whether it is there.
func (m *mergedService) find(name string) (int, bool) {
	return slices.BinarySearchFunc(m.slices, name, func(ms *mergedSlice, n string) int { return strings.Compare(ms.name, n) })
}

// replace makes slice name's offer, and its won endpoints, offered (nil
// with gone: the slice is no more); i and found are m.find(name).
func (m *mergedService) replace(i int, found bool, name string, offered []Endpoint, gone bool) {
	switch {
	case gone && found:
		m.slices = slices.Delete(m.slices, i, i+1)
	case found:
		m.slices[i].offered, m.slices[i].won = offered, offered
	case !gone:
		m.slices = slices.Insert(m.slices, i, &mergedSlice{name: name, offered: offered, won: offered})
	}
}

// set makes slice name's offer offered (gone: the slice is no more),
// where holders are counted; i and found are m.find(name). It returns the
// won endpoints that left the merge and those that joined it, and whether
// the merged endpoints changed.
func (m *mergedService) set(i int, found bool, name string, offered []Endpoint, gone bool) (removed, added []Endpoint, changed bool) {
	var old []Endpoint
	if found {
		old = m.slices[i].offered
	}
	shared := m.hold(old, -1)
	shared = m.hold(offered, 1) || shared
	if !shared {
		// No address is offered twice: this slice won all of its
		// addresses before and wins all of them now.
		m.replace(i, found, name, offered, gone)
		return old, offered, !sameEndpoints(old, offered)
	}
	before := make(map[*mergedSlice][]Endpoint, len(m.slices))
	for _, ms := range m.slices {
		before[ms] = ms.won
	}
	switch {
	case gone && found:
		removed = m.slices[i].won
		changed = len(removed) > 0
		m.slices = slices.Delete(m.slices, i, i+1)
	case found:
		m.slices[i].offered = offered
	case !gone:
		m.slices = slices.Insert(m.slices, i, &mergedSlice{name: name, offered: offered})
	}
	m.recomputeWon()
	for _, ms := range m.slices {
		if prev := before[ms]; !sameEndpoints(prev, ms.won) {
			removed = append(removed, prev...)
			added = append(added, ms.won...)
			changed = true
		}
	}
	return removed, added, changed
}

// keptEnds counts the endpoints that removed and added share at their
// start and at their end: a slice event leaves those in place, and only
// the ones between them move in the reverse index.
func keptEnds(removed, added []Endpoint) (head, tail int) {
	n := min(len(removed), len(added))
	for head < n && sameEndpoint(removed[head], added[head]) {
		head++
	}
	for tail < n-head && sameEndpoint(removed[len(removed)-1-tail], added[len(added)-1-tail]) {
		tail++
	}
	return head, tail
}

func sameEndpoints(a, b []Endpoint) bool { return slices.EqualFunc(a, b, sameEndpoint) }

func sameEndpoint(x, y Endpoint) bool {
	return x.Addr == y.Addr && x.Name == y.Name && x.Zone == y.Zone && slices.Equal(x.Ports(), y.Ports())
}

// setEndpoints makes s's endpoints the merge m. prev are the endpoints of
// the entry s replaces (nil: none to build on): the slices' won endpoints
// are published as they are, and the name index is prev's, updated for
// the slices that changed (newEndpointSet).
func (s *Service) setEndpoints(m *mergedService, prev *endpointSet) {
	n := 0
	for _, ms := range m.slices {
		n += len(ms.won)
	}
	s.eps, s.SharedNames = nil, false
	if n == 0 {
		return
	}
	chunks := make([][]Endpoint, len(m.slices))
	for i, ms := range m.slices {
		chunks[i] = ms.won
	}
	s.eps = newEndpointSet(chunks, n, prev)
	s.SharedNames = s.eps.dups > 0
}
