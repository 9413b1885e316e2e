// Package index is the DNS view of a cluster: it turns the slim objects a
// source delivers into names and records, incrementally per change, and
// publishes them as immutable snapshots that the query path reads without
// locks.
//
// Writers (sources) call Apply, ApplyDeferred or Replace; they are
// serialized by a mutex that readers never take. Each published batch copies
// only the shards of the maps it touches (see shards.go) and then swaps an
// atomic pointer. ApplyDeferred leaves publishing to RunPublisher, which
// coalesces a flood of single changes (an informer's relist) into few
// publishes instead of one shard copy per change.
//
// An EndpointSlice event costs what its slice holds, not what its service
// does (see endpoints.go): the writer keeps each slice's part of the merged
// endpoints and redoes only the changed one, and a publish shares all but
// the changed slices' part of a service's published endpoints with the
// entry it replaces (see endpointset.go).
package index

import (
	"context"
	"iter"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// Change is one object added, updated or deleted by a source.
type Change struct {
	Kind      object.Kind
	Namespace string
	Name      string
	// Object is the new state: *object.Service, *object.EndpointSlice,
	// *object.Pod or *object.Namespace. Nil means the object was deleted.
	Object any
}

// Options say what the index keeps. They come from the Corefile.
type Options struct {
	// EndpointPodNames names endpoints without a hostname after their pod.
	EndpointPodNames bool
	// NoEndpoints drops endpoints: headless services and endpoint names
	// do not resolve.
	NoEndpoints bool
	// Pods keeps a pod IP index for `pods verified`.
	Pods bool
	// Zonal keeps each endpoint's topology zone, for zone-scoped names.
	// Without it zones are left out, so a change of an endpoint's zone
	// alone changes no view (and no SOA serial).
	Zonal bool
	// Multicluster indexes ServiceImports and the EndpointSlices labelled
	// with a multi-cluster service name (the multicluster option).
	Multicluster bool
	// Filter selects the services and namespaces that are visible.
	Filter Filter
	// Visibility, when set, scopes what each client sees to its
	// namespace (see visibility.go). It needs Pods.
	Visibility *Visibility
	// Programmed, when set, is called after each publish for every Service
	// or EndpointSlice change that carried a change time, with the kind of
	// its service and the time from that change until it was served.
	Programmed func(kind ServiceKind, latency time.Duration)
	// BadTTL, when set, is called once per Service change whose TTL
	// annotation is ignored because its value is invalid.
	BadTTL func(namespace, name, value string)
	// Skipped, when set, is called for each change of the multicluster
	// zones the index leaves out as bad input, with why.
	Skipped func(kind object.Kind, namespace, name string, reason SkipReason, why string)
}

// Index holds the cluster's objects and publishes snapshots of its DNS view.
type Index struct {
	opts Options
	view atomic.Pointer[View]

	mu sync.Mutex // serializes writers; the query path never takes it
	// live is set once the source has synced: from then on every batch is
	// published. Before, changes only build up the next snapshot.
	live bool
	// liveView mirrors live for readers without the lock (Ready): false
	// while nothing or only a preloaded (saved) view is served.
	liveView atomic.Bool
	// podsPending is set from SyncedBeforePods to Synced: the pods are
	// still being listed. stalePods, if set, are a preloaded view's,
	// served meanwhile in place of the partial list.
	podsPending bool
	stalePods   *podTable
	// podsListing mirrors podsPending for readers without the lock.
	podsListing atomic.Bool
	// generation counts the changes applied, so that a saver can tell
	// whether anything changed since it last saved.
	generation uint64
	// cluster holds the Services and their EndpointSlices; clusterset the
	// ServiceImports and the multi-cluster EndpointSlices (multicluster).
	cluster, clusterset *serviceTable
	// pods are the pods (pods.go), and build the next view's table of
	// their addresses.
	pods *podWriter
	// The writer's copy of the namespaces, by name.
	namespaces map[string]*object.Namespace
	nsServices map[string]int // services and imports per namespace: a namespace with services exists
	// zones numbers the endpoints' zones (nil unless Options.Zonal). It
	// is not reset with the objects: numbers in built entries stay valid.
	zones *zoneTable
	// deleted are the last services deleted, for explain (provenance.go).
	deleted deletions

	// The next snapshot's maps, built copy-on-write from the published ones.
	nsExists *shardWriter[string, struct{}]
	// vis is the next view's visibility (nil when the option is off),
	// replaced, never changed, once published; visWriter is what it is
	// computed from.
	vis       *visibility
	visWriter visibilityWriter
	// badVisibleTo are the namespaces whose visible-to annotation was
	// reported malformed, and its value then.
	badVisibleTo map[string]string

	// compareContents makes publish compare the next view's maps with the
	// served one's entry by entry, not only by identity (Replace).
	compareContents bool
	// firstView is closed when the first view is published (see Replaced).
	firstView chan struct{}

	// Deferred publishing (ApplyDeferred, RunPublisher).
	wake        chan struct{}      // 1-buffered: a deferred change is waiting
	unpublished int                // changes applied since the last publish
	pending     []programmedChange // their change times, observed at publish
}

// New returns an empty index. View returns nil until the source calls
// Synced (or Replace, or Preload with a saved view): until then cluster
// names get SERVFAIL rather than an NXDOMAIN for a name that is merely not
// listed yet.
func New(opts Options) *Index {
	ix := &Index{opts: opts, wake: make(chan struct{}, 1), firstView: make(chan struct{}), badVisibleTo: make(map[string]string)}
	if opts.Zonal {
		ix.zones = &zoneTable{}
	}
	ix.reset()
	return ix
}

func (ix *Index) reset() {
	ix.pending, ix.unpublished = nil, 0
	ix.cluster, ix.clusterset = newServiceTable(false), newServiceTable(true)
	ix.pods = newPodWriter()
	ix.namespaces = make(map[string]*object.Namespace)
	ix.nsServices = make(map[string]int)
	ix.nsExists = newShardWriter[string, struct{}](nameShard[string])
	ix.vis = nil
	ix.visWriter = newVisibilityWriter(ix.opts.Visibility)
}

// View returns the current DNS view, or nil before the first sync (or
// Preload).
func (ix *Index) View() *View { return ix.view.Load() }

// Replaced returns a channel that is closed once a view newer than v is
// published (v nil: once the first one is). Watchers of changes (NOTIFY)
// wait on it instead of polling, and the query path pays nothing for it.
func (ix *Index) Replaced(v *View) <-chan struct{} {
	if v == nil {
		return ix.firstView
	}
	return v.replaced
}

// Apply applies a batch of changes and publishes the result.
func (ix *Index) Apply(changes ...Change) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.apply(changes)
}

