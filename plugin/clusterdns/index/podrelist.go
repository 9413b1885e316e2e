package index

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
	defer ix.mu.Unlock()
	gone := ix.pods.endRelist()
	if gone > 0 {
		ix.deferPublish(gone, gone, nil)
	}
	return gone
}

// beginRelist clears every pod's delivered mark; until endRelist, set
// marks each pod it is given as delivered.
func (w *podWriter) beginRelist() {
	w.relisting = true
	for i := range w.slots {
		w.slots[i].flags &^= slotDelivered
	}
}

// endRelist deletes the pods not delivered since beginRelist and returns
// how many; none without a relist begun. It walks byName, not the slots:
// a pod's place there is what remove needs, found without a lookup. A
// removal moves later entries back into the place (deleteAt), so the
// place is looked at again; an entry moved from the table's start, past
// its end, was looked at already, and kept.
func (w *podWriter) endRelist() int {
	if !w.relisting {
		return 0
	}
	w.relisting = false
	gone := 0
	for pos := 0; pos < len(w.byName); {
		e := w.byName[pos]
		if e == 0 || w.slots[e-1].flags&slotDelivered != 0 {
			pos++
			continue
		}
		w.remove(pos, e-1)
		gone++
	}
	return gone
}
