package differential

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/cluster"
	"github.com/clusterdns/clusterdns/test/testbin"
	"github.com/clusterdns/clusterdns/test/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// workers is how many queries are in flight at once: enough to keep two
// cores busy, few enough that neither server's queue is what is measured.
const workers = 8

// TestDifferential is the proof of "same answers as stock": stock CoreDNS
// v1.15.0 with `kubernetes` and clusterdns with `clusterdns`, on the same
// Corefile and the same test bed, get every question the cluster's objects
// define, and their replies must be equal but for the listed differences.
func TestDifferential(t *testing.T) {
	bins := binaries{stock: stockBinary(t), ours: testbin.Clusterdns(t)}
	readmeHasDifferences(t)
	begin := time.Now()
	c := cluster.Start(t, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	populate(t, ctx, c)
	populateClusterset(t, ctx, c)
	w := listWorld(t, ctx, c.Client)
	cs := listClusterset(t, ctx, c, w)
	clustersetNames = cs.names()
	notReadyServices = w.notReadyServices()
	existingNames = w.existingNames()
	cs.addExisting(existingNames)
	names := w.names()
	names = append(names, mutations(names)...)
	upstream := startUpstream(t)
	t.Logf("cluster ready in %v: %d namespaces, %d services, %d slices, %d pods; %d names",
		time.Since(begin).Round(time.Millisecond), len(w.namespaces), len(w.services), len(w.slices), len(w.pods), len(names))

	tl := newTally()
	var compared []string
	every := true // every mode ran: no -run picked some
	for _, m := range modes {
		if reason, ok := notYetSupported[m.name]; ok {
			t.Logf("!!! NOT YET SUPPORTED, NOT COMPARED: mode %q: %s", m.name, reason)
			continue
		}
		record := &replies{}
		ran := false
		t.Run(m.name, func(t *testing.T) {
			ran = true
			runMode(t, m, bins, c.Kubeconfig, upstream, w, names, tl, record)
		})
		if !ran {
			every = false
			continue
		}
		compared = append(compared, m.name)
		switch {
		case m.name == modes[0].name:
			baseline = record
		case !m.fromPod:
			// A mode asking from a pod's address asks queries the
			// baseline does not (the metadata mode, whose answers are
			// those of pods verified: it tests the log lines, which
			// compareLogs compares).
			modeMatters(t, m.name, record)
		}
	}

	tl.needed(t)
	t.Logf("differential: %d queries compared in %d modes (%s) in %v",
		tl.queries.Load(), len(compared), strings.Join(compared, ", "), time.Since(begin).Round(time.Millisecond))
	for _, d := range differences {
		n := tl.count(d.name)
		t.Logf("differential: allowed difference %-32s %6d replies", d.name, n)
		if _, off := notYetSupported[d.mode]; n == 0 && !off && every && !t.Failed() {
			t.Errorf("allowed difference %q matched no reply: take it out of the list (and README)", d.name)
		}
	}
	if len(notYetSupported) > 0 {
		var left []string
		for name := range notYetSupported {
			left = append(left, name)
		}
		sort.Strings(left)
		t.Logf("!!! differential: modes NOT YET SUPPORTED and not compared: %s", strings.Join(left, ", "))
	}
}

// runMode starts both servers on the mode's Corefile and compares every
// query of the mode.
// The replies are kept in record.
func runMode(t *testing.T, m mode, bins binaries, kubeconfig, upstream string, w world, names []string, tl *tally, record *replies) {
	probe := "web." + nsA + ".svc." + zone
	if slices.Contains(m.options, "namespaces "+nsB+" "+nsEmpty) {
		probe = "api." + nsB + ".svc." + zone
	}
	probes := []string{probe}
	if slices.Contains(m.options, "pods verified") {
		// clusterdns answers once the Services are listed, pod names (and
		// autopath's clients) only once the pods are too: wait for a pod.
		probes = append(probes, testkit.Dashed(w.clientAddrs()[nsA])+"."+nsA+".pod."+zone)
	}
	stock, ours := bins.pair(t, m.corefile(kubeconfig, upstream), func(s *dnsServer) error {
		for _, probe := range probes {
			v, err := ask(query{name: probe, qtype: dns.TypeA, net: "udp"}, s.addr, 1)
			if err != nil {
				return err
			}
			if v.rcode != "NOERROR" || len(v.answer) == 0 {
				return fmt.Errorf("%s: %s", probe, v)
			}
		}
		return nil
	})
	from := ""
	if m.fromPod {
		from = w.clientAddrs()[nsA]
	}
	var qs []query
	if !m.ownerOnly {
		qs = questions(names, from)
	}
	// The baseline asks the sections' queries too, so that what autopath
	// and k8s_external change in stock's answers is measured.
	baseline := m.name == modes[0].name
	if m.external || baseline {
		qs = append(qs, questions(externalNames(names), from)...)
	}
	if m.autopath || baseline {
		qs = append(qs, autopathQueries(w.clientAddrs())...)
	}
	if m.zonal || baseline {
		qs = append(qs, questions(w.zonalNames(), from)...)
	}
	if m.clusterset {
		qs = append(qs, questions(clustersetNames, from)...)
	}
	stockLog, oursLog := stock.Log().Len(), ours.Log().Len()
	compareAll(t, qs, stock.addr, ours.addr, tl, record)
	// The transfers are logged too: the log comparison waits for them.
	logged := slices.Clip(qs)
	if m.axfr {
		for _, z := range append([]string{zone, "in-addr.arpa.", "ip6.arpa."}, m.zones...) {
			q, s, o := query{name: z, qtype: dns.TypeAXFR, net: "tcp"}, axfr(z, stock.addr), axfr(z, ours.addr)
			tl.queries.Add(1)
			record.put(q, s, o)
			compareOne(t, q, s, o, tl)
			logged = append(logged, q)
		}
	}
	if m.metadata {
		logFrom := from
		if logFrom == "" {
			logFrom = "127.0.0.1" // the kernel's choice towards servers bound there
		}
		compareLogs(t, logged, logFrom, stock, ours, stockLog, oursLog)
	}
}

// compareAll asks both servers every query, workers at a time.
// The replies are kept in record when it is not nil.
func compareAll(t *testing.T, qs []query, stockAddr, oursAddr string, tl *tally, record *replies) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(qs) || t.Failed() && tl.failures.Load() > 50 {
					return
				}
				q := qs[i]
				id := uint16(i)
				s, err := ask(q, stockAddr, id)
				if err != nil {
					t.Errorf("stock: %v", err)
					continue
				}
				o, err := ask(q, oursAddr, id)
				if err != nil {
					t.Errorf("clusterdns: %v", err)
					continue
				}
				tl.queries.Add(1)
				if record != nil {
					record.put(q, s, o)
				}
				compareOne(t, q, s, o, tl)
			}
		}()
	}
	wg.Wait()
}

