package api

import (
	"strings"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	"k8s.io/client-go/tools/cache"
)

// handler applies an informer's events to the index, one change each;
// the source's publisher publishes them.
func (s *Source) handler(kind object.Kind) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { s.upsert(kind, obj) },
		UpdateFunc: func(old, obj any) {
			if sameView(old, obj) {
				return
			}
			s.upsert(kind, obj)
		},
		DeleteFunc: func(obj any) { s.delete(kind, obj) },
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
	s.ix.ApplyDeferred(index.Change{Kind: kind, Namespace: m.Namespace, Name: m.Name, Object: o})
}

func (s *Source) delete(kind object.Kind, obj any) {
	var ns, name string
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		// The watch missed the deletion; the key is "namespace/name" or
		// "name".
		if i := strings.IndexByte(d.Key, '/'); i >= 0 {
			ns, name = d.Key[:i], d.Key[i+1:]
		} else {
			name = d.Key
		}
	} else if m := storedMeta(obj); m != nil {
		ns, name = m.Namespace, m.Name
	} else {
		log.Warningf("ignoring unexpected %s deletion of type %T", kind, obj)
		return
	}
	s.ix.ApplyDeferred(index.Change{Kind: kind, Namespace: ns, Name: name})
}

// sameView tells whether an update leaves the object's DNS view as it
// was: most informer updates change only what the slim form drops
// (Service status, annotations, managedFields). Such an update would
// rebuild nothing, yet count as a change: a programming latency observed
// for nothing, and a snapshot rewrite (17 MB at the scale limits). Only
// the change time differs between the two slim forms then. An
// *unconverted is never the same view: its update is always applied (or
// logged).
func sameView(old, obj any) bool {
	o, n := indexable(old), indexable(obj)
	return o != nil && n != nil && object.SameView(o, n)
}

// transform is the transform of kind's informer: convert, dropLabels,
// sharing port lists, then reuseIndexed; it returns the stored form
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
// expired) delivers every object again, nearly all of them unchanged; the
// handler skips those (sameView), so the index keeps its objects while
// the informer's store takes the new ones: two copies of every slim
// object after each relist until each object changes. Storing the index's
// object keeps one, and the relist's new copies die young. (Pods have no
// informer: podwatch.go.)
func (s *Source) reuseIndexed(kind object.Kind, obj any) any {
	m := object.MetaOf(obj)
	indexed, _ := s.ix.Object(kind, m.Namespace, m.Name)
	if indexed == nil || !object.SameView(indexed, obj) {
		return obj
	}
	return indexed
}
