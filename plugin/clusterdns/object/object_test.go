package object

import (
	"testing"
	"time"
	"unsafe"
)

// TestStamp: a Stamp keeps a time to the nanosecond, and the zero time
// as none, not as a time of year 1 that UnixNano cannot hold.
func TestStamp(t *testing.T) {
	at := time.Date(2026, 12, 6, 19, 0, 0, 123456789, time.UTC)
	if s := StampOf(at); s.IsZero() || !s.Time().Equal(at) {
		t.Errorf("StampOf(%v).Time() = %v", at, s.Time())
	}
	if s := StampOf(time.Time{}); !s.IsZero() || !s.Time().IsZero() {
		t.Errorf("StampOf(zero time) = %d, Time() = %v; want none", s, s.Time())
	}
}

// TestSizes pins the layouts that make a Service, and a slice's ten
// endpoints, fit their size classes (see Service and Zone).
func TestSizes(t *testing.T) {
	if n := unsafe.Sizeof(Service{}); n > 128 {
		t.Errorf("a Service takes %d bytes, want at most 128", n)
	}
	if n := unsafe.Sizeof(Endpoint{}); n > 72 {
		t.Errorf("an Endpoint takes %d bytes, want at most 72", n)
	}
}
