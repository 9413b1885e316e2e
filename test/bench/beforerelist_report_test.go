package bench

import (
	"strings"
	"testing"
)

// TestReportRSSBeforeRelist checks the restart's figures side by side: the
// RSS the loads left before the API server stopped over the RSS after sync,
// next to the peak over the RSS after sync (unchanged), in the
// summary and in the servers table.
func TestReportRSSBeforeRelist(t *testing.T) {
	report := reportAt10k(t, func(sv *Server) {
		sv.RestartRelisted = true
		switch sv.Name {
		case ClusterDNS:
			sv.RSSSynced, sv.RSSBeforeRelist, sv.RSSRelistPeak = 50<<20, 65<<20, 68<<20
		case Stock:
			sv.RSSSynced, sv.RSSBeforeRelist, sv.RSSRelistPeak = 100<<20, 102<<20, 115<<20
		}
	})
	for _, want := range []string{
		"Relist peak / RSS after sync, API server restart: clusterdns " + ratioText(68, 50, "MiB") +
			", coredns " + ratioText(115, 100, "MiB") + "\n",
		"RSS before the relist / RSS after sync, API server restart (after the full-speed loads): clusterdns " +
			ratioText(65, 50, "MiB") + ", coredns " + ratioText(102, 100, "MiB") + "\n",
		"| Server | Ready (s) | RSS after sync (MiB) | RSS before relist (MiB) | Relist peak (MiB) |",
		"| clusterdns | 3.75 | 50 | 65 | 68 |",
		// A size without the figure (the synthetic 1k) shows it missing.
		"| clusterdns | 3 | 40 | " + missing + " | 44 |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// reportAt10k is the synthetic run's report with edit applied to each
// server at its 10k size.
func reportAt10k(t *testing.T, edit func(*Server)) string {
	t.Helper()
	run := syntheticRun()
	size := &run.Sizes[1]
	for i := range size.Servers {
		edit(&size.Servers[i])
	}
	dir := t.TempDir()
	if err := WriteReport(dir, run); err != nil {
		t.Fatal(err)
	}
	return readReport(t, dir)
}
