package api

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestReleaseListGarbageLimitsMemory checks that the release after a
// sync sets a memory limit a headroom above what the runtime holds, and
// that an operator's GOMEMLIMIT below that stays the limit.
func TestReleaseListGarbageLimitsMemory(t *testing.T) {
	started := operatorLimit
	t.Cleanup(func() {
		operatorLimit = started
		headroom.Store(0)
		debug.SetMemoryLimit(started)
	})
	operatorLimit = math.MaxInt64
	releaseListGarbage()
	limit := debug.SetMemoryLimit(-1)
	held := readMemory().held
	if limit == math.MaxInt64 || limit < held || float64(limit) > float64(held)*(1+2*headroomFraction) {
		t.Fatalf("memory limit after the release = %d, want a headroom of about %.0f%% over the %d bytes held", limit, 100*headroomFraction, held)
	}

	operatorLimit = held / 2
	limitMemory()
	if got := debug.SetMemoryLimit(-1); got != operatorLimit {
		t.Fatalf("memory limit under a GOMEMLIMIT of %d = %d, want the GOMEMLIMIT", operatorLimit, got)
	}
}
