package bench

import "time"

// ForcedRelist is a relist through 410 Gone with the API server up: every
// watch expires (cluster.ExpireWatches: etcd compacted under the API
// server, whose watch cache starts over), and the server's informers,
// resuming at a resource version the API server no longer serves, list
// everything again. It runs in a fresh start of the server, so that its
// RSS after sync is its own and the restart's relist left nothing behind.
type ForcedRelist struct {
	// RSSSynced is the RSS once Ready and settled; RSSPeak the highest
	// sampled from the expiry until relistWatch after the relist was seen.
	RSSSynced, RSSPeak uint64
	// Relisted says whether the API server sent the server the whole
	// cluster again; a peak without it measured no relist.
	Relisted bool
	// Took is the time from the expiry until the relist was seen.
	Took time.Duration
}

// clusterDNSMeasure measures a target on clusterdns's own figures.
func clusterDNSMeasure(compare func(Server) comparison) func(Size) measure {
	return ratioMeasure(func(size Size) comparison {
		server := serverAt(size, ClusterDNS)
		if server == nil {
			return comparison{unit: "MiB"}
		}
		return compare(*server)
	})
}

// forcedRelistVsSynced compares the forced relist's peak with the RSS
// after sync of the same start; both missing when no relist was seen.
func forcedRelistVsSynced(server Server) comparison {
	f := server.ForcedRelist
	if f == nil || !f.Relisted {
		return comparison{unit: "MiB"}
	}
	return comparison{of: mebibytes(f.RSSPeak), to: mebibytes(f.RSSSynced), unit: "MiB"}
}

// relistSummaries are the summary's relist figures for each server at
// size: through the restart and through 410 Gone, "no relist" where the
// API server counted none.
func relistSummaries(size Size) (restart, forced []string) {
	for _, server := range servers(size) {
		r := relistVsSynced(server).String()
		if server.ForcedRelist != nil && !server.RestartRelisted {
			r = "no relist"
		}
		restart = append(restart, server.Name+" "+r)
		switch f := server.ForcedRelist; {
		case f == nil:
		case !f.Relisted:
			forced = append(forced, server.Name+" no relist")
		default:
			forced = append(forced, server.Name+" "+forcedRelistVsSynced(server).String())
		}
	}
	return restart, forced
}