// ApplyDeferred applies a batch of changes like Apply but leaves publishing
// them to RunPublisher, which must be running once the index is live.
func (ix *Index) ApplyDeferred(changes ...Change) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	programmed, applied := ix.update(changes)
	ix.deferPublish(len(changes), applied, programmed)
}

// deferPublish leaves to RunPublisher the publishing of delivered
// changes, applied of which changed the index. Only those move the
// generation (nothing to save for the rest); all of them count for the
// publisher's bursts: a relist delivers every pod again, nearly all as
// they were, and its garbage (each pod decoded whole) is what the release
// after a burst (the source's onQuiet) collects.
func (ix *Index) deferPublish(delivered, applied int, programmed []programmedChange) {
	ix.generation += uint64(applied)
	if ix.live {
		ix.unpublished += delivered
		ix.pending = append(ix.pending, programmed...)
	}
	select {
	case ix.wake <- struct{}{}:
	default:
	}
}

// Coalescing bounds for RunPublisher: after publishing n changes it waits
// n*coalescePerChange, clamped to [coalesceMin, coalesceMax], before the
// next publish. A change after a quiet spell is published at once; a
// relist's flood (tens of thousands of events a second) converges within
// a few rounds to one publish per coalesceMax, each copying every shard
// once, instead of one shard copy per event.
const (
	coalescePerChange = 100 * time.Microsecond
	coalesceMin       = time.Millisecond
	coalesceMax       = 50 * time.Millisecond
	// quietAfter without a change ends a burst (see RunPublisher's onQuiet).
	quietAfter = time.Second
)

