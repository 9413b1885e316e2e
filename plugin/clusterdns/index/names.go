package index

import (
	"strings"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// Names calls f with the namespace and name of every object of kind the
// index holds (pods excepted), as Object finds them, under the index's
// lock: f must not call the index. A source with no store of its own
// tells by them which objects a relist no longer delivers.
func (ix *Index) Names(kind object.Kind, f func(namespace, name string)) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	switch kind {
	case object.KindService:
		for _, svc := range ix.cluster.services {
			f(svc.Namespace, svc.Name)
		}
	case object.KindServiceImport:
		for _, svc := range ix.clusterset.services {
			f(svc.Namespace, svc.Name)
		}
	case object.KindEndpointSlice:
		for key := range ix.cluster.sliceOwner {
			ns, name, _ := strings.Cut(key, "/")
			f(ns, name)
		}
		for key := range ix.clusterset.sliceOwner {
			if _, ok := ix.cluster.sliceOwner[key]; !ok {
				ns, name, _ := strings.Cut(key, "/")
				f(ns, name)
			}
		}
	case object.KindNamespace:
		for _, ns := range ix.namespaces {
			f("", ns.Name)
		}
	}
}
