package api

import (
	"slices"
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
			if samePod(old, obj) {
				return
			}
			s.upsert(kind, obj)
		},
		DeleteFunc: func(obj any) { s.delete(kind, obj) },
	}
}

func (s *Source) upsert(kind object.Kind, obj any) {
	sl, ok := obj.(*slim)
	if !ok {
		log.Warningf("ignoring unexpected %s object of type %T", kind, obj)
		return
	}
	if err, bad := sl.obj.(error); bad {
		// Keep what was indexed before: one odd object loses nothing.
		log.Errorf("ignoring %s %s/%s: %v", kind, sl.namespace, sl.name, err)
		return
	}
	if sl.obj == nil || isNilObject(sl.obj) {
		// Converted to nothing (a FQDN EndpointSlice, a hostNetwork pod):
		// make sure no earlier version lingers.
		s.ix.ApplyDeferred(index.Change{Kind: kind, Namespace: sl.namespace, Name: sl.name})
		return
	}
	s.ix.ApplyDeferred(index.Change{Kind: kind, Namespace: sl.namespace, Name: sl.name, Object: sl.obj})
}

func (s *Source) delete(kind object.Kind, obj any) {
	var ns, name string
	switch o := obj.(type) {
	case *slim:
		ns, name = o.namespace, o.name
	case cache.DeletedFinalStateUnknown:
		// The watch missed the deletion; the key is "namespace/name" or
		// "name".
		if i := strings.IndexByte(o.Key, '/'); i >= 0 {
			ns, name = o.Key[:i], o.Key[i+1:]
		} else {
			name = o.Key
		}
	default:
		log.Warningf("ignoring unexpected %s deletion of type %T", kind, obj)
		return
	}
	s.ix.ApplyDeferred(index.Change{Kind: kind, Namespace: ns, Name: name})
}

// isNilObject tells whether a converter returned a typed nil.
func isNilObject(o any) bool {
	switch v := o.(type) {
	case *object.Service:
		return v == nil
	case *object.EndpointSlice:
		return v == nil
	case *object.Pod:
		return v == nil
	case *object.Namespace:
		return v == nil
	}
	return false
}

// samePod tells whether an update leaves a pod's DNS view as it was. Pod
// status changes all the time (conditions, container restarts) and each
// is an informer update; with `pods verified` most would otherwise rebuild
// nothing and still count as a change, and a snapshot would be rewritten
// after every one.
func samePod(old, obj any) bool {
	o, ok1 := old.(*slim)
	n, ok2 := obj.(*slim)
	if !ok1 || !ok2 {
		return false
	}
	op, ok1 := o.obj.(*object.Pod)
	np, ok2 := n.obj.(*object.Pod)
	return ok1 && ok2 && op != nil && np != nil &&
		op.Name == np.Name && op.Namespace == np.Namespace && slices.Equal(op.IPs, np.IPs)
}
