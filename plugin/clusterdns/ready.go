package clusterdns

// Ready implements ready.Readiness: the plugin is ready once its source has
// synced and the index serves a snapshot.
func (cd *ClusterDNS) Ready() bool { return cd.index.Snapshot() != nil }
