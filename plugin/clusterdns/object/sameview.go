package object

import (
	"reflect"
	"time"
)

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
		b, ok := obj.(*Service)
		return ok && equalIgnoringChanged(a, b, func(v *Service) *Meta { return &v.Meta })
	case *EndpointSlice:
		b, ok := obj.(*EndpointSlice)
		return ok && equalIgnoringChanged(a, b, func(v *EndpointSlice) *Meta { return &v.Meta })
	case *Pod:
		b, ok := obj.(*Pod)
		return ok && equalIgnoringChanged(a, b, func(v *Pod) *Meta { return &v.Meta })
	case *Namespace:
		b, ok := obj.(*Namespace)
		return ok && equalIgnoringChanged(a, b, func(v *Namespace) *Meta { return &v.Meta })
	case *ServiceImport:
		b, ok := obj.(*ServiceImport)
		return ok && equalIgnoringChanged(a, b, func(v *ServiceImport) *Meta { return &v.Meta })
	}
	return false
}

// equalIgnoringChanged compares two objects but for Meta.Changed and
// Meta.ResourceVersion.
func equalIgnoringChanged[T any](a, b *T, meta func(*T) *Meta) bool {
	if a == nil || b == nil {
		return false
	}
	x, y := *a, *b
	meta(&x).Changed, meta(&y).Changed = time.Time{}, time.Time{}
	meta(&x).ResourceVersion, meta(&y).ResourceVersion = "", ""
	return reflect.DeepEqual(x, y)
}
