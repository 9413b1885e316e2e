package bench

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReportFile is the name of the Markdown report WriteReport writes.
const ReportFile = "report.md"

// Sizes the targets are stated for.
const (
	sizeTenK  = "10k"
	sizeScale = "scale"
)

// missing stands for a figure that was not measured: every zero is shown as
// this, since no measured QPS, RSS or latency is zero.
const missing = "–"

// WriteReport writes ReportFile and its PNG charts into dir, creating dir.
//
// It accepts a partial Run, because the benchmark writes the report after
// each size so that a later failure keeps what was measured: figures that
// are missing show as "–" and charts without data are left out. A chart
// that fails to draw is left out too; its error is returned, joined with
// any other, after ReportFile is written.
func WriteReport(dir string, run *Run) error {
	if run == nil {
		return errors.New("bench: no run to report")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	charts := drawCharts(dir, run)
	var md markdown
	writeReport(&md, run, charts)
	err := os.WriteFile(filepath.Join(dir, ReportFile), []byte(md.String()), 0o644)
	return errors.Join(append(charts.errs, err)...)
}

func writeReport(md *markdown, run *Run, charts *chartSet) {
	started := "date unknown"
	if !run.Started.IsZero() {
		started = run.Started.UTC().Format("2006-01-02 15:04") + " UTC"
	}
	md.heading(1, "clusterdns vs stock CoreDNS — "+started)
	writeSummary(md, run)
	writeTargets(md, run)
	writeCharts(md, charts)
	for _, size := range run.Sizes {
		writeSize(md, size, charts)
	}
	writeMachine(md, run.Machine)
	writeVersions(md, run.Versions)

	md.heading(2, "Commands")
	if len(run.Commands) == 0 {
		md.paragraph("None recorded.")
	} else {
		md.code(run.Commands)
	}
	md.heading(2, "Notes")
	if len(run.Notes) == 0 {
		md.paragraph("None.")
	} else {
		md.bullets(run.Notes)
	}
	md.heading(2, "Run time")
	md.paragraph(duration(run.Duration))
}

// headlineSizes are the sizes the summary quotes: the largest ordinary
// size, and the scale size when it ran, since the targets for it differ.
func headlineSizes(run *Run) []Size {
	var largest, scale *Size
	for i := range run.Sizes {
		size := &run.Sizes[i]
		switch {
		case size.Name == sizeScale:
			scale = size
		case largest == nil || size.Services+size.Pods >= largest.Services+largest.Pods:
			largest = size
		}
	}
	var sizes []Size
	for _, size := range []*Size{largest, scale} {
		if size != nil {
			sizes = append(sizes, *size)
		}
	}
	return sizes
}

func writeSummary(md *markdown, run *Run) {
	md.heading(2, "Summary")
	md.paragraph("Ratios divide the clusterdns figure by the other one: above 1 is better for QPS, " +
		"below 1 is better for CPU, memory, start-up and latency. Each ratio is followed by the two figures it divides. " +
		"The ceiling is the clusterdns binary answering every query with *whoami*.")
	sizes := headlineSizes(run)
	if len(sizes) == 0 {
		md.paragraph("No size was measured.")
	}
	uncachedCluster := loadKind{mix: MixCluster}
	for _, size := range sizes {
		md.heading(3, "At "+size.Name)
		var programming []string
		relist, forced := relistSummaries(size)
		var before []string
		for _, server := range servers(size) {
			before = append(before, server.Name+" "+beforeRelistVsSynced(server).String())
			programming = append(programming, server.Name+" "+programmingSummary(server.Programming))
			if len(server.ProgrammingCache30) > 0 {
				programming = append(programming, server.Name+" "+deploymentCorefile+" "+programmingSummary(server.ProgrammingCache30))
			}
		}
		md.bullets([]string{
			"QPS, uncached cluster mix: clusterdns/stock " + compareLoads(size, uncachedCluster, Stock, qpsMetric).String(),
			"CPU per query, uncached cluster mix: clusterdns/stock " + compareLoads(size, uncachedCluster, Stock, cpuMetric).String() +
				"; clusterdns/ceiling " + compareLoads(size, uncachedCluster, Whoami, cpuMetric).String(),
			"RSS after sync: clusterdns/stock " + compareServers(size, rssMetric).String(),
			"Relist peak / RSS after sync, API server restart: " + joinOrMissing(relist, ", "),
			"RSS before the relist / RSS after sync, API server restart (after the full-speed loads): " + joinOrMissing(before, ", "),
			"Relist peak / RSS after sync, 410 Gone (forced relist): " + joinOrMissing(forced, ", "),
			"Ready: clusterdns/stock " + compareServers(size, readyMetric).String(),
			"Programming latency: " + joinOrMissing(programming, "; "),
			"CPU per query with the explain query history on / off, uncached cluster mix: " + historyCost(size).String() +
				pairRatios(size.HistoryPairs),
			"CPU per query with visibility on / off, visibility mix: " + visibilityOnOff(size).String() +
				pairRatios(visibilityPairs(size)) + "; RSS on / off " + visibilityRSS(size).String(),
		})
	}
}

// target is a goal the design sets; the report says whether a run met it
// and never fails on it.
type target struct {
	goal string
	// sizes the target is stated for; nil means every size.
	sizes   []string
	limit   float64
	atLeast bool // met when the measure is at least limit, else at most
	measure func(Size) measure
}

// measure is what a target is checked against, with how the report shows it.
type measure struct {
	value float64
	shown string
	ok    bool // false when a figure it needs was not measured
}

func ratioMeasure(compare func(Size) comparison) func(Size) measure {
	return func(size Size) measure {
		c := compare(size)
		ratio, ok := c.ratio()
		return measure{value: ratio, shown: c.String(), ok: ok}
	}
}

// historyCost compares clusterdns's CPU per query with the explain query
// history on to the same server with it off.
func historyCost(size Size) comparison {
	return optionCost(size.HistoryPairs, size.HistoryOff, size.HistoryOn)
}

// optionCost compares the CPU per query with an option on to off: the
// pair of the median ratio among pairs (OptionPair), else (a report of
// one pair) the two loads'.
func optionCost(pairs []OptionPair, off, on *Load) comparison {
	if len(pairs) == 0 {
		return comparison{of: cpuMetric.value(on), to: cpuMetric.value(off), unit: cpuMetric.unit}
	}
	sorted := slices.Clone(pairs)
	slices.SortFunc(sorted, func(a, b OptionPair) int { return cmp.Compare(pairRatio(a), pairRatio(b)) })
	p := sorted[len(sorted)/2]
	return comparison{of: micros(p.On), to: micros(p.Off), unit: cpuMetric.unit}
}

func pairRatio(p OptionPair) float64 {
	if p.Off <= 0 {
		return math.Inf(1)
	}
	return float64(p.On) / float64(p.Off)
}

// pairRatios lists the ratios of pairs, for the summary: "; pairs 1.02×,
// 0.97×, 1.11×", or "" for one pair or none.
func pairRatios(pairs []OptionPair) string {
	if len(pairs) < 2 {
		return ""
	}
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = figure(pairRatio(p)) + "×"
	}
	return fmt.Sprintf(", the median of %d pairs measured one after the other (%s)", len(pairs), strings.Join(parts, ", "))
}