// modeMatters checks that stock answers some of the mode's queries other
// than in the baseline mode: a clusterdns that ignored the mode's option
// would then fail the comparison, so the mode can fail.
func modeMatters(t *testing.T, name string, record *replies) {
	t.Helper()
	if baseline == nil {
		t.Logf("differential: mode %q: the baseline %q did not run (-run), what it changes is not measured", name, modes[0].name)
		return
	}
	changed, common := 0, 0
	for key, p := range record.m {
		base, ok := baseline.m[key]
		if !ok {
			continue
		}
		common++
		if !base.stock.equal(p.stock) {
			changed++
		}
	}
	if common == 0 {
		t.Logf("differential: mode %q asks its own queries, which %q does not: what it changes is not measured", name, modes[0].name)
		return
	}
	t.Logf("differential: mode %q: stock answers %d of %d queries other than in %q", name, changed, common, modes[0].name)
	if changed == 0 {
		t.Errorf("mode %q changes none of stock's answers: it tests nothing the baseline does not", name)
	}
}

// compareOne accepts equal replies, and different ones whose differences
// the listed entries explain.
func compareOne(t *testing.T, q query, stock, ours *view, tl *tally) {
	if stock.equal(ours) {
		return
	}
	if used, ok := explained(q, stock, ours); ok {
		for _, name := range used {
			tl.add(name, q, stock, ours)
		}
		return
	}
	if tl.failures.Add(1) <= 50 {
		t.Errorf("%s: replies differ\n%s", q, diffLines(stock, ours))
	}
}