// RunPublisher publishes what ApplyDeferred applied until ctx ends. When a
// burst of changes ends (quietAfter without one), it calls onQuiet, if not
// nil, with the number of changes the burst held.
func (ix *Index) RunPublisher(ctx context.Context, onQuiet func(changes int)) {
	burst := 0
	quiet := time.NewTimer(quietAfter)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-quiet.C:
			if burst > 0 && onQuiet != nil {
				onQuiet(burst)
			}
			burst = 0
			continue
		case <-ix.wake:
		}
		n := ix.publishPending()
		burst += n
		quiet.Reset(quietAfter)
		wait := min(max(time.Duration(n)*coalescePerChange, coalesceMin), coalesceMax)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// publishPending publishes the changes ApplyDeferred applied since the last
// publish and returns how many there were.
func (ix *Index) publishPending() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n := ix.unpublished
	if !ix.live || n == 0 {
		return 0
	}
	ix.publishAndObserve(nil)
	return n
}

// Synced publishes the state built so far and makes the index live: a
// source calls it once its initial list is applied. It replaces a
// preloaded view whole: what the source no longer lists is gone.
func (ix *Index) Synced() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.live = true
	ix.liveView.Store(true)
	ix.podsPending, ix.stalePods = false, nil
	ix.podsListing.Store(false)
	ix.publish()
}

// SyncedBeforePods is Synced for a source that has listed everything but
// its pods, which at scale take most of the sync (150k pods: tens of
// seconds, against a second for 10k Services). Services, endpoints and
// namespaces are served from here on; names that need a pod get SERVFAIL
// (View.PodsPending) until the source calls Synced, unless a preloaded
// view was served: its pods, last known good, answer until then.
func (ix *Index) SyncedBeforePods() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if prev := ix.view.Load(); prev != nil && !ix.live {
		ix.stalePods = prev.pods
	}
	ix.live = true
	ix.liveView.Store(true)
	ix.podsPending = true
	ix.podsListing.Store(true)
	ix.publish()
}

// PodsPending tells whether the source has synced all but its pods
// (SyncedBeforePods, not yet Synced).
func (ix *Index) PodsPending() bool { return ix.podsListing.Load() }

// Live tells whether the index serves what its source synced, rather than
// nothing or a preloaded view.
func (ix *Index) Live() bool { return ix.liveView.Load() }

// Preload serves the objects in changes (all of them additions: a view
// saved earlier) until the source has synced, and leaves the index not
// live: the source's changes build the next view from empty as before,
// unseen, and Synced swaps it in. So an object deleted while the saved
// view was on disk disappears at the sync, as it would from a fresh
// start. After Synced, Preload does nothing.
func (ix *Index) Preload(changes []Change) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.live {
		return
	}
	ix.reset()
	ix.update(changes)
	ix.publish()
	// What the source applied before the preload is lost with the reset;
	// in practice a source preloads before it starts.
	ix.reset()
}

// Objects returns every object the index holds, as additions, how many
// there are and the generation they are at, for a saver. The objects are
// shared and must not be changed, except the pods: the index keeps none
// as objects (pods.go), and makes them one at a time as the sequence is
// ranged over, from a copy of its pods taken here. All of them at once
// would be about 160 bytes a pod on top of the table (24 MiB at 150k
// pods) while a snapshot is written.
func (ix *Index) Objects() (n int, all iter.Seq[Change], generation uint64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n = len(ix.cluster.services) + len(ix.cluster.sliceOwner) + len(ix.clusterset.services) + len(ix.clusterset.sliceOwner) +
		len(ix.namespaces)
	out := make([]Change, 0, n)
	for _, ns := range ix.namespaces {
		out = append(out, Change{Kind: object.KindNamespace, Name: ns.Name, Object: ns})
	}
	for _, svc := range ix.cluster.services {
		out = append(out, Change{Kind: object.KindService, Namespace: svc.Namespace, Name: svc.Name, Object: svc})
	}
	for _, svc := range ix.clusterset.services {
		out = append(out, Change{Kind: object.KindServiceImport, Namespace: svc.Namespace, Name: svc.Name, Object: importOf(svc)})
	}
	for _, t := range []*serviceTable{ix.cluster, ix.clusterset} {
		for _, set := range t.slices {
			for _, s := range set {
				es := s.es
				if t == ix.clusterset && !ix.clustersetOwn(es.Namespace+"/"+es.Name) {
					continue
				}
				out = append(out, Change{Kind: object.KindEndpointSlice, Namespace: es.Namespace, Name: es.Name, Object: es})
			}
		}
	}
	pods := ix.pods.copy()
	return len(out) + ix.pods.len(), func(yield func(Change) bool) {
		for _, c := range out {
			if !yield(c) {
				return
			}
		}
		pods.all(yield)
	}, ix.generation
}