var targets = []target{
	{
		goal:  "Uncached cluster-name CPU per query ≤ 1.15× the whoami ceiling",
		limit: 1.15,
		measure: ratioMeasure(func(size Size) comparison {
			return compareLoads(size, loadKind{mix: MixCluster}, Whoami, cpuMetric)
		}),
	},
	{
		goal:    "Uncached cluster-mix QPS ≥ 1.3× stock",
		limit:   1.3,
		atLeast: true,
		measure: ratioMeasure(func(size Size) comparison {
			return compareLoads(size, loadKind{mix: MixCluster}, Stock, qpsMetric)
		}),
	},
	{
		goal:    "RSS after sync ≤ 0.5× stock",
		sizes:   []string{sizeTenK},
		limit:   0.5,
		measure: ratioMeasure(func(size Size) comparison { return compareServers(size, rssMetric) }),
	},
	{
		goal:    "RSS after sync ≤ 0.05× stock",
		sizes:   []string{sizeScale},
		limit:   0.05,
		measure: ratioMeasure(func(size Size) comparison { return compareServers(size, rssMetric) }),
	},
	{
		goal:    "clusterdns relist peak ≤ 1.2× its RSS after sync",
		limit:   1.2,
		measure: clusterDNSMeasure(relistVsSynced),
	},
	{
		goal:    "clusterdns relist peak through 410 Gone ≤ 1.2× its RSS after sync",
		limit:   1.2,
		measure: clusterDNSMeasure(forcedRelistVsSynced),
	},
	{
		goal:    "Ready ≤ 0.3× stock",
		sizes:   []string{sizeScale},
		limit:   0.3,
		measure: ratioMeasure(func(size Size) comparison { return compareServers(size, readyMetric) }),
	},
	{
		goal:  "clusterdns programming latency p99 ≤ 100 ms",
		limit: 100,
		measure: func(size Size) measure {
			p99 := programmingP99Metric.value(serverAt(size, ClusterDNS))
			return measure{value: p99, shown: figure(p99) + " ms", ok: p99 > 0}
		},
	},
	{
		goal:    "Ready ≤ stock",
		limit:   1,
		measure: ratioMeasure(func(size Size) comparison { return compareServers(size, readyMetric) }),
	},
	{
		goal:    "CPU per query with the explain query history on ≤ 1.1× off",
		limit:   1.1,
		measure: ratioMeasure(historyCost),
	},
	{
		goal:    "CPU per query with visibility on ≤ 1.1× off",
		limit:   1.1,
		measure: ratioMeasure(visibilityOnOff),
	},
}

