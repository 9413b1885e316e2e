package index

// PublishPending does what RunPublisher does when a deferred change wakes
// it, for tests that must know it has run rather than sleep for it.
func PublishPending(ix *Index) int { return ix.publishPending() }
