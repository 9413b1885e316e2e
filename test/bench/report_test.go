package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// syntheticLoad is a plausible Load whose figures scale with qps, cpu and p50.
func syntheticLoad(kind loadKind, qps float64, cpu, p50 time.Duration) Load {
	sent := int(qps * 30)
	return Load{
		Mix:         kind.mix,
		Cache:       kind.cache,
		QPS:         qps,
		Sent:        sent,
		Completed:   sent - 7,
		Lost:        7,
		Rcodes:      map[string]int{"NOERROR": sent * 4 / 5, "NXDOMAIN": sent/5 - 10, "SERVFAIL": 3},
		CPUPerQuery: cpu,
		ForeignCPU:  0.04,
		Attempts:    1,
		LatencyQPS:  10_000,
		Latency:     Latency{Mean: p50 * 3 / 2, P50: p50, P90: 2 * p50, P99: 10 * p50, P999: 40 * p50, Max: 300 * p50},
	}
}

// syntheticSize is one size; load grows every figure of the servers but the
// ceiling's.
func syntheticSize(name string, services int, load float64) Size {
	var clusterDNSLoads, stockLoads []Load
	for _, kind := range []loadKind{{mix: MixCluster}, {mix: MixCluster, cache: true}, {mix: MixSearchWalk}, {mix: MixSearchWalk, cache: true}} {
		clusterDNSLoads = append(clusterDNSLoads, syntheticLoad(kind, 60_000/load, time.Duration(12_000*load), 90*time.Microsecond))
		stockLoads = append(stockLoads, syntheticLoad(kind, 40_000/load, time.Duration(18_000*load), 150*time.Microsecond))
	}
	var clusterDNSProgramming, stockProgramming, stockProgrammingCache30 []time.Duration
	for i := 1; i <= 100; i++ {
		clusterDNSProgramming = append(clusterDNSProgramming, time.Duration(i)*time.Millisecond)
		stockProgramming = append(stockProgramming, time.Duration(i)*20*time.Millisecond)
		stockProgrammingCache30 = append(stockProgrammingCache30, time.Duration(i)*300*time.Millisecond)
	}
	return Size{
		Name:      name,
		Services:  services,
		Headless:  services / 10,
		Endpoints: services * 5,
		Pods:      services * 3,
		LoadTime:  time.Duration(services) * time.Millisecond,
		Servers: []Server{
			{
				Name:          Stock,
				Ready:         time.Duration(2 * load * float64(time.Second)),
				RSSSynced:     uint64(100 * load * (1 << 20)),
				RSSRelistPeak: uint64(180 * load * (1 << 20)),
				Loads:         stockLoads,
				Programming:   stockProgramming,
				// The deployment Corefile's cache holds the NXDOMAIN for up to 30 s.
				ProgrammingCache30: stockProgrammingCache30,
				Outage:             &Outage{Down: 10 * time.Second, Rcode: "SERVFAIL", LiveAfterReady: 6 * time.Second},
			},
			{
				Name:          ClusterDNS,
				Ready:         time.Duration(3 * load * float64(time.Second)),
				RSSSynced:     uint64(40 * load * (1 << 20)),
				RSSRelistPeak: uint64(44 * load * (1 << 20)),
				Loads:         clusterDNSLoads,
				Programming:   clusterDNSProgramming,
			},
		},
		Ceiling: []Load{
			syntheticLoad(loadKind{mix: MixCluster}, 70_000, 11*time.Microsecond, 60*time.Microsecond),
			syntheticLoad(loadKind{mix: MixSearchWalk}, 65_000, 11*time.Microsecond, 70*time.Microsecond),
		},
	}
}