func (t target) verdict(m measure) string {
	switch {
	case !m.ok:
		return "not measured"
	case t.atLeast && m.value >= t.limit, !t.atLeast && m.value <= t.limit:
		return "met"
	}
	return "missed"
}

func writeTargets(md *markdown, run *Run) {
	md.heading(2, "Targets")
	md.paragraph("The benchmark reports on these targets; a missed one does not fail it.")
	var rows [][]string
	for _, t := range targets {
		for _, size := range run.Sizes {
			if t.sizes != nil && !slices.Contains(t.sizes, size.Name) {
				continue
			}
			m := t.measure(size)
			rows = append(rows, []string{t.goal, size.Name, m.shown, t.verdict(m)})
		}
	}
	if len(rows) == 0 {
		md.paragraph("No size was measured.")
		return
	}
	md.table([]column{{title: "Target"}, {title: "Size"}, {title: "Measured", numeric: true}, {title: "Result"}}, rows)
}

func writeCharts(md *markdown, charts *chartSet) {
	figures := []struct{ file, alt string }{
		{cpuChartFile, "CPU per query by size, mix and cache"},
		{rssChartFile, "RSS after sync and relist peak by size"},
		{programmingChartFile, "Programming latency CDF, pooled over all sizes"},
	}
	if !slices.ContainsFunc(figures, func(f struct{ file, alt string }) bool { return charts.drawn[f.file] }) {
		return
	}
	md.heading(2, "Charts")
	for _, f := range figures {
		charts.embed(md, f.file, f.alt)
	}
}

var loadColumns = []column{
	{title: "Mix"},
	{title: "Cache"},
	{title: "QPS", numeric: true},
	{title: "Completed / sent", numeric: true},
	{title: "Lost", numeric: true},
	{title: "Rcodes"},
	{title: "CPU/query (µs)", numeric: true},
	{title: "Foreign CPU (cores)", numeric: true},
	{title: "Attempts", numeric: true},
	{title: "Latency rate (qps)", numeric: true},
	{title: "Mean (ms)", numeric: true},
	{title: "p50 (ms)", numeric: true},
	{title: "p99 (ms)", numeric: true},
	{title: "p99.9 (ms)", numeric: true},
	{title: "Max (ms)", numeric: true},
}

var serverColumns = []column{
	{title: "Server"},
	{title: "Ready (s)", numeric: true},
	{title: "RSS after sync (MiB)", numeric: true},
	{title: "RSS before relist (MiB)", numeric: true},
	{title: "Relist peak (MiB)", numeric: true},
	{title: "Programming p50 (ms)", numeric: true},
	{title: "p99 (ms)", numeric: true},
	{title: "Max (ms)", numeric: true},
	{title: "Services timed", numeric: true},
}

var outageColumns = []column{
	{title: "Server"},
	{title: "API server down"},
	{title: "First right answer"},
	{title: "Answer at the end"},
	{title: "Live data after the API server's return"},
}

