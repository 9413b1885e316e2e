package bench

import "fmt"

var multiclusterColumns = []column{
	{title: "Measure"}, {title: serverLabel(ClusterDNS), numeric: true}, {title: serverLabel(Stock), numeric: true}, {title: "clusterdns/stock", numeric: true},
}

// writeMulticluster writes the size's multicluster variant, if it ran: one
// table, each figure of clusterdns beside stock's and their ratio.
func writeMulticluster(md *markdown, size Size) {
	mc := size.Multicluster
	if mc == nil {
		return
	}
	md.heading(3, "Multicluster ("+clustersetZone+")")
	md.paragraph(fmt.Sprintf("%s ServiceImports (%s headless, the rest with a ClusterSetIP) from %d member clusters: "+
		"%s multi-cluster EndpointSlices with %s endpoints, written as an MCS controller writes them in %s, "+
		"on top of this size's objects. Both servers run the bench Corefile with `multicluster %s`. "+
		"The clusterset mix, uncached, out of 20 queries: 7 A of a ClusterSetIP import, 3 SRV of one, "+
		"4 A of a headless import, 3 A of an endpoint's `<host>.<clusterid>.<svc>` name, 3 NXDOMAIN. "+
		"Programming: new ClusterSetIP imports, and new member clusters' slices of headless imports asked by "+
		"their `<host>.<clusterid>.<svc>` name, each from the write's return to the first right answer.",
		groupThousands(int64(mc.Imports)), groupThousands(int64(mc.Headless)), mc.Clusters,
		groupThousands(int64(mc.Slices)), groupThousands(int64(mc.Endpoints)), duration(mc.LoadTime), clustersetZone))
	ours, stock := multiclusterServer(mc, ClusterDNS), multiclusterServer(mc, Stock)
	row := func(measure string, of func(MulticlusterServer) float64) []string {
		c := comparison{of: of(ours), to: of(stock)}
		ratio := missing
		if r, ok := c.ratio(); ok {
			ratio = figure(r) + "×"
		}
		return []string{measure, figure(c.of), figure(c.to), ratio}
	}
	// withoutMC is the server's RSS at this size with multicluster off.
	withoutMC := func(name string) uint64 {
		if s := serverAt(size, name); s != nil {
			return s.RSSSynced
		}
		return 0
	}
	rssAdded := func(s MulticlusterServer) float64 {
		base := withoutMC(s.Name)
		if base == 0 || s.RSSSynced == 0 {
			return 0
		}
		return mebibytes(s.RSSSynced) - mebibytes(base)
	}
	md.table(multiclusterColumns, [][]string{
		row("QPS, clusterset mix", func(s MulticlusterServer) float64 { return s.Load.QPS }),
		row("CPU per query (µs)", func(s MulticlusterServer) float64 { return micros(s.Load.CPUPerQuery) }),
		{"Answers", rcodeSummary(ours.Load.Rcodes), rcodeSummary(stock.Load.Rcodes), ""},
		row("RSS after sync (MiB)", func(s MulticlusterServer) float64 { return mebibytes(s.RSSSynced) }),
		row("RSS over the same server without multicluster (MiB)", rssAdded),
		row("Ready (s)", func(s MulticlusterServer) float64 { return s.Ready.Seconds() }),
		row("Programming, new import p50 (ms)", func(s MulticlusterServer) float64 { return programmingPercentile(s.ProgrammingImport, 0.50) }),
		row("Programming, new import max (ms)", func(s MulticlusterServer) float64 { return programmingPercentile(s.ProgrammingImport, 1) }),
		row("Programming, new slice p50 (ms)", func(s MulticlusterServer) float64 { return programmingPercentile(s.ProgrammingSlice, 0.50) }),
		row("Programming, new slice max (ms)", func(s MulticlusterServer) float64 { return programmingPercentile(s.ProgrammingSlice, 1) }),
	})
}

// multiclusterServer is the named server's figures, zero when it was not
// measured: its cells show as missing.
func multiclusterServer(mc *Multicluster, name string) MulticlusterServer {
	for _, s := range mc.Servers {
		if s.Name == name {
			return s
		}
	}
	return MulticlusterServer{Name: name}
}
