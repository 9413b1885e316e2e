package bench

import (
	"strings"
	"testing"
)

// TestReportForcedRelist checks the report's relist figures: the ratio of
// the 410 Gone relist's peak to the same start's RSS after sync, side by
// side for both servers, its target row, and "no relist" wherever the API
// server counted none, for the restart and for the forced relist alike.
func TestReportForcedRelist(t *testing.T) {
	report := reportAt10k(t, func(sv *Server) {
		switch sv.Name {
		case ClusterDNS:
			sv.RestartRelisted = true
			sv.ForcedRelist = &ForcedRelist{RSSSynced: 50 << 20, RSSPeak: 55 << 20, Relisted: true}
		case Stock:
			sv.ForcedRelist = &ForcedRelist{RSSSynced: 100 << 20, RSSPeak: 100 << 20}
		}
	})
	for _, want := range []string{
		"Relist peak / RSS after sync, 410 Gone (forced relist): clusterdns " + ratioText(55, 50, "MiB") + ", coredns no relist",
		// The synthetic restart peak is 44 over 40 MiB, scaled by 1.25.
		"Relist peak / RSS after sync, API server restart: clusterdns " + ratioText(55, 50, "MiB") + ", coredns no relist\n",
		"| clusterdns relist peak through 410 Gone ≤ 1.2× its RSS after sync | 10k | " + ratioText(55, 50, "MiB") + " | met |",
		"| clusterdns relist peak through 410 Gone ≤ 1.2× its RSS after sync | 1k | " + comparison{unit: "MiB"}.String() + " | not measured |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