func syntheticRun() *Run {
	return &Run{
		Started:  time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600)),
		Duration: 47*time.Minute + 12*time.Second,
		Machine:  Machine{CPU: "AMD EPYC 7B13", Cores: 8, Memory: 32 << 30, Kernel: "6.8.0", OS: "Ubuntu 24.04 LTS"},
		Versions: Versions{ClusterDNS: "v0.1.0-3-gabcdef", CoreDNS: "v1.15.0", Kubernetes: "v1.35.0", Go: "go1.26.8", DNSPerf: "2.14.0"},
		Commands: []string{"make bench", "dnsperf -s 127.0.0.1 -p 1053 -d cluster.txt -l 30"},
		Sizes:    []Size{syntheticSize("1k", 1_000, 1), syntheticSize("10k", 10_000, 1.25)},
		Notes:    []string{"Stock CoreDNS measured twice at 10k: the first run had foreign CPU.", "A note\nover two lines."},
	}
}

func readReport(t *testing.T, dir string) string {
	t.Helper()
	report, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(report)
}

var imageLink = regexp.MustCompile(`!\[[^\]]*\]\(([^)]+)\)`)

// checkCharts checks that every chart report links is a PNG in dir and
// returns the linked files.
func checkCharts(t *testing.T, dir, report string) []string {
	t.Helper()
	var files []string
	for _, link := range imageLink.FindAllStringSubmatch(report, -1) {
		file := link[1]
		files = append(files, file)
		image, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Errorf("linked chart: %v", err)
			continue
		}
		if !bytes.HasPrefix(image, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s is not a PNG", file)
		}
	}
	return files
}

func uncachedClusterLoad(t *testing.T, loads []Load) Load {
	t.Helper()
	for _, load := range loads {
		if load.Mix == MixCluster && !load.Cache {
			return load
		}
	}
	t.Fatal("no uncached cluster load")
	return Load{}
}

func ratioText(of, to float64, unit string) string {
	return fmt.Sprintf("%s× (%s vs %s %s)", strconv.FormatFloat(of/to, 'g', 3, 64), figure(of), figure(to), unit)
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}

