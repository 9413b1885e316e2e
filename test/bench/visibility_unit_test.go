package bench

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The visibility mix asks, in equal thirds, ClusterIP Services that exist
// in the client's namespace, in the one exported to it, and in hidden ones.
func TestVisibilityQueries(t *testing.T) {
	for _, services := range []int{1_000, 10_000} {
		lines := visibilityQueries(services)
		if len(lines) < queryLines {
			t.Fatalf("%d Services: %d lines", services, len(lines))
		}
		count := map[string]int{}
		for _, l := range lines {
			name, typ, _ := strings.Cut(l, " ")
			if _, ok := dns.IsDomainName(name); !ok || typ != "A" {
				t.Fatalf("line %q", l)
			}
			head, ns, _ := strings.Cut(strings.TrimSuffix(name, ".svc.cluster.local"), ".")
			i, err := strconv.Atoi(strings.TrimPrefix(head, "svc-"))
			if err != nil || i < 0 || i >= services || isHeadless(i) || namespaceOf(i) != ns {
				t.Fatalf("%d Services: %q is no ClusterIP Service of the cluster (%v)", services, name, err)
			}
			switch ns {
			case fmt.Sprintf("bench-%d", visibilityOwn):
				count["own"]++
			case fmt.Sprintf("bench-%d", visibilityExported):
				count["exported"]++
			default:
				count["hidden"]++
			}
		}
		for _, k := range []string{"own", "exported", "hidden"} {
			if got := count[k] * 12 / len(lines); got != 4 {
				t.Errorf("%d Services: %s: %d per 12 queries, want 4 (%v)", services, k, got, count)
			}
		}
	}
}

// The option is in the bench Corefile exactly when asked for, inside the
// cluster plugin's block.
func TestBenchCorefileVisibility(t *testing.T) {
	cfg := benchConfig{plugin: "clusterdns", podsMode: "insecure", kubeconfig: "/k", upstream: "127.0.0.1:1"}
	if strings.Contains(benchCorefile(cfg, ports{}), "visibility") {
		t.Error("visibility in the Corefile when off")
	}
	cfg.visibility = true
	corefile := benchCorefile(cfg, ports{})
	block := corefile[strings.Index(corefile, "clusterdns cluster.local"):strings.Index(corefile, "forward .")]
	if !strings.Contains(block, "export bench-1 to kubernetes.io/metadata.name=bench-0\n") {
		t.Errorf("the cluster plugin's block has no visibility export:\n%s", corefile)
	}
}

// The report gives the on / off ratios in the summary, the target's row and
// the size's own table, and "not measured" when the run did not happen.
func TestReportVisibility(t *testing.T) {
	run := syntheticRun()
	off := syntheticLoad(loadKind{mix: MixVisibility}, 30_000, 20*time.Microsecond, 90*time.Microsecond)
	on := syntheticLoad(loadKind{mix: MixVisibility}, 29_000, 23*time.Microsecond, 90*time.Microsecond)
	stock := syntheticLoad(loadKind{mix: MixVisibility}, 20_000, 40*time.Microsecond, 150*time.Microsecond)
	run.Sizes[1].Visibility = &VisibilityCost{Off: &off, On: &on, Stock: &stock, RSSOff: 50 << 20, RSSOn: 60 << 20}
	dir := t.TempDir()
	if err := WriteReport(dir, run); err != nil {
		t.Fatal(err)
	}
	report := readReport(t, dir)
	cpu := ratioText(23, 20, "µs")
	for _, want := range []string{
		"CPU per query with visibility on / off, visibility mix: " + cpu + "; RSS on / off " + ratioText(60, 50, "MiB"),
		"| CPU per query with visibility on ≤ 1.1× off | 10k | " + cpu + " | missed |",
		"| CPU per query with visibility on ≤ 1.1× off | 1k | – (– vs – µs) | not measured |",
		"### Visibility",
		"| clusterdns, visibility on | 29 000 |",
		"| coredns (stock) | 20 000 |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Count(report, "### Visibility") != 1 {
		t.Error("a Visibility section for the size that did not run it")
	}
}

// The option runs' cost is the median of their off/on pairs, named with
// every pair's ratio in the summary: one pair is as noisy as the option
// is cheap.
func TestReportOptionPairs(t *testing.T) {
	run := syntheticRun()
	off := syntheticLoad(loadKind{mix: MixVisibility}, 30_000, 20*time.Microsecond, 90*time.Microsecond)
	on := syntheticLoad(loadKind{mix: MixVisibility}, 20_000, 30*time.Microsecond, 90*time.Microsecond)
	pairs := []OptionPair{{Off: 20 * time.Microsecond, On: 30 * time.Microsecond}, // 1.5×, the first pair's loads
		{Off: 25 * time.Microsecond, On: 25 * time.Microsecond},           // 1×
		{Off: 22 * time.Microsecond, On: 22 * time.Microsecond * 21 / 20}} // 1.05×, the median
	run.Sizes[1].Visibility = &VisibilityCost{Off: &off, On: &on, RSSOff: 50 << 20, RSSOn: 50 << 20, Pairs: pairs}
	run.Sizes[1].HistoryOff, run.Sizes[1].HistoryOn, run.Sizes[1].HistoryPairs = &off, &on, pairs
	dir := t.TempDir()
	if err := WriteReport(dir, run); err != nil {
		t.Fatal(err)
	}
	report := readReport(t, dir)
	median := ratioText(23.1, 22, "µs") + ", the median of 3 pairs measured one after the other (1.5×, 1×, 1.05×)"
	for _, want := range []string{
		"CPU per query with visibility on / off, visibility mix: " + median + "; RSS on / off",
		"CPU per query with the explain query history on / off, uncached cluster mix: " + median,
		"| CPU per query with visibility on ≤ 1.1× off | 10k | " + ratioText(23.1, 22, "µs") + " | met |",
		"| CPU per query with the explain query history on ≤ 1.1× off | 10k | " + ratioText(23.1, 22, "µs") + " | met |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
