package index

import (
	"k8s.io/apimachinery/pkg/labels"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// Filter selects what the DNS view shows, from the `namespaces`,
// `namespace_labels` and `labels` options. The API source applies the same
// selectors on the server where it can; the index applies them again so that
// every source behaves alike.
type Filter struct {
	// Namespaces, when not empty, are the only namespaces shown.
	Namespaces map[string]struct{}
	// NamespaceLabels, when set, shows only namespaces whose labels match.
	NamespaceLabels labels.Selector
	// Labels, when set, shows only services whose labels match.
	Labels labels.Selector
}

func (f Filter) namespaceVisible(name string, ns *object.Namespace) bool {
	if len(f.Namespaces) > 0 {
		if _, ok := f.Namespaces[name]; !ok {
			return false
		}
	}
	if f.NamespaceLabels != nil {
		return ns != nil && f.NamespaceLabels.Matches(labels.Set(ns.Labels))
	}
	return true
}

func (f Filter) serviceVisible(svc *object.Service, ns *object.Namespace) bool {
	if !f.namespaceVisible(svc.Namespace, ns) {
		return false
	}
	return f.Labels == nil || f.Labels.Matches(labels.Set(svc.Labels))
}
