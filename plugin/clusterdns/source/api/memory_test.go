package api

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestReleaseListGarbageLimitsMemory checks that the release after a
// sync sets a memory limit a headroom above what the runtime holds, and
// that an operator's GOMEMLIMIT below that stays the limit.
func TestReleaseListGarbageLimitsMemory(t *testing.T) {
	withoutOperatorLimit(t)
	releaseListGarbage()
	limit := debug.SetMemoryLimit(-1)
	m := readMemory()
	most := float64(m.held)*(1+2*headroomFraction) + float64(max(m.live, minSteadyHeadroom))
	if limit == math.MaxInt64 || limit < m.held || float64(limit) > most {
		t.Fatalf("memory limit after the release = %d, want the %d bytes held and a headroom of %.0f%% of them, the live heap or the collector's floor", limit, m.held, 100*headroomFraction)
	}
	held := m.held

	operatorLimit = held / 2
	limitMemory()
	if got := debug.SetMemoryLimit(-1); got != operatorLimit {
		t.Fatalf("memory limit under a GOMEMLIMIT of %d = %d, want the GOMEMLIMIT", operatorLimit, got)
	}
}

// TestLimitTightDuringList checks that while a list is in flight the
// limit keeps the small headroom over the live heap, and that it gives
// the whole live heap back as the list ends.
func TestLimitTightDuringList(t *testing.T) {
	withoutOperatorLimit(t)
	// A live heap well above the headroom, all of it scanned.
	live := make([][]*byte, 64)
	for i := range live {
		live[i] = make([]*byte, 8<<10)
	}
	releaseListGarbage()

	listing(1)
	tight := debug.SetMemoryLimit(-1)
	listing(-1)
	relaxed := debug.SetMemoryLimit(-1)
	m := readMemory()
	runtime.KeepAlive(live)
	if tight >= relaxed-m.live/4 {
		t.Fatalf("memory limit during a list = %d, after it = %d: want the live heap (%d) less during the list", tight, relaxed, m.live)
	}
	if relaxed < m.nonHeap+2*m.live-m.live/4 {
		t.Fatalf("memory limit after the list = %d, want at least twice the live heap (%d) over the rest (%d)", relaxed, m.live, m.nonHeap)
	}
}

// TestLimitHeadroomIsScannedHeap checks that between lists the headroom
// is the heap the collector scans, not the whole live heap: a live heap of
// pointers gets a headroom of about itself, one without pointers (strings,
// addresses) only the least headroom, which is 15% of what is held.
func TestLimitHeadroomIsScannedHeap(t *testing.T) {
	withoutOperatorLimit(t)
	for _, tc := range []struct {
		name     string
		alloc    func() any
		pointers bool
	}{
		{"pointers", func() any { return make([]*byte, 8<<10) }, true},
		{"no pointers", func() any { return make([]byte, 64<<10) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := make([]any, 256) // 16 MiB
			for i := range live {
				live[i] = tc.alloc()
			}
			releaseListGarbage()
			limit := debug.SetMemoryLimit(-1)
			m := readMemory()
			h := limit - m.nonHeap - m.live
			runtime.KeepAlive(live)
			least := int64(float64(m.held) * headroomFraction)
			if tc.pointers && h < m.live*3/4 {
				t.Fatalf("headroom over a live heap of pointers = %d, want about the live heap (%d)", h, m.live)
			}
			if !tc.pointers && (h < least*3/4 || h > m.live/2) {
				t.Fatalf("headroom over a live heap without pointers = %d (live heap %d), want about 15%% of the %d bytes held", h, m.live, m.held)
			}
		})
	}
}

// TestLimitHeadroomAtLeastTheCollectorsFloor: between lists, a small
// heap gets at least the headroom the collector itself keeps over any heap
// (4 MiB at GOGC=100), not just its few scanned megabytes.
func TestLimitHeadroomAtLeastTheCollectorsFloor(t *testing.T) {
	withoutOperatorLimit(t)
	releaseListGarbage()
	limit := debug.SetMemoryLimit(-1)
	m := readMemory()
	if h := limit - m.nonHeap - m.live; h < minSteadyHeadroom {
		t.Fatalf("headroom over a live heap of %d bytes (%d scanned) = %d, want at least %d", m.live, m.scanHeap, h, minSteadyHeadroom)
	}
}

// withoutOperatorLimit runs the test as a process without GOMEMLIMIT, and
// puts the limit and the headroom back after it.
func withoutOperatorLimit(t *testing.T) {
	started := operatorLimit
	t.Cleanup(func() {
		operatorLimit = started
		headroom.Store(0)
		scanShare.Store(0)
		debug.SetMemoryLimit(started)
	})
	operatorLimit = math.MaxInt64
}
