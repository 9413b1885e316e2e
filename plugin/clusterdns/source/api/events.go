package api

import (
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	"k8s.io/client-go/tools/cache"
)

// apply applies an informer's deltas to the index, one change each; the
// source's publisher publishes them. The queue (newInformer) emits adds,
// updates, deletions and whole relists; no resyncs (no resync period),
// no bookmarks (not asked for).
func (s *Source) apply(kind object.Kind, deltas cache.Deltas) {
	for _, d := range deltas {
		switch d.Type {
		case cache.Added, cache.Updated:
			s.upsert(kind, d.Object)
		case cache.Deleted:
			s.delete(kind, d.Object)
		case cache.ReplacedAll:
			info, ok := d.Object.(cache.ReplacedAllInfo)
			if !ok {
				log.Warningf("ignoring unexpected %s relist of type %T", kind, d.Object)
				continue
			}
			s.replaceAll(kind, info.Objects)
		}
	}
}

// replaceAll applies a relist (or the first list): every object listed,
// and the deletion of every object the index holds that it does not list
// (deleted while not watched).
func (s *Source) replaceAll(kind object.Kind, objs []any) {
	type key struct{ namespace, name string }
	listed := make(map[key]struct{}, len(objs))
	for _, obj := range objs {
		if m := storedMeta(obj); m != nil {
			listed[key{m.Namespace, m.Name}] = struct{}{}
		}
		s.upsert(kind, obj)
	}
	var gone []key
	s.ix.Names(kind, func(namespace, name string) {
		if _, ok := listed[key{namespace, name}]; !ok {
			gone = append(gone, key{namespace, name})
		}
	})
	for _, k := range gone {
		s.ix.ApplyDeferred(index.Change{Kind: kind, Namespace: k.namespace, Name: k.name})
	}
}

func (s *Source) upsert(kind object.Kind, obj any) {
	if u, ok := obj.(*unconverted); ok {
		if u.err != nil {
			// Keep what was indexed before: one odd object loses nothing.
			log.Errorf("ignoring %s %s/%s: %v", kind, u.Namespace, u.Name, u.err)
			return
		}
		// Converted to nothing (a FQDN EndpointSlice):
		// make sure no earlier version lingers.
		s.ix.ApplyDeferred(index.Change{Kind: kind, Namespace: u.Namespace, Name: u.Name})
		return
	}
	o := indexable(obj)
	if o == nil {
		log.Warningf("ignoring unexpected %s object of type %T", kind, obj)
		return
	}
	m := object.MetaOf(o)
	if indexed, _ := s.ix.Object(kind, m.Namespace, m.Name); indexed != nil && object.SameView(indexed, o) {
		// Most updates change only what the slim form drops (Service
		// status, annotations, managedFields), and a relist delivers
		// every object again, nearly all of them unchanged. Applied, such
		// an update would rebuild nothing, yet count as a change: a
		// programming latency observed for nothing, and a snapshot
		// rewrite (17 MB at the scale limits).
		return
	}
	s.ix.ApplyDeferred(index.Change{Kind: kind, Namespace: m.Namespace, Name: m.Name, Object: o})
}

// delete applies a deletion the watch delivered. (A deletion the watch
// missed is replaceAll's: the queue emits relists whole, with no
// tombstones.)
func (s *Source) delete(kind object.Kind, obj any) {
	m := storedMeta(obj)
	if m == nil {
		log.Warningf("ignoring unexpected %s deletion of type %T", kind, obj)
		return
	}
	s.ix.ApplyDeferred(index.Change{Kind: kind, Namespace: m.Namespace, Name: m.Name})
}

// transform is the transform of kind's informer: convert, dropLabels,
// sharing port lists, then reuseIndexed; it returns the queued form
// (slim.go). An informer calls its transform from one goroutine at a
// time, so each has port lists of its own, without a lock.
func (s *Source) transform(kind object.Kind) cache.TransformFunc {
	ports := portLists{}
	return func(in any) (any, error) {
		obj, ok := convert(in)
		if !ok {
			// Already converted: those passes are done, and the object
			// may be the index's, which must not be written to.
			return in, nil
		}
		if _, failed := obj.(*unconverted); !failed {
			s.dropLabels(obj)
			ports.shareIn(obj)
			obj = s.reuseIndexed(kind, obj)
		}
		return stored(obj), nil
	}
}

// portLists shares equal port lists among a kind's objects. Nearly every
// Service of a cluster has one of a few port lists (one "http" port 80),
// yet each converted Service has its own: 48 bytes a Service, scanned by
// the collector (see dropLabels). Objects are never written to once
// converted, so one list can serve all. Only lists of up to
// len(portListKey.ports) ports are shared, and at most maxSharedPortLists
// of them: the rest keep their own.
type portLists map[portListKey][]object.Port

type portListKey struct {
	ports [2]object.Port
	n     int
}

const maxSharedPortLists = 256

func (p portLists) shareIn(obj any) {
	switch o := obj.(type) { // never a nil one: convert
	case *object.Service:
		o.Ports = p.share(o.Ports)
	case *object.EndpointSlice:
		o.Ports = p.share(o.Ports)
	}
}

// share returns the shared list equal to ports, or ports.
func (p portLists) share(ports []object.Port) []object.Port {
	var k portListKey
	if len(ports) == 0 || len(ports) > len(k.ports) {
		return ports
	}
	k.n = copy(k.ports[:], ports)
	if shared, ok := p[k]; ok {
		return shared
	}
	if len(p) < maxSharedPortLists {
		p[k] = ports
	}
	return ports
}

// dropLabels drops the labels of a Service or ServiceImport when the
// source has no label selector: the index reads them only for the labels
// option's filter. Shared with the decoded object, they would keep its
// label map alive, about 330 bytes a Service, all of it scanned by the
// collector, whose scan work sets the memory limit's headroom
// (memory.go): 3 MiB of the 16 MiB scanned at 10k Services. A snapshot
// saved without them is read back only by a source with the same
// selector (identity). Namespaces keep theirs: namespace_labels and the
// visibility option read them.
func (s *Source) dropLabels(obj any) {
	if s.cfg.LabelSelector != "" {
		return
	}
	switch o := obj.(type) { // never a nil one: convert
	case *object.Service:
		o.Labels = nil
	case *object.ServiceImport:
		o.Labels = nil
	}
}

// reuseIndexed returns the index's object for obj's key in place of obj,
// when the two show the same. A relist (the API server restarted, a watch
// expired) delivers every object again, nearly all of them unchanged, and
// client-go holds them all (its streaming list's store, then the queue's
// ReplacedAll) until the relist is applied whole: as the index's objects,
// not copies of them, and the relist's new copies die young. (Pods have
// no informer: podwatch.go.)
func (s *Source) reuseIndexed(kind object.Kind, obj any) any {
	m := object.MetaOf(obj)
	indexed, _ := s.ix.Object(kind, m.Namespace, m.Name)
	if indexed == nil || !object.SameView(indexed, obj) {
		return obj
	}
	return indexed
}
