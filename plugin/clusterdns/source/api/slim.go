package api

import (
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// slim is what the informers store: the converted object, and the
// resource version the store reads. It implements metav1.Object because
// the store finds its key (namespace/name) through meta.Accessor: the
// name and namespace are the object's own, and the rest of the interface
// reads as empty and ignores writes. Not embedding metav1.ObjectMeta
// (about 250 bytes even when empty) saves that much per stored object,
// and not keeping the name and namespace beside the object's another 32
// bytes, all of them scanned by the collector (dropLabels in events.go).
type slim struct {
	// obj is the *object.Service, ..., or *unconverted.
	obj             any
	resourceVersion string
}

// unconverted stands in for an object that converted to nothing (a FQDN
// EndpointSlice: err is nil) or failed to (err), with its key.
type unconverted struct {
	name, namespace string
	err             error
}

func (s *slim) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (s *slim) DeepCopyObject() runtime.Object   { c := *s; return &c }

var _ metav1.Object = (*slim)(nil)

// meta returns the name and namespace of what s holds.
func (s *slim) meta() (name, namespace string) {
	if u, ok := s.obj.(*unconverted); ok {
		return u.name, u.namespace
	}
	if m := object.MetaOf(s.obj); m != nil {
		return m.Name, m.Namespace
	}
	return "", ""
}

func (s *slim) GetNamespace() string                          { _, ns := s.meta(); return ns }
func (s *slim) SetNamespace(string)                           {}
func (s *slim) GetName() string                               { name, _ := s.meta(); return name }
func (s *slim) SetName(string)                                {}
func (s *slim) GetResourceVersion() string                    { return s.resourceVersion }
func (s *slim) SetResourceVersion(version string)             { s.resourceVersion = version }
func (s *slim) GetGenerateName() string                       { return "" }
func (s *slim) SetGenerateName(string)                        {}
func (s *slim) GetUID() types.UID                             { return "" }
func (s *slim) SetUID(types.UID)                              {}
func (s *slim) GetGeneration() int64                          { return 0 }
func (s *slim) SetGeneration(int64)                           {}
func (s *slim) GetSelfLink() string                           { return "" }
func (s *slim) SetSelfLink(string)                            {}
func (s *slim) GetCreationTimestamp() metav1.Time             { return metav1.Time{} }
func (s *slim) SetCreationTimestamp(metav1.Time)              {}
func (s *slim) GetDeletionTimestamp() *metav1.Time            { return nil }
func (s *slim) SetDeletionTimestamp(*metav1.Time)             {}
func (s *slim) GetDeletionGracePeriodSeconds() *int64         { return nil }
func (s *slim) SetDeletionGracePeriodSeconds(*int64)          {}
func (s *slim) GetLabels() map[string]string                  { return nil }
func (s *slim) SetLabels(map[string]string)                   {}
func (s *slim) GetAnnotations() map[string]string             { return nil }
func (s *slim) SetAnnotations(map[string]string)              {}
func (s *slim) GetFinalizers() []string                       { return nil }
func (s *slim) SetFinalizers([]string)                        {}
func (s *slim) GetOwnerReferences() []metav1.OwnerReference   { return nil }
func (s *slim) SetOwnerReferences([]metav1.OwnerReference)    {}
func (s *slim) GetManagedFields() []metav1.ManagedFieldsEntry { return nil }
func (s *slim) SetManagedFields([]metav1.ManagedFieldsEntry)  {}