// Object returns the object of a kind the index holds under namespace and
// name, and its metadata; nil when it holds none (pods: unless it keeps
// them). The object is shared and must not be changed. A ServiceImport,
// held as the Service it is indexed as, comes back as a new ServiceImport
// holding that Service's addresses, ports and metadata: what reuseIndexed
// needs to keep one copy of them through a relist.
func (ix *Index) Object(kind object.Kind, namespace, name string) (any, *object.Meta) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	switch kind {
	case object.KindService:
		if svc := ix.cluster.services[serviceKey(name, namespace)]; svc != nil && svc.Name == name && svc.Namespace == namespace {
			return svc, &svc.Meta
		}
	case object.KindEndpointSlice:
		// A multi-cluster slice is held by the clusterset's table only.
		for _, t := range []*serviceTable{ix.cluster, ix.clusterset} {
			if key, ok := t.sliceOwner[namespace+"/"+name]; ok {
				es := t.slices[key].get(name)
				return es, &es.Meta
			}
		}
	case object.KindServiceImport:
		if svc := ix.clusterset.services[serviceKey(name, namespace)]; svc != nil && svc.Name == name && svc.Namespace == namespace {
			si := importOf(svc)
			return si, &si.Meta
		}
	case object.KindPod:
		if pod := ix.pods.get(namespace, name); pod != nil {
			return pod, &pod.Meta
		}
	case object.KindNamespace:
		if ns := ix.namespaces[name]; ns != nil {
			return ns, &ns.Meta
		}
	}
	return nil, nil
}

// Generation counts the changes applied so far; see Objects.
func (ix *Index) Generation() uint64 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.generation
}

// Replace makes the index hold exactly the objects in changes (all of them
// additions), as after a full reload of a manifests file, and makes it live.
func (ix *Index) Replace(changes []Change) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.reset()
	ix.live = true
	ix.liveView.Store(true)
	ix.podsPending, ix.stalePods = false, nil
	ix.podsListing.Store(false)
	// The maps are rebuilt from empty: only their contents tell whether
	// the view changed (a manifests file rewritten with a comment).
	ix.compareContents = true
	ix.apply(changes)
	ix.compareContents = false
}

// clustersetOwn tells whether the clusterset's slice id ("<namespace>/<name>")
// is its own: a slice of both a Service and a ServiceImport is in both
// tables, and listed and counted once, as the cluster's.
func (ix *Index) clustersetOwn(id string) bool {
	_, local := ix.cluster.sliceOwner[id]
	return !local
}

// Counts returns how many objects of each kind the index holds.
func (ix *Index) Counts() map[object.Kind]int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	slices := len(ix.cluster.sliceOwner)
	for id := range ix.clusterset.sliceOwner {
		if ix.clustersetOwn(id) {
			slices++
		}
	}
	counts := map[object.Kind]int{
		object.KindService:       len(ix.cluster.services),
		object.KindEndpointSlice: slices,
		object.KindPod:           ix.pods.len(),
		object.KindNamespace:     len(ix.namespaces),
	}
	if ix.opts.Multicluster {
		counts[object.KindServiceImport] = len(ix.clusterset.services)
	}
	return counts
}

func (ix *Index) apply(changes []Change) {
	programmed, applied := ix.update(changes)
	ix.generation += uint64(applied)
	if ix.live {
		ix.publishAndObserve(programmed)
	}
}

