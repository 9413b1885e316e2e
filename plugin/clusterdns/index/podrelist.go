package index

import "github.com/clusterdns/clusterdns/plugin/clusterdns/object"

// A pod relist goes straight into the index: the API source streams the
// pods of a relist (the API server restarted, a watch expired) as changes
// between BeginPodRelist and EndPodRelist, and the index drops at the end
// the pods the relist did not deliver. No second copy of the pods is held
// while they arrive: an informer's store would keep the old list while it
// fills the new one, which at 150k pods nearly doubled the live heap.
// Meanwhile every pod that was indexed still answers.

// BeginPodRelist starts a relist of the pods: from here to EndPodRelist,
// every pod change applied marks its pod as delivered. A second call
// starts over (a relist cut off and begun again).
func (ix *Index) BeginPodRelist() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.pods.beginRelist()
}

// EndPodRelist ends the relist BeginPodRelist started: it deletes the
// pods no change delivered since (deleted while the watch was down), and
// returns how many. Without a relist begun it does nothing. The deletions
// are published with the next deferred publish.
func (ix *Index) EndPodRelist() int {
	ix.mu.Lock()
	gone := ix.pods.endRelist()
	ix.mu.Unlock()
	if len(gone) > 0 {
		ix.ApplyDeferred(gone...)
	}
	return len(gone)
}

// beginRelist clears every pod's delivered mark; until endRelist, set
// marks each pod it is given as delivered.
func (w *podWriter) beginRelist() {
	w.relisting = true
	for i := range w.slots {
		w.slots[i].flags &^= slotDelivered
	}
}

// endRelist returns the deletions of the pods not delivered since
// beginRelist; none without a relist begun.
func (w *podWriter) endRelist() []Change {
	if !w.relisting {
		return nil
	}
	w.relisting = false
	var gone []Change
	for i := range w.slots {
		if s := &w.slots[i]; s.flags&(slotUsed|slotDelivered) == slotUsed {
			gone = append(gone, Change{Kind: object.KindPod, Namespace: w.namespaceOf(s), Name: w.nameOf(s)})
		}
	}
	return gone
}
