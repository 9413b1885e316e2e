package index

// PublishPending does what RunPublisher does when a deferred change wakes
// it, for tests that must know it has run rather than sleep for it.
func PublishPending(ix *Index) int { return ix.publishPending() }

// PodArenaBytes is the size of the pod table's name arena, and how many
// dead bytes it holds at most without compaction.
func PodArenaBytes(ix *Index) (size, compactAt int) { return len(ix.pods.names), compactAfter }