// compareLogs compares the metadata log lines of both servers since the
// given offsets, once each has logged the queries qs sent from the address
// from: the same set of lines, in any order (the queries ran in parallel).
// Only lines for the names asked count: the servers also log the lookups
// they make through themselves (ExternalName targets), and those follow
// answers that differ where an allowed difference says so.
func compareLogs(t *testing.T, qs []query, from string, stock, ours *dnsServer, stockOff, oursOff int) {
	t.Helper()
	asked := make(map[string]bool, len(qs))
	for _, q := range qs {
		asked[q.name] = true
	}
	lines := func(s *dnsServer, off int) (all int, out []string) {
		for _, l := range strings.Split(s.Log().Since(off), "\n") {
			_, rest, ok := strings.Cut(l, "META from="+from+" ")
			if !ok {
				continue
			}
			all++
			if f := strings.Fields(rest); len(f) > 1 && asked[f[1]] {
				out = append(out, rest)
			}
		}
		return all, out
	}
	n := len(qs)
	deadline := time.Now().Add(30 * time.Second)
	var sn, on int
	var sl, ol []string
	for {
		sn, sl = lines(stock, stockOff)
		on, ol = lines(ours, oursOff)
		if sn >= n && on >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(testkit.PollInterval)
	}
	if sn < n || on < n {
		t.Errorf("metadata log: stock logged %d lines, clusterdns %d, for %d queries", sn, on, n)
	}
	// ask retries a UDP exchange that failed, so a line may stand twice on
	// one side only, and UDP and TCP log the same line: compare sets.
	onlyIn := func(a, b []string) []string {
		in := make(map[string]bool, len(b))
		for _, l := range b {
			in[l] = true
		}
		var out []string
		for _, l := range a {
			if !in[l] {
				out = append(out, l)
			}
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	for i, l := range onlyIn(sl, ol) {
		if i < 20 {
			t.Errorf("metadata: only stock logged   %s", l)
		}
	}
	for i, l := range onlyIn(ol, sl) {
		if i < 20 {
			t.Errorf("metadata: only clusterdns logged %s", l)
		}
	}
}

// tally counts what the comparison did, across goroutines.
type tally struct {
	queries  atomic.Int64
	failures atomic.Int64
	mu       sync.Mutex
	allowed  map[string]int
	sample   map[string]sample // the first replies each entry explained
}

// sample is one pair of replies an entry explained.
type sample struct {
	q           query
	stock, ours *view
}

func newTally() *tally { return &tally{allowed: map[string]int{}, sample: map[string]sample{}} }

func (tl *tally) add(name string, q query, stock, ours *view) {
	tl.mu.Lock()
	tl.allowed[name]++
	if _, ok := tl.sample[name]; !ok {
		tl.sample[name] = sample{q, stock, ours}
	}
	tl.mu.Unlock()
}

// needed checks that each entry that explained replies is needed: without
// it, the others do not explain its first pair. An entry the others cover
// would hide nothing if removed, so it could not fail the test.
func (tl *tally) needed(t *testing.T) {
	t.Helper()
	for _, d := range differences {
		smp, ok := tl.sample[d.name]
		if !ok {
			continue
		}
		if _, ok := explainedWithout(smp.q, smp.stock, smp.ours, d.name); ok {
			t.Errorf("allowed difference %q is not needed: without it the others explain %s", d.name, smp.q)
		}
	}
}

func (tl *tally) count(name string) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.allowed[name]
}

// readmeHasDifferences checks that every allowed difference is in README's
// "Differences you may notice" list, where users read why.
func readmeHasDifferences(t *testing.T) {
	t.Helper()
	readme := testkit.RepoFile(t, "README.md")
	_, list, ok := strings.Cut(readme, "Differences you may notice")
	if !ok {
		t.Fatal(`README.md has no "Differences you may notice" list`)
	}
	list, _, _ = strings.Cut(list, "\n## ")
	for _, d := range differences {
		if !strings.Contains(list, d.readme) {
			t.Errorf("allowed difference %q: README's differences do not say %q", d.name, d.readme)
		}
	}
}