// publishAndObserve publishes everything applied so far, deferred changes
// included, and reports their programming latency.
func (ix *Index) publishAndObserve(programmed []programmedChange) {
	ix.publish()
	ix.observe(ix.pending)
	ix.observe(programmed)
	if cap(ix.pending) > keptRoom {
		ix.pending = nil
	} else {
		clear(ix.pending)
		ix.pending = ix.pending[:0]
	}
	ix.unpublished = 0
}

// update applies changes to the writer's state and the next snapshot's
// maps without publishing them, and returns the change times to observe
// once they are, and how many of the changes changed something.
func (ix *Index) update(changes []Change) (programmed []programmedChange, applied int) {
	for _, c := range changes {
		switch c.Kind {
		case object.KindService:
			svc, _ := c.Object.(*object.Service)
			if svc != nil && svc.BadTTL() != "" && ix.opts.BadTTL != nil {
				ix.opts.BadTTL(svc.Namespace, svc.Name, svc.BadTTL())
			}
			var came bool
			programmed, came = ix.setService(ix.cluster, c, svc, programmed)
			ix.namespaceChanged(c.Namespace, came)
		case object.KindServiceImport:
			if !ix.opts.Multicluster {
				continue
			}
			si, _ := c.Object.(*object.ServiceImport)
			var svc *object.Service
			if si != nil {
				if si.Type == object.ClusterIP && len(si.IPs) == 0 {
					ix.skip(c, SkipNoIPs, "a ClusterSetIP import without spec.ips has no address to answer with")
				} else {
					svc = serviceOf(si)
				}
			}
			var came bool
			programmed, came = ix.setService(ix.clusterset, c, svc, programmed)
			ix.namespaceChanged(c.Namespace, came)
		case object.KindEndpointSlice:
			// A slice may hold endpoints of a Service and of a
			// ServiceImport both: each table takes it by its own label.
			es, _ := c.Object.(*object.EndpointSlice)
			var service string
			if es != nil {
				service = es.ServiceName
			}
			programmed = ix.setSlice(ix.cluster, c, es, service, programmed)
			if ix.opts.Multicluster {
				programmed = ix.setSlice(ix.clusterset, c, es, ix.multiClusterService(c, es), programmed)
			}
		case object.KindPod:
			if !ix.applyPod(c) {
				// A relist delivers every pod again, nearly all of them
				// as they were: no change to the view, or to save.
				continue
			}
		case object.KindNamespace:
			ns, _ := c.Object.(*object.Namespace)
			old := ix.namespaces[c.Name]
			if ns == nil {
				delete(ix.namespaces, c.Name)
			} else {
				ix.namespaces[c.Name] = ns
			}
			ix.updateNamespace(c.Name)
			ix.namespaceChanged(c.Name, true)
			// namespace_labels: a label change shows or hides the
			// namespace's services.
			if ix.opts.Filter.NamespaceLabels != nil && (old == nil || ns == nil || !sameLabels(old.Labels, ns.Labels)) {
				for _, t := range []*serviceTable{ix.cluster, ix.clusterset} {
					for key, svc := range t.services {
						if svc.Namespace == c.Name {
							t.dirty[key] = struct{}{}
						}
					}
				}
			}
		}
		applied++
	}
	for _, t := range []*serviceTable{ix.cluster, ix.clusterset} {
		for key := range t.dirty {
			ix.rebuild(t, key)
		}
		for key, names := range t.dirtySlices {
			if _, done := t.dirty[key]; !done {
				ix.rebuildSlices(t, key, names)
			}
		}
		t.dirty = emptied(t.dirty)
		t.dirtySlices = emptied(t.dirtySlices)
	}
	return programmed, applied
}

// keptRoom bounds the room the writer's per-batch bookkeeping keeps
// between batches. clear keeps a map's room, as reslicing to [:0] keeps a
// slice's, and the collector scans that room for as long as it is held:
// a batch as big as a manifests file (Replace) or a burst of a relist
// left a table of 10k Services' keys behind, about 30 bytes a Service.
// Bookkeeping that grew past keptRoom is dropped instead; the usual batch
// of a few changes reuses its room.
const keptRoom = 64

