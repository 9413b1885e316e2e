package object

import (
	"testing"
	"time"
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
