package index

import (
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// The pods of `pods verified` (and of the visibility option) are the
// biggest table of a big cluster: 150k of them against 10k services. The
// query path asks which namespace and name hold an address; the writer
// finds a pod's addresses by its namespace and name. Both are kept in
// flat arrays of numbers, which the collector does not scan, rather than a
// map of *object.Pod and per-address slices of name strings: about 100
// bytes of live heap a pod instead of 390 (TestPodBytes), and the
// collector keeps about as much again as headroom.
//
// Names live in one arena, a byte slice that only ever grows by
// appending: a byte once written is never written again. A published
// table reads its names as strings pointing into the arena, without a
// copy or a lock, and a string handed out stays valid for as long as it is
// held. A namespace's name is in it once, shared by its pods. Once more of
// the arena is dead (the names of deleted pods) than live, compaction
// copies the live names into a new arena, and every shard of the next
// table with them: a cost of the table's size, once per as many deletions.

// podTable is the published side: one immutable version of which pods
// hold which addresses, a view's. Each address family is cut into shards
// by address, as the other maps of a view are (shards.go), so a batch
// copies only the shards it touches. A shard is a sorted array of
// addresses beside an array of the pods at them. Several pods may hold one
// address (hostNetwork pods, at their node's): they are adjacent, in the
// order they were indexed.
type podTable struct {
	v4 [shardCount]podShard[addr4]
	v6 [shardCount]podShard[addr6]
	// names is the arena as it was when the table was published: every
	// podName of the table points below its length.
	names []byte
}

type podShard[A comparable] struct {
	addrs []A       // ascending
	pods  []podName // pods[i] holds addrs[i]
}

// podName locates a pod's namespace and name in the arena. It also tells
// a pod apart from the others at its address: no two pods share a name's
// bytes.
type podName struct {
	namespace, name       uint32 // offsets
	namespaceLen, nameLen uint16
}

// addr4 and addr6 are addresses as the pod table keys them: numbers in
// network order, without netip.Addr's pointer (which would make the
// collector scan every shard), and an IPv4 address in 4 bytes.
type (
	addr4 uint32
	addr6 struct{ hi, lo uint64 }
)

func key4(a netip.Addr) addr4 {
	b := a.As4()
	return addr4(binary.BigEndian.Uint32(b[:]))
}

func key6(a netip.Addr) addr6 {
	b := a.As16()
	return addr6{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// shard picks an address's shard from its last two bytes, which vary most
// between the addresses of a cluster, from the key already made: an As16
// of every address doubled BenchmarkPodAt (24 → 47 ns).
func (a addr4) shard() uint8 { return uint8(a) ^ uint8(a>>8) }
func (a addr6) shard() uint8 { return uint8(a.lo) ^ uint8(a.lo>>8) }

// search4 and search6 find the first address of a shard not below a.
func search4(addrs []addr4, a addr4) int {
	i, _ := slices.BinarySearch(addrs, a)
	return i
}

func search6(addrs []addr6, a addr6) int {
	i, _ := slices.BinarySearchFunc(addrs, a, func(x, y addr6) int {
		if c := cmp.Compare(x.hi, y.hi); c != 0 {
			return c
		}
		return cmp.Compare(x.lo, y.lo)
	})
	return i
}

// span returns where the pods at a are in the shard: [i, j).
func (s *podShard[A]) span(a A, search func([]A, A) int) (i, j int) {
	i = search(s.addrs, a)
	j = i
	for j < len(s.addrs) && s.addrs[j] == a {
		j++
	}
	return i, j
}

// at returns the pods at addr, in the order they were indexed. The slice
// must not be modified.
func (t *podTable) at(addr netip.Addr) []podName {
	switch {
	case addr.Is4():
		a := key4(addr)
		s := &t.v4[a.shard()]
		i, j := s.span(a, search4)
		return s.pods[i:j]
	case addr.Is6():
		a := key6(addr)
		s := &t.v6[a.shard()]
		i, j := s.span(a, search6)
		return s.pods[i:j]
	}
	return nil
}

func (t *podTable) namespace(p podName) string {
	return arenaString(t.names, p.namespace, p.namespaceLen)
}

func (t *podTable) name(p podName) string { return arenaString(t.names, p.name, p.nameLen) }

// arenaString is the string of n bytes at off in an arena, without a
// copy: the bytes are never written again.
func arenaString(arena []byte, off uint32, n uint16) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&arena[off], n)
}

// sameContents tells whether t and o hold the same pods at the same
// addresses, in the same order.
func (t *podTable) sameContents(o *podTable) bool {
	return samePodShards(t, o, &t.v4, &o.v4) && samePodShards(t, o, &t.v6, &o.v6)
}

func samePodShards[A comparable](t, o *podTable, a, b *[shardCount]podShard[A]) bool {
	for i := range a {
		if !slices.Equal(a[i].addrs, b[i].addrs) {
			return false
		}
		for k, p := range a[i].pods {
			q := b[i].pods[k]
			if t.namespace(p) != o.namespace(q) || t.name(p) != o.name(q) {
				return false
			}
		}
	}
	return true
}

// podWriter is the writer's side: every pod, found by namespace and name,
// and the next version of the published table, built copy-on-write.
type podWriter struct {
	next       *podTable
	tableOwned bool
	owned4     [shardCount]bool
	owned6     [shardCount]bool

	names []byte // the arena
	dead  int    // bytes of names no pod or namespace holds any more

	slots []podSlot
	free  []uint32 // slots to reuse
	// byName finds a pod's slot: an open-addressed table (linear probing)
	// of slot numbers plus one, 0 where empty, hashed by namespace and
	// name and compared by the names in the arena. No key is stored per
	// pod, as a map keyed by "namespace/name" would.
	byName []uint32
	seed   maphash.Seed

	// namespaces are the namespaces with pods, by name. A pointer is
	// kept, not a value: assigning a value would replace the key with the
	// caller's string (maps do so for strings), keeping a source's object
	// alive.
	namespaces map[string]*podNamespace
	// more holds the addresses after the first of the pods that have
	// several (dual-stack), by slot.
	more map[uint32][]netip.Addr
	// relisting is set from BeginPodRelist to EndPodRelist (podrelist.go).
	relisting bool
}

// podSlot is the writer's record of a pod.
type podSlot struct {
	addr  [16]byte // the first address (As16), when slotHasAddr
	rv    uint64   // the resourceVersion, when a decimal number (as etcd's are); else 0
	name  podName
	flags slotFlags
}

type slotFlags uint8

const (
	slotUsed slotFlags = 1 << iota
	slotHasAddr
	slotIs4 // the first address is an IPv4 one, not IPv4-mapped IPv6
	// slotDelivered: a relist delivered the pod since BeginPodRelist.
	slotDelivered
)

type podNamespace struct {
	name string // the map's key, of its own; in the arena at off
	off  uint32
	pods int
}

// maxPodName is the longest name or namespace the table keeps (podName's
// lengths), far above the 253 bytes the API server allows and the file
// source checks: no source gives a longer one, which would not be indexed.
const maxPodName = 1<<16 - 1

// compactAfter is how many dead bytes the arena holds at least before it
// is compacted: below, a copy would cost more than it frees.
const compactAfter = 64 << 10

func newPodWriter() *podWriter {
	return &podWriter{
		next:       &podTable{},
		seed:       maphash.MakeSeed(),
		namespaces: make(map[string]*podNamespace),
		more:       make(map[uint32][]netip.Addr),
	}
}

// applyPod applies a pod change and tells whether it changed the index: a
// pod applied as it is indexed already changes nothing.
func (ix *Index) applyPod(c Change) bool {
	if !ix.opts.Pods {
		return false
	}
	pod, _ := c.Object.(*object.Pod)
	return ix.pods.set(c.Namespace, c.Name, pod)
}

// set makes pod (nil: none) the pod namespace/name, and tells whether
// that changed the table. A pod whose addresses did not change keeps its
// resourceVersion: explain shows when DNS last saw it change.
func (w *podWriter) set(namespace, name string, pod *object.Pod) bool {
	if len(namespace) > maxPodName || len(name) > maxPodName {
		pod = nil
	}
	pos, i, found := w.find(namespace, name)
	switch {
	case !found && pod == nil:
		return false
	case !found:
		w.add(pos, namespace, name, pod)
		return true
	case pod == nil:
		w.remove(pos, i)
		return true
	}
	if w.relisting {
		w.slots[i].flags |= slotDelivered
	}
	if w.sameAddrs(i, pod.IPs) {
		return false
	}
	w.indexAddrs(i, false)
	w.storeAddrs(i, pod.IPs)
	w.indexAddrs(i, true)
	w.slots[i].rv = resourceVersion(pod.ResourceVersion)
	return true
}

func (w *podWriter) add(pos int, namespace, name string, pod *object.Pod) {
	ns := w.namespaces[namespace]
	if ns == nil {
		ns = &podNamespace{name: strings.Clone(namespace), off: w.appendName(namespace)}
		w.namespaces[ns.name] = ns
	}
	ns.pods++
	var i uint32
	if n := len(w.free); n > 0 {
		i, w.free = w.free[n-1], w.free[:n-1]
	} else {
		i = uint32(len(w.slots))
		w.slots = append(w.slots, podSlot{})
	}
	flags := slotUsed
	if w.relisting {
		flags |= slotDelivered
	}
	w.slots[i] = podSlot{
		rv:    resourceVersion(pod.ResourceVersion),
		name:  podName{namespace: ns.off, namespaceLen: uint16(len(ns.name)), name: w.appendName(name), nameLen: uint16(len(name))},
		flags: flags,
	}
	w.storeAddrs(i, pod.IPs)
	w.indexAddrs(i, true)
	w.insertAt(pos, i)
}

func (w *podWriter) remove(pos int, i uint32) {
	w.indexAddrs(i, false)
	w.deleteAt(pos)
	s := &w.slots[i]
	namespace := w.namespaceOf(s)
	ns := w.namespaces[namespace]
	if ns.pods--; ns.pods == 0 {
		delete(w.namespaces, namespace)
		w.dead += len(ns.name)
	}
	w.dead += int(s.name.nameLen)
	delete(w.more, i)
	*s = podSlot{}
	w.free = append(w.free, i)
}

// appendName appends s to the arena and returns its offset; the empty
// string is at 0, holding no bytes.
func (w *podWriter) appendName(s string) uint32 {
	if s == "" {
		return 0
	}
	off := uint32(len(w.names))
	w.names = append(w.names, s...)
	return off
}

func (w *podWriter) namespaceOf(s *podSlot) string {
	return arenaString(w.names, s.name.namespace, s.name.namespaceLen)
}

func (w *podWriter) nameOf(s *podSlot) string {
	return arenaString(w.names, s.name.name, s.name.nameLen)
}

// resourceVersion keeps a resourceVersion as a number when it is a
// decimal one that formats back the same; 0 (none) otherwise. etcd-backed
// API servers give decimal ones; another kind is lost to explain.
func resourceVersion(rv string) uint64 {
	if rv == "" || rv[0] == '0' {
		return 0
	}
	n, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func (w *podWriter) storeAddrs(i uint32, ips []netip.Addr) {
	s := &w.slots[i]
	s.addr, s.flags = [16]byte{}, s.flags&^(slotHasAddr|slotIs4)
	delete(w.more, i)
	if len(ips) == 0 {
		return
	}
	s.addr, s.flags = ips[0].As16(), s.flags|slotHasAddr
	if ips[0].Is4() {
		s.flags |= slotIs4
	}
	if len(ips) > 1 {
		w.more[i] = slices.Clone(ips[1:])
	}
}

func (w *podWriter) firstAddr(s *podSlot) netip.Addr {
	a := netip.AddrFrom16(s.addr)
	if s.flags&slotIs4 != 0 {
		a = a.Unmap()
	}
	return a
}

func (w *podWriter) sameAddrs(i uint32, ips []netip.Addr) bool {
	s := &w.slots[i]
	if s.flags&slotHasAddr == 0 || len(ips) == 0 {
		return s.flags&slotHasAddr == 0 && len(ips) == 0
	}
	return w.firstAddr(s) == ips[0] && slices.Equal(w.more[i], ips[1:])
}

// addrs returns the addresses of the pod in slot i. The slice is the
// caller's.
func (w *podWriter) addrs(i uint32) []netip.Addr {
	s := &w.slots[i]
	if s.flags&slotHasAddr == 0 {
		return nil
	}
	return append([]netip.Addr{w.firstAddr(s)}, w.more[i]...)
}

// indexAddrs adds the pod in slot i at each of its addresses in the next
// table, or with add false removes it.
func (w *podWriter) indexAddrs(i uint32, add bool) {
	s := &w.slots[i]
	if s.flags&slotHasAddr == 0 {
		return
	}
	w.indexAddr(w.firstAddr(s), s.name, add)
	for _, a := range w.more[i] {
		w.indexAddr(a, s.name, add)
	}
}

func (w *podWriter) indexAddr(addr netip.Addr, p podName, add bool) {
	switch {
	case addr.Is4():
		a := key4(addr)
		w.ownShard4(a.shard()).set(a, p, add, search4)
	case addr.Is6():
		a := key6(addr)
		w.ownShard6(a.shard()).set(a, p, add, search6)
	}
}

// set adds p at a, after the pods already there, or with add false
// removes it.
func (s *podShard[A]) set(a A, p podName, add bool, search func([]A, A) int) {
	i, j := s.span(a, search)
	if add {
		s.addrs = slices.Insert(s.addrs, j, a)
		s.pods = slices.Insert(s.pods, j, p)
		return
	}
	if k := slices.Index(s.pods[i:j], p); k >= 0 {
		s.addrs = slices.Delete(s.addrs, i+k, i+k+1)
		s.pods = slices.Delete(s.pods, i+k, i+k+1)
	}
}

// ownTable makes the next table the writer's own: copied once per batch
// from the one published last.
func (w *podWriter) ownTable() {
	if !w.tableOwned {
		next := *w.next
		w.next, w.tableOwned = &next, true
	}
}

func (w *podWriter) ownShard4(i uint8) *podShard[addr4] {
	w.ownTable()
	return ownShard(&w.next.v4[i], &w.owned4[i])
}

func (w *podWriter) ownShard6(i uint8) *podShard[addr6] {
	w.ownTable()
	return ownShard(&w.next.v6[i], &w.owned6[i])
}

func ownShard[A comparable](s *podShard[A], owned *bool) *podShard[A] {
	if !*owned {
		s.addrs, s.pods = slices.Clone(s.addrs), slices.Clone(s.pods)
		*owned = true
	}
	return s
}

// publish returns the table built so far and starts a new batch: from
// here on it belongs to readers and is copied before the next write.
func (w *podWriter) publish() *podTable {
	if w.dead >= compactAfter && w.dead*2 > len(w.names) {
		w.compact()
	}
	if w.tableOwned {
		w.next.names = w.names
		trimShards(&w.next.v4, &w.owned4)
		trimShards(&w.next.v6, &w.owned6)
	}
	w.tableOwned = false
	w.owned4, w.owned6 = [shardCount]bool{}, [shardCount]bool{}
	return w.next
}

// trimShards gives the shards the batch grew by appending no more than
// the spare capacity of a copy: a published shard is not written again.
func trimShards[A comparable](shards *[shardCount]podShard[A], owned *[shardCount]bool) {
	for i := range shards {
		if owned[i] {
			shards[i].addrs, shards[i].pods = trimmed(shards[i].addrs), trimmed(shards[i].pods)
		}
	}
}

func trimmed[E any](s []E) []E {
	switch {
	case len(s) == 0:
		return nil
	case cap(s)-len(s) > len(s)/8+8:
		return slices.Clone(s)
	}
	return s
}

// compact moves the live names into a new arena. The old one stays as it
// is for the views and strings that point into it.
func (w *podWriter) compact() {
	names := make([]byte, 0, len(w.names)-w.dead)
	moved := make(map[uint32]uint32, len(w.namespaces)+w.len())
	move := func(off uint32, n uint16) uint32 {
		if n == 0 {
			return 0
		}
		to := uint32(len(names))
		names = append(names, w.names[off:off+uint32(n)]...)
		moved[off] = to
		return to
	}
	for _, ns := range w.namespaces {
		ns.off = move(ns.off, uint16(len(ns.name)))
	}
	movedTo := func(off uint32, n uint16) uint32 {
		if n == 0 {
			return 0
		}
		return moved[off]
	}
	rename := func(p *podName) {
		p.namespace, p.name = movedTo(p.namespace, p.namespaceLen), movedTo(p.name, p.nameLen)
	}
	for i := range w.slots {
		if s := &w.slots[i]; s.flags&slotUsed != 0 {
			s.name.name = move(s.name.name, s.name.nameLen)
			s.name.namespace = movedTo(s.name.namespace, s.name.namespaceLen)
		}
	}
	for i := range shardCount {
		if len(w.next.v4[i].pods) > 0 {
			renameAll(w.ownShard4(uint8(i)).pods, rename)
		}
		if len(w.next.v6[i].pods) > 0 {
			renameAll(w.ownShard6(uint8(i)).pods, rename)
		}
	}
	w.names, w.dead = names, 0
}

func renameAll(pods []podName, rename func(*podName)) {
	for k := range pods {
		rename(&pods[k])
	}
}

// find looks a pod up by namespace and name: its slot, if found, and its
// position in byName (where to insert it, if not).
func (w *podWriter) find(namespace, name string) (pos int, slot uint32, found bool) {
	if len(w.byName) == 0 {
		w.byName = make([]uint32, 64)
	}
	mask := len(w.byName) - 1
	for pos = int(w.hash(namespace, name)) & mask; ; pos = (pos + 1) & mask {
		e := w.byName[pos]
		if e == 0 {
			return pos, 0, false
		}
		if s := &w.slots[e-1]; w.nameOf(s) == name && w.namespaceOf(s) == namespace {
			return pos, e - 1, true
		}
	}
}

func (w *podWriter) hash(namespace, name string) uint64 {
	var h maphash.Hash
	h.SetSeed(w.seed)
	h.WriteString(namespace)
	h.WriteByte('/')
	h.WriteString(name)
	return h.Sum64()
}

func (w *podWriter) home(slot uint32) int {
	s := &w.slots[slot]
	return int(w.hash(w.namespaceOf(s), w.nameOf(s))) & (len(w.byName) - 1)
}

// insertAt puts slot at pos, the empty place find returned, and grows
// byName at three quarters full, which keeps probes short.
func (w *podWriter) insertAt(pos int, slot uint32) {
	w.byName[pos] = slot + 1
	if w.len()*4 < len(w.byName)*3 {
		return
	}
	old := w.byName
	w.byName = make([]uint32, 2*len(old))
	mask := len(w.byName) - 1
	for _, e := range old {
		if e == 0 {
			continue
		}
		p := w.home(e - 1)
		for w.byName[p] != 0 {
			p = (p + 1) & mask
		}
		w.byName[p] = e
	}
}

// deleteAt empties pos, moving back the entries after it that probing
// would no longer reach (backward-shift deletion: no tombstones).
func (w *podWriter) deleteAt(pos int) {
	mask := len(w.byName) - 1
	for j := (pos + 1) & mask; w.byName[j] != 0; j = (j + 1) & mask {
		// The entry at j may fill the hole at pos if its home is not
		// between the hole and j, cyclically.
		if home := w.home(w.byName[j] - 1); (j-home)&mask >= (j-pos)&mask {
			w.byName[pos] = w.byName[j]
			pos = j
		}
	}
	w.byName[pos] = 0
}

// len is how many pods there are: the slots not free.
func (w *podWriter) len() int { return len(w.slots) - len(w.free) }

// pod returns the pod in slot i as an object, with strings of its own
// (not pointing into the arena, which they would keep alive).
func (w *podWriter) pod(i uint32) *object.Pod {
	s := &w.slots[i]
	pod := &object.Pod{
		Meta: object.Meta{Name: strings.Clone(w.nameOf(s)), Namespace: w.namespaces[w.namespaceOf(s)].name},
		IPs:  w.addrs(i),
	}
	if s.rv != 0 {
		pod.ResourceVersion = strconv.FormatUint(s.rv, 10)
	}
	return pod
}

// get returns the pod namespace/name as an object, or nil.
func (w *podWriter) get(namespace, name string) *object.Pod {
	if _, i, ok := w.find(namespace, name); ok {
		return w.pod(i)
	}
	return nil
}

// copy returns a copy of what pod and all read, for reading without the
// writer's lock: the slots are copied; the arena, the namespaces' names
// and the slices of more addresses are never written once set.
func (w *podWriter) copy() *podWriter {
	return &podWriter{slots: slices.Clone(w.slots), names: w.names,
		namespaces: maps.Clone(w.namespaces), more: maps.Clone(w.more)}
}

// all yields every pod, as an addition, until yield returns false.
func (w *podWriter) all(yield func(Change) bool) {
	for i := range w.slots {
		if w.slots[i].flags&slotUsed != 0 {
			pod := w.pod(uint32(i))
			if !yield(Change{Kind: object.KindPod, Namespace: pod.Namespace, Name: pod.Name, Object: pod}) {
				return
			}
		}
	}
}