// emptied returns m emptied: cleared, or a new map if it held more than
// keptRoom entries.
func emptied[K comparable, V any](m map[K]V) map[K]V {
	if len(m) > keptRoom {
		return make(map[K]V)
	}
	clear(m)
	return m
}

// setService makes svc (nil: none) the service c names in table t.
// It tells whether a namespace came or went with it.
func (ix *Index) setService(t *serviceTable, c Change, svc *object.Service, programmed []programmedChange) ([]programmedChange, bool) {
	key := serviceKey(c.Name, c.Namespace)
	old := t.services[key]
	// explain remembers the cluster's deleted Services, not imports.
	remember := t == ix.cluster
	if svc == nil {
		delete(t.services, key)
		if old != nil && remember {
			ix.deleted.add(old, time.Now())
		}
	} else {
		if old == nil && remember && len(ix.deleted) > 0 {
			ix.deleted.forget(svc.Namespace, svc.Name)
		}
		t.services[key] = svc
	}
	namespaceChanged := ix.countNamespace(c.Namespace, old != nil, svc != nil)
	t.dirty[key] = struct{}{}
	if svc != nil && !svc.Changed.IsZero() {
		programmed = append(programmed, programmedChange{t, key, svc.Changed.Time()})
	}
	return programmed, namespaceChanged
}

// setSlice makes es the slice c names in table t, a slice of service
// there; with no service (or no es) the slice leaves t.
func (ix *Index) setSlice(t *serviceTable, c Change, es *object.EndpointSlice, service string, programmed []programmedChange) []programmedChange {
	id := c.Namespace + "/" + c.Name
	if key, ok := t.sliceOwner[id]; ok {
		if set := t.slices[key].without(c.Name); len(set) > 0 {
			t.slices[key] = set
		} else {
			delete(t.slices, key)
		}
		delete(t.sliceOwner, id)
		t.sliceChanged(key, c.Name)
	}
	if es == nil || service == "" {
		return programmed
	}
	key := serviceKey(service, c.Namespace)
	t.slices[key] = t.slices[key].with(c.Name, es)
	t.sliceOwner[id] = key
	t.sliceChanged(key, c.Name)
	if !es.Changed.IsZero() {
		programmed = append(programmed, programmedChange{t, key, es.Changed.Time()})
	}
	return programmed
}

type programmedChange struct {
	table   *serviceTable
	key     string
	changed time.Time
}

func (ix *Index) observe(changes []programmedChange) {
	if ix.opts.Programmed == nil {
		return
	}
	now := time.Now()
	for _, c := range changes {
		e, ok := c.table.entries.get(c.key)
		if !ok {
			continue
		}
		ix.opts.Programmed(e.Kind, now.Sub(c.changed))
	}
}

// publish serves what was built so far as a new view, unless it shows
// nothing the served one does not: then the served view stays, and with it
// its SOA serial, so secondaries do not transfer an unchanged zone.
func (ix *Index) publish() {
	ix.flushMerged(ix.cluster)
	ix.flushMerged(ix.clusterset)
	if ix.visWriter.pending() {
		// Once per publish, not per change: an informer's initial list
		// applies its namespaces one event at a time.
		ix.updateVisibility()
	}
	prev := ix.view.Load()
	next := &View{
		services:          ix.cluster.entries.publish(),
		namespaces:        ix.nsExists.publish(),
		reverse:           ix.cluster.reverse.publish(),
		pods:              ix.pods.publish(),
		zones:             ix.zones.publish(),
		vis:               ix.vis,
		clusterset:        ix.clusterset.entries.publish(),
		clustersetReverse: ix.clusterset.reverse.publish(),
		podsPending:       ix.podsPending,
	}
	if ix.podsPending && ix.stalePods != nil {
		next.pods, next.podsPending = ix.stalePods, false
	}
	if prev != nil && (next.sameMaps(prev) || ix.compareContents && next.sameContents(prev)) {
		return
	}
	next.serial = nextSerial(prev, time.Now())
	next.replaced = make(chan struct{})
	ix.view.Store(next)
	if prev == nil {
		close(ix.firstView)
	} else {
		close(prev.replaced)
	}
}