func writeSize(md *markdown, size Size, charts *chartSet) {
	md.heading(2, "Size "+size.Name)
	md.paragraph(fmt.Sprintf("%s Services, %s of them headless; %s endpoints in EndpointSlices; %s pods. "+
		"Writing the objects to the API server took %s.",
		groupThousands(int64(size.Services)), groupThousands(int64(size.Headless)),
		groupThousands(int64(size.Endpoints)), groupThousands(int64(size.Pods)), duration(size.LoadTime)))
	charts.embed(md, latencyChartFile(size.Name), "Latency percentiles at "+size.Name+", uncached cluster mix")

	measured := contenders(size)
	if len(measured) == 0 {
		md.paragraph("No server was measured at this size.")
		return
	}
	md.heading(3, "Load")
	md.paragraph("QPS, answers, CPU and attempts come from dnsperf at full speed; " +
		"latencies from a separate run at the fixed latency rate.")
	for _, c := range measured {
		md.heading(4, serverLabel(c.name))
		if len(c.loads) == 0 {
			md.paragraph("No load measurements.")
			continue
		}
		var rows [][]string
		for _, load := range sortedLoads(c.loads) {
			rows = append(rows, loadRow(load))
		}
		md.table(loadColumns, rows)
	}

	if running := servers(size); len(running) > 0 {
		md.heading(3, "Servers")
		var rows [][]string
		for _, server := range running {
			rows = append(rows, serverRow(server))
		}
		md.table(serverColumns, rows)
		var outages [][]string
		for _, server := range running {
			if o := server.Outage; o != nil {
				first := "none while down"
				if o.FirstAnswer > 0 {
					first = duration(o.FirstAnswer)
				}
				outages = append(outages, []string{serverLabel(server.Name), duration(o.Down), first, o.Rcode, duration(o.LiveAfterReady)})
			}
		}
		if len(outages) > 0 {
			md.paragraph("Started while the API server was down (for the time given, from exec), clusterdns " +
				"with a snapshot as the shipped Corefile saves one: the first right answer for a Service it " +
				"knew (from exec), what it answered at the end of the outage, and when a Service created " +
				"while it was stopped answered after the test bed saw /readyz ok again.")
			md.table(outageColumns, outages)
		}
		for _, server := range running {
			if len(server.ProgrammingCache30) > 0 {
				md.paragraph(fmt.Sprintf("Programming latency of %s %s: %s.",
					serverLabel(server.Name), deploymentCorefile, programmingSummary(server.ProgrammingCache30)))
			}
		}
	}

	writeVisibility(md, size)

	if kinds := loadKinds(size); len(kinds) > 0 {
		md.heading(3, "Ratios")
		md.paragraph("clusterdns over stock and over the ceiling; the ceiling is always the uncached whoami run of the same mix.")
		var items []string
		for _, kind := range kinds {
			var parts []string
			for _, metric := range []loadMetric{qpsMetric, cpuMetric, p99Metric} {
				parts = append(parts, fmt.Sprintf("%s clusterdns/stock %s, clusterdns/ceiling %s", metric.name,
					compareLoads(size, kind, Stock, metric), compareLoads(size, kind, Whoami, metric)))
			}
			items = append(items, fmt.Sprintf("**%s**: %s.", kind, strings.Join(parts, "; ")))
		}
		md.bullets(items)
	}
	writeMulticluster(md, size)
}

func loadRow(load Load) []string {
	answered, lost := missing, missing
	if load.Sent > 0 {
		answered = groupThousands(int64(load.Completed)) + " / " + groupThousands(int64(load.Sent))
		lost = groupThousands(int64(load.Lost))
	}
	return []string{
		text(load.Mix),
		loadKind{cache: load.Cache}.cacheLabel(),
		figure(load.QPS),
		answered,
		lost,
		rcodeSummary(load.Rcodes),
		figure(micros(load.CPUPerQuery)),
		figure(load.ForeignCPU),
		whole(load.Attempts),
		whole(load.LatencyQPS),
		latencyMillis(load.Latency.Mean),
		latencyMillis(load.Latency.P50),
		latencyMillis(load.Latency.P99),
		latencyMillis(load.Latency.P999),
		latencyMillis(load.Latency.Max),
	}
}

func serverRow(server Server) []string {
	return []string{
		serverLabel(server.Name),
		figure(readyMetric.of(server)),
		figure(rssMetric.of(server)),
		figure(mebibytes(server.RSSBeforeRelist)),
		figure(mebibytes(server.RSSRelistPeak)),
		figure(programmingPercentile(server.Programming, 0.50)),
		figure(programmingPercentile(server.Programming, 0.99)),
		figure(programmingPercentile(server.Programming, 1)),
		whole(len(server.Programming)),
	}
}