func TestWriteReport(t *testing.T) {
	run := syntheticRun()
	dir := t.TempDir()
	if err := WriteReport(dir, run); err != nil {
		t.Fatal(err)
	}
	report := readReport(t, dir)

	for _, heading := range []string{
		"# clusterdns vs stock CoreDNS — " + run.Started.UTC().Format("2006-01-02 15:04"),
		"## Summary", "### At 10k", "## Targets", "## Charts", "## Size 1k", "## Size 10k",
		"### Load", "#### clusterdns", "#### coredns (stock)", "#### whoami (ceiling)", "### Servers", "### Ratios",
		"## Machine", "## Versions", "## Commands", "## Notes", "## Run time",
	} {
		if !strings.Contains(report, "\n"+heading) && !strings.HasPrefix(report, heading) {
			t.Errorf("report lacks heading %q", heading)
		}
	}

	largest := run.Sizes[1]
	var clusterDNS, stock Server
	for _, server := range largest.Servers {
		switch server.Name {
		case ClusterDNS:
			clusterDNS = server
		case Stock:
			stock = server
		}
	}
	clusterDNSLoad := uncachedClusterLoad(t, clusterDNS.Loads)
	stockLoad := uncachedClusterLoad(t, stock.Loads)
	ceilingLoad := uncachedClusterLoad(t, largest.Ceiling)
	cpuOverCeiling := micros(clusterDNSLoad.CPUPerQuery) / micros(ceilingLoad.CPUPerQuery)
	rssOverStock := mebibytes(clusterDNS.RSSSynced) / mebibytes(stock.RSSSynced)
	readyOverStock := clusterDNS.Ready.Seconds() / stock.Ready.Seconds()
	for _, want := range []string{
		"clusterdns/stock " + ratioText(clusterDNSLoad.QPS, stockLoad.QPS, "qps"),
		"clusterdns/ceiling " + ratioText(micros(clusterDNSLoad.CPUPerQuery), micros(ceilingLoad.CPUPerQuery), "µs"),
		"clusterdns " + ratioText(mebibytes(clusterDNS.RSSRelistPeak), mebibytes(clusterDNS.RSSSynced), "MiB"),
		fmt.Sprintf("| Uncached cluster-name CPU per query ≤ 1.15× the whoami ceiling | 10k | %s | %s |",
			ratioText(micros(clusterDNSLoad.CPUPerQuery), micros(ceilingLoad.CPUPerQuery), "µs"), verdict(cpuOverCeiling <= 1.15)),
		fmt.Sprintf("| RSS after sync ≤ 0.5× stock | 10k | %s | %s |",
			ratioText(mebibytes(clusterDNS.RSSSynced), mebibytes(stock.RSSSynced), "MiB"), verdict(rssOverStock <= 0.5)),
		fmt.Sprintf("| Ready ≤ stock | 10k | %s | %s |",
			ratioText(clusterDNS.Ready.Seconds(), stock.Ready.Seconds(), "s"), verdict(readyOverStock <= 1)),
		"| coredns (stock) | 10s | none while down | SERVFAIL | 6s |",
		"```sh\n" + strings.Join(run.Commands, "\n") + "\n```",
		"- " + run.Notes[0],
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(report, "RSS after sync ≤ 0.05× stock") {
		t.Error("report has a row for the scale size, which did not run")
	}

	charts := checkCharts(t, dir, report)
	for _, want := range []string{"latency-1k.png", "latency-10k.png", cpuChartFile, rssChartFile, programmingChartFile} {
		if !slices.Contains(charts, want) {
			t.Errorf("report does not link %s; it links %v", want, charts)
		}
	}
}

func TestWriteReportPartialRun(t *testing.T) {
	tests := []struct {
		name string
		run  *Run
	}{
		{
			name: "one size, stock missing, no ceiling",
			run: &Run{Sizes: []Size{{
				Name:     "1k",
				Services: 1_000,
				Servers: []Server{{
					Name:      ClusterDNS,
					Ready:     time.Second,
					RSSSynced: 30 << 20,
					Loads:     []Load{syntheticLoad(loadKind{mix: MixCluster}, 50_000, 10*time.Microsecond, 80*time.Microsecond)},
				}},
			}}},
		},
		{
			name: "servers without loads or figures",
			run: &Run{Sizes: []Size{{
				Name:    "10k",
				Servers: []Server{{Name: ClusterDNS}, {Name: Stock, Ready: time.Second}},
			}}},
		},
		{
			name: "zero latencies only",
			run: &Run{Sizes: []Size{{
				Name:    "1k",
				Servers: []Server{{Name: ClusterDNS, Loads: []Load{{Mix: MixCluster, QPS: 1}}, Programming: []time.Duration{0}}},
			}}},
		},
		{
			name: "no sizes",
			run:  &Run{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteReport(dir, tt.run); err != nil {
				t.Fatal(err)
			}
			report := readReport(t, dir)
			if len(tt.run.Sizes) > 0 && !strings.Contains(report, "– (") {
				t.Errorf("report shows no missing ratio:\n%s", report)
			}
			checkCharts(t, dir, report)
		})
	}
}

func TestWriteReportNoRun(t *testing.T) {
	if err := WriteReport(t.TempDir(), nil); err == nil {
		t.Error("WriteReport(nil) succeeded")
	}
}

func TestFigure(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{name: "zero is missing", in: 0, want: "–"},
		{name: "thousands grouped", in: 61_234, want: "61 200"},
		{name: "rounds up into a new group", in: 999.7, want: "1 000"},
		{name: "millions", in: 1_234_567, want: "1 230 000"},
		{name: "tens", in: 12.345, want: "12.3"},
		{name: "no trailing zeros", in: 1.5, want: "1.5"},
		{name: "below one", in: 0.012345, want: "0.0123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := figure(tt.in); got != tt.want {
				t.Errorf("figure(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