// nextSerial is the SOA serial of a view replacing prev: the time in Unix
// seconds, and always past prev's (RFC 1982 order), so two changes in one
// second still move it.
func nextSerial(prev *View, now time.Time) uint32 {
	s := uint32(now.Unix())
	if prev != nil && int32(s-prev.serial) <= 0 {
		s = prev.serial + 1
	}
	return s
}

// countNamespace counts the services of namespace ns after one came or
// went, and tells whether the namespace came or went with it.
func (ix *Index) countNamespace(ns string, had, has bool) bool {
	before := ix.nsServices[ns]
	switch {
	case had && !has:
		ix.nsServices[ns]--
		if ix.nsServices[ns] <= 0 {
			delete(ix.nsServices, ns)
		}
	case !had && has:
		ix.nsServices[ns]++
	default:
		return false
	}
	ix.updateNamespace(ns)
	return (before == 0) != (ix.nsServices[ns] == 0)
}

// updateNamespace decides whether a namespace exists in the DNS view: a
// Namespace object or a service in it makes it exist (manifests files often
// carry no Namespace objects), and the namespace filters can hide it.
func (ix *Index) updateNamespace(name string) {
	ns := ix.namespaces[name]
	exists := (ns != nil || ix.nsServices[name] > 0) && ix.opts.Filter.namespaceVisible(name, ns)
	if _, had := ix.nsExists.get(name); exists && !had {
		ix.nsExists.set(name, struct{}{})
	} else if !exists {
		ix.nsExists.delete(name)
	}
}

// rebuild recomputes the DNS entry of one service from its Service and
// EndpointSlices, and moves its reverse records.
func (ix *Index) rebuild(t *serviceTable, key string) {
	if _, ok := t.unmerged[key]; ok {
		// The reverse index already holds the merge's records: make the
		// entry match them before replacing it.
		t.flushMergedKey(key)
		delete(t.unmerged, key)
	}
	old, _ := t.entries.get(key)
	var next *Service
	delete(t.merged, key)
	if svc := t.services[key]; svc != nil && ix.opts.Filter.serviceVisible(svc, ix.namespaces[svc.Namespace]) {
		var m *mergedService
		// Most services have no slices (a ClusterIP service needs none):
		// they get a merge when their first slice comes (rebuildSlices),
		// not an empty one each, 90 bytes a service.
		if publishesEndpoints(svc, ix.opts) && len(t.slices[key]) > 0 {
			m = newMergedService(svc, t.slices[key], ix.opts, ix.zones, t.clusterset)
			t.merged[key] = m
		}
		next = buildService(svc, m)
		if ix.opts.Visibility != nil {
			next.namespaceNumber = ix.visWriter.numbers.number(svc.Namespace)
		}
	}
	if old != nil && next != nil && sameEntry(old, next) {
		// Nothing DNS shows changed (a label, a port's app protocol): keep
		// the published entry, so the view, and its serial, stay as they are.
		return
	}
	if old != nil {
		for _, r := range old.reverseNames(key) {
			t.reverse.remove(r.addr, r.name, "")
		}
	}
	if next == nil {
		t.entries.delete(key)
		return
	}
	t.entries.set(key, next)
	for _, r := range next.reverseNames(key) {
		t.reverse.add(r.addr, r.name)
	}
}