func writeMachine(md *markdown, machine Machine) {
	md.heading(2, "Machine")
	md.bullets([]string{
		"**CPU:** " + text(machine.CPU),
		"**Cores:** " + whole(machine.Cores),
		"**Memory:** " + figure(float64(machine.Memory)/(1<<30)) + " GiB",
		"**Kernel:** " + text(machine.Kernel),
		"**OS:** " + text(machine.OS),
	})
}

func writeVersions(md *markdown, versions Versions) {
	md.heading(2, "Versions")
	md.bullets([]string{
		"**clusterdns:** " + text(versions.ClusterDNS),
		"**CoreDNS (stock):** " + text(versions.CoreDNS),
		"**Kubernetes (kube-apiserver):** " + text(versions.Kubernetes),
		"**Go:** " + text(versions.Go),
		"**dnsperf:** " + text(versions.DNSPerf),
	})
}

// contender is one column of the comparison at one size: a server, or the
// whoami ceiling, which has loads but no process figures.
type contender struct {
	name  string
	loads []Load
}

// serverOrder is the order servers appear in, in tables, charts and legends.
var serverOrder = []string{ClusterDNS, Stock, Whoami}

func compareServerNames(a, b string) int {
	return cmp.Or(cmp.Compare(rank(serverOrder, a), rank(serverOrder, b)), cmp.Compare(a, b))
}

// rank is name's place in order; names not in it come after, all equal.
func rank(order []string, name string) int {
	if i := slices.Index(order, name); i >= 0 {
		return i
	}
	return len(order)
}

// servers lists the servers measured at size in serverOrder.
func servers(size Size) []Server {
	sorted := slices.Clone(size.Servers)
	slices.SortStableFunc(sorted, func(a, b Server) int { return compareServerNames(a.Name, b.Name) })
	return sorted
}

// contenders lists the servers at size, then the ceiling when it was measured.
func contenders(size Size) []contender {
	var list []contender
	for _, server := range servers(size) {
		list = append(list, contender{name: server.Name, loads: server.Loads})
	}
	if len(size.Ceiling) > 0 {
		list = append(list, contender{name: Whoami, loads: size.Ceiling})
	}
	return list
}

// contenderNames lists every server name measured in the run, and whoami
// when a ceiling was, in serverOrder.
func contenderNames(run *Run) []string {
	var names []string
	for _, size := range run.Sizes {
		for _, c := range contenders(size) {
			if !slices.Contains(names, c.name) {
				names = append(names, c.name)
			}
		}
	}
	slices.SortFunc(names, compareServerNames)
	return names
}

func serverAt(size Size, name string) *Server {
	for i := range size.Servers {
		if size.Servers[i].Name == name {
			return &size.Servers[i]
		}
	}
	return nil
}

func serverLabel(name string) string {
	switch name {
	case Stock:
		return Stock + " (stock)"
	case Whoami:
		return Whoami + " (ceiling)"
	}
	return name
}

// loadKind is what a Load measured: a query mix with or without cache.
type loadKind struct {
	mix   string
	cache bool
}

func kindOf(load Load) loadKind { return loadKind{mix: load.Mix, cache: load.Cache} }

func (k loadKind) cacheLabel() string {
	if k.cache {
		return "on"
	}
	return "off"
}

func (k loadKind) String() string { return text(k.mix) + ", cache " + k.cacheLabel() }

