package api

import (
	"context"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// The Go collector lets the heap grow to twice what is live before it
// collects (GOGC=100). For a DNS server whose live heap is its index that
// is the whole bill of a relist: the list's garbage, and the queries'
// between collections, piled up to 2× the index before they were
// collected (relist peak 1.42× RSS after sync at 10k Services, 2.73× at
// 150k pods). A pod sized for that peak pays for it all the time. So once
// synced, the source sets a soft memory limit a headroom above what is
// live, and moves it as the live heap moves: the collector then works
// harder only as the heap nears it. Between relists the headroom is the
// largest of 15% of what the runtime held after the sync, the heap the
// collector scans (see limitMemory) and the collector's own 4 MiB floor:
// at 15% alone the collector ran so often under query load that a query
// cost twice the CPU at 1k Services.
// While an informer or the pod watch lists (a streaming list:
// relisttransport.go; a LIST: Source.list) it is the 15% alone: a relist is
// seconds of garbage, not a query load, and the collector may run often
// for that long. An operator's GOMEMLIMIT stays the upper bound. The
// limit is soft: a live heap above it (mid-relist, before the next
// adjustment) makes the collector run more, bounded by the runtime to
// half the CPU, never fail.
//
// What the steady headroom costs in RSS shows in the bench's restart
// relist, which follows two full-speed query loads: at 10k Services the
// RSS just before the API server stopped was already the whole peak (44.7
// MiB before and at the peak, over 39 MiB after sync: 1.15×; report
// 2026-12-07T0023Z). The relist adds nothing on top: the limit tightens
// as it starts and the runtime gives memory back. The 1.15× is the
// queries' garbage at the steady headroom, which is the heap the collector
// scans: fewer bytes with pointers per object lower it (1.3× while a
// Service held 1,671 scanned bytes, 1.21× at 868, 1.15× at about 480:
// TestServiceBytes), a smaller steady headroom would too, at the price in
// query CPU above. The 410 relist, from a fresh start without a load, is
// 1.11×.

// headroomFraction is the headroom over the memory the runtime held after
// the sync's garbage was released, as a fraction of it; between relists
// limitMemory makes it at least the heap the collector scans.
const headroomFraction = 0.15

// limitEvery is how often the limit follows the live heap: growth that
// arrives without a burst of changes (the cache plugin filling) must not
// leave the collector running against a stale limit for long.
const limitEvery = 2 * time.Second

// operatorLimit is the memory limit the process started with: GOMEMLIMIT,
// or none (math.MaxInt64).
var operatorLimit = debug.SetMemoryLimit(-1)

// headroom is the headroom in bytes, 0 until the first sync: the initial
// lists run at the collector's default pace, which keeps Ready fast.
var headroom atomic.Int64

// releaseListGarbage returns the lists' garbage to the OS and sets the
// headroom from what is left. The informers' lists decode every object
// whole (an object is kilobytes, its slim form tens of bytes; the pod
// watch reads a pod's protobuf without decoding it whole, podproto.go,
// but a pod in JSON or in a LIST page is decoded whole), so right after
// the sync most of the heap is garbage; an idle DNS server allocates too little to
// trigger the collection that would free it, and would hold it for
// minutes, up to the runtime's forced collection and the scavenger after
// it. One collection now costs milliseconds and gives the memory back
// while the operator is looking. The same holds after a relist (the API
// server restarted, a watch expired), which the publisher reports as a
// burst of changes.
func releaseListGarbage() {
	debug.FreeOSMemory()
	m := readMemory()
	headroom.Store(int64(float64(m.held) * headroomFraction))
	if m.live > 0 {
		// Right after a collection the scannable heap is the live heap's.
		scanShare.Store(min(m.scanHeap, m.live) * scanShareOne / m.live)
	}
	limitMemory()
}

// scanShare is the share of the live heap the collector scans (holds
// pointers), in 1/scanShareOne, as the release's collection found it. It
// changes only as the index's shape does.
var scanShare atomic.Int64

const scanShareOne = 1 << 10

// limitMemory sets the memory limit to what the runtime holds besides the
// heap's objects and free pages (stacks, metadata, the spans' unused
// ends), plus the live heap and the headroom, within the operator's limit.
func limitMemory() {
	// Callers race (the lists' transports, the publisher, the ticker): a
	// limit computed before a list started must not be set after the
	// tight one, and stay up to limitEvery.
	limitMu.Lock()
	defer limitMu.Unlock()
	h := headroom.Load()
	if h == 0 {
		return
	}
	m := readMemory()
	if lists.Load() == 0 {
		// At least what the collector scans: the live heap's part that
		// holds pointers, the stacks and the globals. A headroom of a few
		// megabytes over a small heap had the collector run several times
		// as often as by default under full query load, and cost more CPU
		// per query than the whole resolver (soak at 1k Services: 77 µs
		// per query against 35 µs; with half the live heap, make bench at
		// 1k still measured 1.56× the whoami ceiling against 1.06× before
		// the limit). A cycle's cost is its scan work, and pointer-free
		// bytes (names, addresses) cost it next to nothing, so a headroom
		// of the scanned bytes gives the queries' garbage as many bytes
		// per unit of scan work as GOGC=100 over a heap of pointers alone:
		// a heap with many strings runs the collector more often, each
		// cycle as cheap as its pointers make it, and holds less. Over a
		// heap of pointers alone it is the whole live heap, GOGC=100's own
		// pace. The pods' table and the reverse index hold no pointers,
		// and a Service about 70% of its bytes (TestServiceBytes: about
		// 480 of 679 at the bench's 10k size): the collector runs a little more
		// often than by default, each cycle scanning only what it must.
		h = max(h, m.live*scanShare.Load()/scanShareOne+m.scanRoots, minSteadyHeadroom)
	}
	debug.SetMemoryLimit(min(m.nonHeap+m.live+h, operatorLimit))
}

// minSteadyHeadroom is the least headroom between lists: the collector's
// own floor, which at GOGC=100 never aims at a heap below 4 MiB (the
// runtime's heapMinimum), so that a small index does not have it run more
// often than it would over any heap. Without it, the 1k Services' headroom
// fell to about 2 MiB once a Service held fewer bytes with pointers, and
// query CPU rose from 0.92–0.96× the whoami ceiling to 1.13–1.22× at 1k
// (make bench 2026-12-06T1955Z and T1914Z, then T2121Z and T2225Z). Above
// a few thousand Services the scanned heap is larger, and this changes
// nothing.
const minSteadyHeadroom = 4 << 20

// limitMu serializes limitMemory's read of the lists and the heap with
// its setting of the limit.
var limitMu sync.Mutex

// lists counts the lists in flight, the informers' and the pod watch's:
// streaming lists (relisttransport.go) and LISTs (Source.list).
var lists atomic.Int32

// listing adds delta to the lists in flight; the limit tightens as the
// first starts and relaxes as the last ends.
func listing(delta int32) {
	n := lists.Add(delta)
	if (delta > 0 && n == 1) || (delta < 0 && n == 0) {
		limitMemory()
	}
}

// followLiveHeap calls limitMemory every limitEvery until ctx ends.
func followLiveHeap(ctx context.Context) {
	t := time.NewTicker(limitEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			limitMemory()
		}
	}
}

// memory is what the runtime holds, in bytes, in the terms of its memory
// limit (which counts everything the runtime maps but released pages).
type memory struct {
	held    int64 // all the limit counts
	live    int64 // the heap the last collection found live
	nonHeap int64 // stacks, metadata, profiling buckets, spans' unused ends
	// scanHeap is the heap the collector scans: the live heap's part that
	// holds pointers, plus what was allocated with pointers since the last
	// collection. scanRoots is the stacks and globals it scans too.
	scanHeap, scanRoots int64
}

var memorySamples = []metrics.Sample{
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/gc/heap/live:bytes"},
	{Name: "/gc/scan/heap:bytes"},
	{Name: "/gc/scan/stack:bytes"},
	{Name: "/gc/scan/globals:bytes"},
}

func readMemory() memory {
	s := make([]metrics.Sample, len(memorySamples))
	copy(s, memorySamples)
	metrics.Read(s)
	v := func(i int) int64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(min(s[i].Value.Uint64(), math.MaxInt64))
	}
	total, released, objects, free, live := v(0), v(1), v(2), v(3), v(4)
	return memory{
		held: total - released, live: live, nonHeap: total - released - objects - free,
		scanHeap: v(5), scanRoots: v(6) + v(7),
	}
}