// rebuildSlices redoes the slices named of a service after they changed:
// their part of the merge and their reverse records. The service's entry
// is rebuilt once per publish (flushMerged), not once per slice event: a
// rollout's stream of events, coalesced by RunPublisher, then costs what
// its slices hold, under the lock and at the publish alike. A service
// not published, or showing no endpoints, has nothing to redo; one that
// had no slices gets its merge here.
func (ix *Index) rebuildSlices(t *serviceTable, key string, names map[string]struct{}) {
	old, _ := t.entries.get(key)
	svc := t.services[key]
	if old == nil || svc == nil || !publishesEndpoints(svc, ix.opts) {
		return
	}
	m := t.merged[key]
	if m == nil {
		m = &mergedService{clusterset: t.clusterset}
		t.merged[key] = m
	}
	base := "." + old.Name + "." + old.Namespace
	for name := range names {
		es := t.slices[key].get(name)
		i, found := m.find(name)
		var prev []Endpoint
		if found {
			prev = m.slices[i].offered
		}
		var offered []Endpoint
		if es != nil {
			offered = offeredEndpoints(svc, es, ix.opts, ix.zones, t.clusterset, prev)
			if found && sameEndpoints(prev, offered) {
				continue // a change DNS does not show (a node name)
			}
		}
		if m.holders == nil {
			if ok, changed := t.setExclusive(m, i, found, name, offered, es == nil, base); ok {
				if changed {
					t.unmerged[key] = struct{}{}
				}
				continue
			}
			m.countHolders()
		}
		removed, added, changed := m.set(i, found, name, offered, es == nil)
		m.dropHoldersIfExclusive()
		if !changed {
			continue
		}
		t.unmerged[key] = struct{}{}
		// Only the endpoints that left or joined move in the reverse
		// index: those the slice kept in place at either end stay. An
		// endpoint that is in both lists elsewhere is removed and added
		// back, which leaves the reverse index as it was.
		head, tail := keptEnds(removed, added)
		for _, e := range removed[head : len(removed)-tail] {
			t.reverse.remove(e.Addr, e.Name, base)
		}
		for _, e := range added[head : len(added)-tail] {
			t.reverse.add(e.Addr, e.Name+base)
		}
	}
}

// setExclusive makes slice name's offer offered (gone: the slice is no
// more) in a merge where no address is offered twice, and moves the
// reverse records of what changed; i and found are m.find(name). The
// reverse index tells whether a joining address is already an endpoint of
// the service (base is its ".name.namespace"), as it must be consulted for
// the move anyway: then the merge is left as it was, ok is false, and the
// caller counts holders to decide which endpoint wins. changed tells
// whether the slice's endpoints changed.
func (t *serviceTable) setExclusive(m *mergedService, i int, found bool, name string, offered []Endpoint, gone bool, base string) (ok, changed bool) {
	var prev []Endpoint
	if found {
		prev = m.slices[i].offered
	}
	head, tail := keptEnds(prev, offered)
	left, joined := prev[head:len(prev)-tail], offered[head:len(offered)-tail]
	for _, e := range left {
		t.reverse.remove(e.Addr, e.Name, base)
	}
	for k, e := range joined {
		if t.hasEndpointAt(e.Addr, base) {
			for _, e := range joined[:k] {
				t.reverse.remove(e.Addr, e.Name, base)
			}
			for _, e := range left {
				t.reverse.add(e.Addr, e.Name+base)
			}
			return false, false
		}
		t.reverse.add(e.Addr, e.Name+base)
	}
	m.replace(i, found, name, offered, gone)
	return true, len(left) > 0 || len(joined) > 0
}

// hasEndpointAt tells whether an endpoint of the service whose names end
// in base (".name.namespace") has address addr in the reverse index. Names
// of other services cannot end so: service and namespace names hold no
// dot.
func (t *serviceTable) hasEndpointAt(addr netip.Addr, base string) bool {
	for _, r := range t.reverse.get(addr) {
		if len(r) > len(base) && strings.HasSuffix(r, base) {
			return true
		}
	}
	return false
}

// flushMerged rebuilds the entries of the services whose merge changed
// since the last publish. One whose endpoints came back to what is
// published (a slice changed and changed back) keeps its entry.
func (ix *Index) flushMerged(t *serviceTable) {
	for key := range t.unmerged {
		t.flushMergedKey(key)
	}
	t.unmerged = emptied(t.unmerged)
}

// flushMergedKey rebuilds the entry of service key from its merge, if its
// endpoints changed.
func (t *serviceTable) flushMergedKey(key string) {
	old, _ := t.entries.get(key)
	next := *old
	next.setEndpoints(t.merged[key], old.eps)
	if !sameEndpointSets(old.eps, next.eps) {
		t.entries.set(key, &next)
	}
}

// serviceKey is how services are keyed: "name.namespace", the labels of the
// query name in front of ".svc.<zone>", so the query path looks a service up
// with a slice of the query name.
func serviceKey(name, namespace string) string {
	return strings.ToLower(name) + "." + strings.ToLower(namespace)
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