// compareLoadKinds orders the cluster mix first and uncached before cached,
// as the headline figures are the uncached cluster mix.
func compareLoadKinds(a, b loadKind) int {
	mixes := []string{MixCluster, MixSearchWalk}
	return cmp.Or(
		cmp.Compare(rank(mixes, a.mix), rank(mixes, b.mix)),
		cmp.Compare(a.mix, b.mix),
		compareBool(a.cache, b.cache),
	)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func sortedLoads(loads []Load) []Load {
	sorted := slices.Clone(loads)
	slices.SortStableFunc(sorted, func(a, b Load) int { return compareLoadKinds(kindOf(a), kindOf(b)) })
	return sorted
}

// loadKinds lists every kind of load any contender ran at size.
func loadKinds(size Size) []loadKind {
	var kinds []loadKind
	for _, c := range contenders(size) {
		for _, load := range c.loads {
			if !slices.Contains(kinds, kindOf(load)) {
				kinds = append(kinds, kindOf(load))
			}
		}
	}
	slices.SortFunc(kinds, compareLoadKinds)
	return kinds
}

// loadAt is the named contender's load of kind at size, nil if it did not
// run one.
func loadAt(size Size, name string, kind loadKind) *Load {
	for _, c := range contenders(size) {
		if c.name != name {
			continue
		}
		for i := range c.loads {
			if kindOf(c.loads[i]) == kind {
				return &c.loads[i]
			}
		}
	}
	return nil
}

// loadMetric is a figure of a Load that servers are compared on.
type loadMetric struct {
	name, unit string
	of         func(Load) float64
}

var (
	qpsMetric = loadMetric{name: "QPS", unit: "qps", of: func(l Load) float64 { return l.QPS }}
	cpuMetric = loadMetric{name: "CPU per query", unit: "µs", of: func(l Load) float64 { return micros(l.CPUPerQuery) }}
	p99Metric = loadMetric{name: "p99 latency", unit: "ms", of: func(l Load) float64 { return millis(l.Latency.P99) }}
)

func (m loadMetric) value(load *Load) float64 {
	if load == nil {
		return 0
	}
	return m.of(*load)
}

// compareLoads compares clusterdns with other on one kind of load. Against
// the ceiling the kind is always uncached: the ceiling is what the framework
// costs with no plugin work at all, and a cache in front would hide that.
func compareLoads(size Size, kind loadKind, other string, metric loadMetric) comparison {
	otherKind := kind
	if other == Whoami {
		otherKind.cache = false
	}
	return comparison{
		of:   metric.value(loadAt(size, ClusterDNS, kind)),
		to:   metric.value(loadAt(size, other, otherKind)),
		unit: metric.unit,
	}
}

// serverMetric is a figure of a Server that servers are compared on.
type serverMetric struct {
	unit string
	of   func(Server) float64
}

var (
	readyMetric          = serverMetric{unit: "s", of: func(s Server) float64 { return s.Ready.Seconds() }}
	rssMetric            = serverMetric{unit: "MiB", of: func(s Server) float64 { return mebibytes(s.RSSSynced) }}
	programmingP99Metric = serverMetric{unit: "ms", of: func(s Server) float64 { return programmingPercentile(s.Programming, 0.99) }}
)

func (m serverMetric) value(server *Server) float64 {
	if server == nil {
		return 0
	}
	return m.of(*server)
}

// compareServers compares clusterdns with stock at size.
func compareServers(size Size, metric serverMetric) comparison {
	return comparison{
		of:   metric.value(serverAt(size, ClusterDNS)),
		to:   metric.value(serverAt(size, Stock)),
		unit: metric.unit,
	}
}

func relistVsSynced(server Server) comparison {
	return comparison{of: mebibytes(server.RSSRelistPeak), to: mebibytes(server.RSSSynced), unit: "MiB"}
}

// beforeRelistVsSynced compares the RSS the full-speed loads left with the
// RSS after sync: how much of the restart's peak was there before the API
// server stopped.
func beforeRelistVsSynced(server Server) comparison {
	return comparison{of: mebibytes(server.RSSBeforeRelist), to: mebibytes(server.RSSSynced), unit: "MiB"}
}

// deploymentCorefile names stock's second programming measurement, through
// CoreDNS's own deployment Corefile, whose cache 30 holds cluster names too.
const deploymentCorefile = "with CoreDNS's deployment Corefile (cache 30 on cluster names)"

func programmingSummary(samples []time.Duration) string {
	if len(samples) == 0 {
		return "not measured"
	}
	return fmt.Sprintf("p50 %s ms, p99 %s ms, max %s ms over %d Services",
		figure(programmingPercentile(samples, 0.50)), figure(programmingPercentile(samples, 0.99)),
		figure(programmingPercentile(samples, 1)), len(samples))
}

// programmingPercentile is the q-th percentile of programming latencies in
// milliseconds, 0 when none were measured.
func programmingPercentile(samples []time.Duration, q float64) float64 {
	return millis(percentile(sortedDurations(samples), q))
}

func sortedDurations(durations []time.Duration) []time.Duration {
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	return sorted
}

// percentile is the nearest-rank q-th percentile of sorted, 0 when empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// comparison is a ratio kept with the two figures it divides, so a reader
// sees what it is a ratio of: "1.42× (61 200 vs 43 100 qps)".
type comparison struct {
	of, to float64
	unit   string
}

// ratio is of/to, or false when either figure is missing.
func (c comparison) ratio() (float64, bool) {
	if !(c.of > 0 && c.to > 0) {
		return 0, false
	}
	return c.of / c.to, true
}

func (c comparison) String() string {
	ratio := missing
	if r, ok := c.ratio(); ok {
		ratio = figure(r) + "×"
	}
	return fmt.Sprintf("%s (%s vs %s %s)", ratio, figure(c.of), figure(c.to), c.unit)
}

func rcodeSummary(rcodes map[string]int) string {
	names := make([]string, 0, len(rcodes))
	for name := range rcodes {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(rcodes[b], rcodes[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + " " + compactCount(rcodes[name])
	}
	return joinOrMissing(parts, ", ")
}

// compactCount keeps rcode cells narrow: 801 234 becomes 801k.
func compactCount(n int) string {
	switch {
	case n < 10_000:
		return groupThousands(int64(n))
	case n < 1_000_000:
		return figure(float64(n)/1e3) + "k"
	}
	return figure(float64(n)/1e6) + "M"
}

// figure shows a measured quantity to three significant digits, thousands
// grouped, the precision the measurements carry.
func figure(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return missing
	}
	rounded, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	if math.Abs(rounded) >= 1000 {
		return groupThousands(int64(rounded))
	}
	return strconv.FormatFloat(rounded, 'f', -1, 64)
}

// whole shows a count that is zero only when it was not recorded.
func whole(n int) string {
	if n == 0 {
		return missing
	}
	return groupThousands(int64(n))
}

// groupThousands writes n with a space between groups of three digits.
func groupThousands(n int64) string {
	digits := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, digits = "-", digits[1:]
	}
	var grouped strings.Builder
	for i, digit := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			grouped.WriteByte(' ')
		}
		grouped.WriteRune(digit)
	}
	return sign + grouped.String()
}

