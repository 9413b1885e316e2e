package api

import (
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The informers (client.go) queue the converted objects themselves, the
// pointers the index holds, not a wrapper around each: a wrapper of the
// object and its resource version cost 32 bytes per object, all of them
// scanned by the collector (see dropLabels in events.go). client-go finds
// an object's key and resource version (its queue; the store a streaming
// list fills) through meta.Accessor, which takes a
// metav1.ObjectMetaAccessor; the object types, free of client-go, have no
// such method, so each converted kind is queued as its own type
// redefined, which has one. A *object.Service converts to a
// *storedService and back for nothing, and an interface holding either
// allocates nothing.
type (
	storedService       object.Service
	storedEndpointSlice object.EndpointSlice
	storedNamespace     object.Namespace
	storedServiceImport object.ServiceImport
)

func (o *storedService) GetObjectMeta() metav1.Object       { return (*metaView)(&o.Meta) }
func (o *storedEndpointSlice) GetObjectMeta() metav1.Object { return (*metaView)(&o.Meta) }
func (o *storedNamespace) GetObjectMeta() metav1.Object     { return (*metaView)(&o.Meta) }
func (o *storedServiceImport) GetObjectMeta() metav1.Object { return (*metaView)(&o.Meta) }
func (u *unconverted) GetObjectMeta() metav1.Object         { return (*metaView)(&u.Meta) }

// unconverted is queued for an object that converted to nothing (a FQDN
// EndpointSlice: err is nil) or failed to (err), with its name, namespace
// and resource version. Rare, so it need not be small.
type unconverted struct {
	object.Meta
	err error
}

// stored returns what an informer queues for obj, a converted object or
// an *unconverted.
func stored(obj any) any {
	switch o := obj.(type) {
	case *object.Service:
		return (*storedService)(o)
	case *object.EndpointSlice:
		return (*storedEndpointSlice)(o)
	case *object.Namespace:
		return (*storedNamespace)(o)
	case *object.ServiceImport:
		return (*storedServiceImport)(o)
	}
	return obj
}

// indexable returns the converted object an informer queues as s, nil if s
// is an *unconverted or not what an informer queues.
func indexable(s any) any {
	switch o := s.(type) {
	case *storedService:
		return (*object.Service)(o)
	case *storedEndpointSlice:
		return (*object.EndpointSlice)(o)
	case *storedNamespace:
		return (*object.Namespace)(o)
	case *storedServiceImport:
		return (*object.ServiceImport)(o)
	}
	return nil
}

// storedMeta returns the metadata of what an informer queues as s, nil if
// s is not what an informer queues.
func storedMeta(s any) *object.Meta {
	if a, ok := s.(metav1.ObjectMetaAccessor); ok {
		if m, ok := a.GetObjectMeta().(*metaView); ok {
			return (*object.Meta)(m)
		}
	}
	return nil
}

// metaView is a queued object's metav1.Object: its name, namespace and
// resource version; the rest reads as empty. It ignores writes: the
// object is the index's, which nothing may change (client-go writes to
// no queued object).
//
// The resource version is the object's Meta.ResourceVersion, which for an
// object reuseIndexed (events.go) returned in place of the one just
// converted is the version DNS last saw change, not the newest. Nothing
// reads it that matters: the reflector resumes its watches from the
// versions of the API's objects, read before the transform, and the
// version the store of a streaming list notes last
// (LastStoreSyncResourceVersion) is read by no one.
type metaView object.Meta

var _ metav1.Object = (*metaView)(nil)

func (m *metaView) GetNamespace() string                          { return m.Namespace }
func (m *metaView) SetNamespace(string)                           {}
func (m *metaView) GetName() string                               { return m.Name }
func (m *metaView) SetName(string)                                {}
func (m *metaView) GetResourceVersion() string                    { return m.ResourceVersion }
func (m *metaView) SetResourceVersion(string)                     {}
func (m *metaView) GetGenerateName() string                       { return "" }
func (m *metaView) SetGenerateName(string)                        {}
func (m *metaView) GetUID() types.UID                             { return "" }
func (m *metaView) SetUID(types.UID)                              {}
func (m *metaView) GetGeneration() int64                          { return 0 }
func (m *metaView) SetGeneration(int64)                           {}
func (m *metaView) GetSelfLink() string                           { return "" }
func (m *metaView) SetSelfLink(string)                            {}
func (m *metaView) GetCreationTimestamp() metav1.Time             { return metav1.Time{} }
func (m *metaView) SetCreationTimestamp(metav1.Time)              {}
func (m *metaView) GetDeletionTimestamp() *metav1.Time            { return nil }
func (m *metaView) SetDeletionTimestamp(*metav1.Time)             {}
func (m *metaView) GetDeletionGracePeriodSeconds() *int64         { return nil }
func (m *metaView) SetDeletionGracePeriodSeconds(*int64)          {}
func (m *metaView) GetLabels() map[string]string                  { return nil }
func (m *metaView) SetLabels(map[string]string)                   {}
func (m *metaView) GetAnnotations() map[string]string             { return nil }
func (m *metaView) SetAnnotations(map[string]string)              {}
func (m *metaView) GetFinalizers() []string                       { return nil }
func (m *metaView) SetFinalizers([]string)                        {}
func (m *metaView) GetOwnerReferences() []metav1.OwnerReference   { return nil }
func (m *metaView) SetOwnerReferences([]metav1.OwnerReference)    {}
func (m *metaView) GetManagedFields() []metav1.ManagedFieldsEntry { return nil }
func (m *metaView) SetManagedFields([]metav1.ManagedFieldsEntry)  {}
