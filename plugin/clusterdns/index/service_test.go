package index

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestServiceLayout guards what an entry costs the collector, which scans
// an object up to its last pointer (memory.go in source/api): an entry
// fills the 24-byte size class, and no field after the endpoints' pointer
// holds one, so it is scanned up to there.
func TestServiceLayout(t *testing.T) {
	if got := unsafe.Sizeof(Service{}); got != 24 {
		t.Errorf("index.Service is %d bytes, want 24", got)
	}
	typ := reflect.TypeFor[Service]()
	eps, _ := typ.FieldByName("eps")
	if eps.Offset != 8 {
		t.Errorf("eps at offset %d, want 8: right after the object's pointer", eps.Offset)
	}
	for i := eps.Index[0] + 1; i < typ.NumField(); i++ {
		switch f := typ.Field(i); f.Type.Kind() {
		case reflect.Bool, reflect.Uint8, reflect.Uint32:
		default:
			t.Errorf("field %s (%s) after eps may hold a pointer", f.Name, f.Type)
		}
	}
}
