package index

import (
	"slices"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// The lookups explain makes to say which object an answer came from. They
// read the writer's copy of the objects under its lock: explain is rare,
// and the query path neither keeps nor pays for provenance.

// maxDeletions bounds the services remembered as deleted (deletions), so
// that explain can tell "deleted at" from "never existed".
const maxDeletions = 1024

// Deletion is a service the index dropped.
type Deletion struct {
	Namespace, Name string
	// ResourceVersion is the last one DNS saw of the service.
	ResourceVersion string
	At              time.Time
}

// deletions remembers the last maxDeletions deleted services, oldest
// first.
type deletions []Deletion

func (d *deletions) add(svc *object.Service, at time.Time) {
	if len(*d) == maxDeletions {
		*d = slices.Delete(*d, 0, 1)
	}
	*d = append(*d, Deletion{Namespace: svc.Namespace, Name: svc.Name, ResourceVersion: svc.ResourceVersion, At: at})
}

// forget drops a service that exists again.
func (d *deletions) forget(namespace, name string) {
	*d = slices.DeleteFunc(*d, func(x Deletion) bool { return x.Namespace == namespace && x.Name == name })
}

// ServiceDeleted returns when the service was last deleted, if it was
// among the last maxDeletions deletions and has not come back.
func (ix *Index) ServiceDeleted(namespace, name string) (Deletion, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i := len(ix.deleted) - 1; i >= 0; i-- {
		if d := ix.deleted[i]; strings.EqualFold(d.Namespace, namespace) && strings.EqualFold(d.Name, name) {
			return d, true
		}
	}
	return Deletion{}, false
}

// EndpointSlices returns the EndpointSlices of a service, by name. The
// slices are shared and must not be changed.
func (ix *Index) EndpointSlices(namespace, service string) []*object.EndpointSlice {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	set := ix.cluster.slices[serviceKey(service, namespace)]
	out := make([]*object.EndpointSlice, 0, len(set))
	for _, s := range set {
		out = append(out, s.es)
	}
	return out
}

// Pod returns the pod the index holds by that namespace and name, or nil
// (always nil without Options.Pods): Object, typed.
func (ix *Index) Pod(namespace, name string) *object.Pod {
	o, _ := ix.Object(object.KindPod, namespace, name)
	pod, _ := o.(*object.Pod)
	return pod
}

// PodsIndexed tells whether the index keeps pods (Options.Pods).
func (ix *Index) PodsIndexed() bool { return ix.opts.Pods }