// latencyMillis shows a latency in milliseconds to the microsecond, so every
// latency column reads in one unit.
func latencyMillis(d time.Duration) string {
	if d <= 0 {
		return missing
	}
	return strconv.FormatFloat(millis(d), 'f', 3, 64)
}

func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return missing
	case d >= time.Minute:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}

func text(s string) string {
	if s == "" {
		return missing
	}
	return s
}

func joinOrMissing(items []string, separator string) string {
	if len(items) == 0 {
		return missing
	}
	return strings.Join(items, separator)
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mebibytes(bytes uint64) float64 { return float64(bytes) / (1 << 20) }

// markdown builds the report text.
type markdown struct{ strings.Builder }

func (md *markdown) heading(level int, title string) {
	fmt.Fprintf(md, "%s %s\n\n", strings.Repeat("#", level), title)
}

func (md *markdown) paragraph(text string) {
	md.WriteString(text + "\n\n")
}

func (md *markdown) bullets(items []string) {
	for _, item := range items {
		// Indenting continuation lines keeps a multi-line note in its bullet.
		fmt.Fprintf(md, "- %s\n", strings.ReplaceAll(item, "\n", "\n  "))
	}
	md.WriteString("\n")
}

func (md *markdown) code(lines []string) {
	fmt.Fprintf(md, "```sh\n%s\n```\n\n", strings.Join(lines, "\n"))
}

// column is one column of a Markdown table; numeric columns are right-aligned
// so that digits line up.
type column struct {
	title   string
	numeric bool
}

func (md *markdown) table(columns []column, rows [][]string) {
	titles := make([]string, len(columns))
	rules := make([]string, len(columns))
	for i, c := range columns {
		titles[i], rules[i] = c.title, "---"
		if c.numeric {
			rules[i] = "---:"
		}
	}
	md.tableRow(titles)
	md.tableRow(rules)
	for _, row := range rows {
		md.tableRow(row)
	}
	md.WriteString("\n")
}

func (md *markdown) tableRow(cells []string) {
	escaped := make([]string, len(cells))
	for i, cell := range cells {
		escaped[i] = strings.NewReplacer("|", `\|`, "\n", " ").Replace(cell)
	}
	fmt.Fprintf(md, "| %s |\n", strings.Join(escaped, " | "))
}
