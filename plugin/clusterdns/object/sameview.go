package object

import "reflect"

// SameView tells whether two objects of one kind show the same in DNS: they
// are equal but for Meta.Changed and Meta.ResourceVersion, which every write
// moves. Both sources use it to tell a change from a rewrite: the API
// source for an informer's update or relist, the file source for a reload.
func SameView(old, obj any) bool {
	if old == obj {
		return true // the index's own object, reused by the API source
	}
	switch a := old.(type) {
	case *Service:
		return sameAs(a, obj)
	case *EndpointSlice:
		return sameAs(a, obj)
	case *Pod:
		return sameAs(a, obj)
	case *Namespace:
		return sameAs(a, obj)
	case *ServiceImport:
		return sameAs(a, obj)
	}
	return false
}

// sameAs is SameView for an old object of type *T.
func sameAs[T any, P interface {
	*T
	meta() *Meta
}](a P, obj any) bool {
	b, ok := obj.(P)
	if !ok || a == nil || b == nil {
		return false
	}
	x, y := *a, *b
	P(&x).meta().Changed, P(&y).meta().Changed = 0, 0
	P(&x).meta().ResourceVersion, P(&y).meta().ResourceVersion = "", ""
	return reflect.DeepEqual(x, y)
}

// meta gives sameAs and MetaOf the Meta of each object type that embeds
// it.
func (m *Meta) meta() *Meta { return m }

// MetaOf returns the metadata of an object of this package (*Service,
// *EndpointSlice, *Pod, *Namespace, *ServiceImport), nil for anything else
// and for a nil one.
func MetaOf(o any) *Meta {
	m, ok := o.(interface{ meta() *Meta })
	if !ok || reflect.ValueOf(o).IsNil() {
		return nil
	}
	return m.meta()
}
