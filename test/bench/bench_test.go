package bench

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterdns/clusterdns/test/cluster"
)

var (
	flagSizes   = flag.String("sizes", "1k,10k,scale", "cluster sizes to measure, in order: 1k, 10k, scale (10k Services, 150k pods, pods verified)")
	flagOut     = flag.String("out", "reports", "folder for the report: a new subfolder per run, named by its start time")
	flagSeconds = flag.Int("seconds", 10, "length of each full-speed dnsperf run")
	flagPods    = flag.Int("pods", 150_000, "pods of the scale size (fewer for a quick check of the scale run)")
	flagClient  = flag.String("clusterdns", os.Getenv("CLUSTERDNS_BIN"), "clusterdns binary")
	flagStock   = flag.String("coredns", "../bin/coredns", "stock CoreDNS binary, built from this module's pinned github.com/coredns/coredns")
	flagMC      = flag.String("multicluster", "10k", "sizes that also measure the multicluster variant: one ServiceImport per 10 Services across 3 clusters")
)

const (
	// latencyRate is the fixed rate of the latency runs, the same for
	// every server so that their percentiles compare: well under what
	// either answers at full speed on 2 cores.
	latencyRate    = 5000
	latencySeconds = 5
	// foreignLimit is the CPU, in cores, that the rest of the machine may
	// use during a full-speed run before the run is repeated.
	foreignLimit = 0.25
	maxAttempts  = 3
	// readyTimeout bounds a server's start: stock at the scale size was
	// measured at 17.6 s.
	readyTimeout = 3 * time.Minute
	// settle is the pause between Ready and the RSS reading: informers'
	// initial lists are garbage by then and the Go runtime has had a
	// chance to collect it (forced GC is not something an operator sees).
	settle = 5 * time.Second
	// relistWatch is how long RSS is sampled after the API server is back.
	relistWatch = 20 * time.Second
	// quietTimeout bounds the wait for the machine to settle after loading.
	quietTimeout = 3 * time.Minute
)

type sizeSpec struct {
	name     string
	services int
	pods     int // > 0: pods verified, with big Services
}

var sizeSpecs = map[string]sizeSpec{
	"1k":    {"1k", 1_000, 0},
	"10k":   {"10k", 10_000, 0},
	"scale": {"scale", 10_000, 150_000},
}

// BenchmarkServers is `make bench` (run with -benchtime 1x: one pass
// measures everything; testing's b.N loop has nothing to repeat).
func BenchmarkServers(b *testing.B) {
	var specs []sizeSpec
	for name := range strings.SplitSeq(*flagSizes, ",") {
		s, ok := sizeSpecs[name]
		if !ok {
			b.Fatalf("-sizes: unknown size %q (1k, 10k, scale)", name)
		}
		if s.pods > 0 {
			s.pods = *flagPods
		}
		specs = append(specs, s)
	}
	bins := binaries(b)
	run := &Run{Started: time.Now().UTC(), Machine: readMachine(), Versions: readVersions(b, bins)}
	outDir := filepath.Join(*flagOut, run.Started.Format("2006-01-02T1504Z"))
	run.Commands = append(run.Commands, benchCommand())

	// At the scale size a restarted API server lists 150k pods into its
	// watch cache before it is ready: minutes on a busy machine.
	c := cluster.Start(b, cluster.Options{APIOnly: true, StartTimeout: 5 * time.Minute})
	run.Versions.Kubernetes = serverVersion(b, c.Client)
	client := fastClient(b, c)
	work := b.TempDir()
	mcs := mcsClient(b, c)
	up := startUpstream(b, work, bins.stock)

	ld := &loader{client: client, http: &http.Client{Timeout: time.Minute}}
	if err := ld.ensureNamespaces(context.Background()); err != nil {
		b.Fatal(err)
	}
	clusterFile := ""
	walkFile := filepath.Join(work, "search-walk.queries")
	if err := writeQueryFile(walkFile, searchWalkQueries()); err != nil {
		b.Fatal(err)
	}
	loaded, podsLoaded := 0, 0
	for _, spec := range specs {
		size := Size{Name: spec.name}
		begin := time.Now()
		if spec.services > loaded {
			if err := ld.services(context.Background(), loaded, spec.services); err != nil {
				b.Fatalf("load %s: %v", spec.name, err)
			}
			loaded = spec.services
		}
		if spec.pods > podsLoaded {
			if err := ld.bigServices(context.Background()); err != nil {
				b.Fatalf("load %s: %v", spec.name, err)
			}
			if err := ld.pods(context.Background(), c.EtcdURL, podsLoaded, spec.pods); err != nil {
				b.Fatalf("load %s: %v", spec.name, err)
			}
			podsLoaded = spec.pods
			waitPodsListed(b, client, podsLoaded)
		}
		size.LoadTime = time.Since(begin)
		size.Services = loaded
		size.Headless = loaded / headlessEvery
		size.Endpoints = size.Headless * endpointsPerHeadless
		if spec.pods > 0 {
			size.Services += bigServices
			size.Headless += bigServices
			size.Endpoints += bigServices * endpointsPerBig
			size.Pods = podsLoaded
		}
		b.Logf("%s: loaded in %v (%d Services, %d endpoints, %d pods)", spec.name, size.LoadTime.Round(time.Millisecond), size.Services, size.Endpoints, size.Pods)

		clusterFile = filepath.Join(work, spec.name+".queries")
		if err := writeQueryFile(clusterFile, clusterQueries(loaded, spec.pods)); err != nil {
			b.Fatal(err)
		}
		visibilityFile := filepath.Join(work, spec.name+"-visibility.queries")
		if err := writeQueryFile(visibilityFile, visibilityQueries(loaded)); err != nil {
			b.Fatal(err)
		}
		m := &measurer{
			tb: b, run: run, cluster: c, client: client, work: work, upstream: up,
			files:    map[string]string{MixCluster: clusterFile, MixSearchWalk: walkFile, MixVisibility: visibilityFile},
			pods:     map[bool]string{false: "insecure", true: "verified"}[spec.pods > 0],
			podCount: spec.pods,
			size:     spec.name,
		}
		m.waitQuiet()
		ready := m.readyTimes([]readyRun{{ClusterDNS, bins.clusterdns, "clusterdns"}, {Stock, bins.stock, "kubernetes"}})
		size.Servers = append(size.Servers,
			m.server(ClusterDNS, bins.clusterdns, "clusterdns", shippedCorefile(b)),
			m.server(Stock, bins.stock, "kubernetes", kubeadmCorefile))
		for i := range size.Servers {
			sv := &size.Servers[i]
			sv.ReadySamples = ready[sv.Name]
			sv.Ready = median(sv.ReadySamples)
		}
		size.Servers[0].Outage = m.outage(ClusterDNS, bins.clusterdns, "clusterdns")
		size.Servers[1].Outage = m.outage(Stock, bins.stock, "kubernetes")
		size.Ceiling = m.ceiling(bins.clusterdns)
		size.HistoryOff, size.HistoryOn, size.HistoryPairs = m.history(bins.clusterdns)
		if slices.Contains(strings.Split(*flagMC, ","), spec.name) {
			size.Multicluster = m.measureMulticluster(loaded, bins, mcs, ld)
		}
		size.Visibility = m.visibility(bins)
		run.Sizes = append(run.Sizes, size)
		// A report after every size: a later size that fails leaves the
		// earlier figures written.
		run.Duration = time.Since(run.Started)
		if err := WriteReport(outDir, run); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("report: %s", filepath.Join(outDir, ReportFile))
}

// waitPodsListed waits until the API server lists n pods: the bulk writes
// to etcd went through its watch cache and decoded as pods. A one-item
// list says how many remain without moving 150k pods.
func waitPodsListed(tb testing.TB, client kubernetes.Interface, n int) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		list, err := client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{Limit: 1})
		got := 0
		if err == nil {
			got = len(list.Items)
			if r := list.RemainingItemCount; r != nil {
				got += int(*r)
			}
			if got >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the API server lists %d pods, want %d (%v)", got, n, err)
		}
		time.Sleep(time.Second)
	}
}

// measurer measures the servers at one cluster size.
type measurer struct {
	tb       testing.TB
	run      *Run
	cluster  *cluster.Cluster
	client   kubernetes.Interface
	work     string
	upstream *server
	files    map[string]string // query file by mix
	pods     string            // the pods mode of the bench Corefiles
	podCount int               // pods in the cluster
	size     string
	// multicluster: the bench Corefiles serve the clusterset zone.
	multicluster bool
	source       string // dnsperf's source address, if not the default
}

// server measures one server: start to Ready and RSS, full-speed and
// latency runs of both mixes uncached, the relist peak, the same runs with
// cache in front, and programming latency through its default Corefile.
func (m *measurer) server(name, bin, plugin, defaultCorefile string) Server {
	tb := m.tb
	res := Server{Name: name}
	cfg := benchConfig{plugin: plugin, podsMode: m.pods, kubeconfig: m.cluster.Kubeconfig, upstream: m.upstream.dns}

	p := freePorts(tb)
	s := startServer(tb, m.work, fmt.Sprintf("%s-%s", name, m.size), bin, benchCorefile(cfg, p), p)
	s.waitReady(tb, readyTimeout)
	s.waitAnswering(tb)
	m.waitPods(s, name)
	time.Sleep(settle)
	res.RSSSynced = m.mustRSS(s)
	tb.Logf("%s %s: RSS %d MiB", m.size, name, res.RSSSynced>>20)
	for _, mix := range []string{MixCluster, MixSearchWalk} {
		res.Loads = append(res.Loads, m.load(s, mix, false))
	}
	res.RSSBeforeRelist = m.mustRSS(s)
	res.RSSRelistPeak, res.RestartRelisted = m.relistPeak(s)
	s.Stop()
	res.ForcedRelist = m.forcedRelist(name, bin, plugin)

	cfg.cache = true
	p = freePorts(tb)
	s = startServer(tb, m.work, fmt.Sprintf("%s-%s-cache", name, m.size), bin, benchCorefile(cfg, p), p)
	s.waitReady(tb, readyTimeout)
	s.waitAnswering(tb)
	m.waitPods(s, name)
	for _, mix := range []string{MixCluster, MixSearchWalk} {
		res.Loads = append(res.Loads, m.load(s, mix, true))
	}
	s.Stop()

	res.Programming = m.programming(name, bin, defaultCorefile)
	if name == Stock {
		// CoreDNS's own default Corefile caches cluster names too.
		res.ProgrammingCache30 = m.programming(name+"-cache30", bin, corednsDeploymentCorefile)
	}
	return res
}

// waitPods waits, at a size with pods, until s answers the last pod's
// name, and logs when it did: clusterdns serves Services before its pods
// are listed, and what follows measures the whole cluster.
func (m *measurer) waitPods(s *server, name string) {
	if m.podCount == 0 {
		return
	}
	last := m.podCount - 1
	qname := strings.ReplaceAll(podAddr(last).String(), ".", "-") + "." + namespaceOf(last) + ".pod.cluster.local."
	d := s.waitServed(m.tb, qname, readyTimeout)
	m.tb.Logf("%s %s: pods answer %v after exec", m.size, name, d.Round(time.Millisecond))
}

// readyStarts is how many times each server is started to time Ready: a
// median of 3 moved by ±15% between runs of the same code at 10k Services
// (one start of 3 a tenth of a second off), so 5 where a start takes
// seconds; 3 with pods, where stock's takes most of a minute.
func (m *measurer) readyStarts() int {
	if m.podCount > 0 {
		return 3
	}
	return 5
}

type readyRun struct{ name, bin, plugin string }

// readyTimes starts each server readyStarts times, alternating, and returns
// the times from exec to Ready by server name.
func (m *measurer) readyTimes(runs []readyRun) map[string][]time.Duration {
	out := map[string][]time.Duration{}
	for k := range m.readyStarts() {
		for _, r := range runs {
			cfg := benchConfig{plugin: r.plugin, podsMode: m.pods, kubeconfig: m.cluster.Kubeconfig, upstream: m.upstream.dns, multicluster: m.multicluster}
			p := freePorts(m.tb)
			s := startServer(m.tb, m.work, fmt.Sprintf("%s-%s-ready%d", r.name, m.size, k), r.bin, benchCorefile(cfg, p), p)
			d := s.waitReady(m.tb, readyTimeout)
			s.Stop()
			out[r.name] = append(out[r.name], d)
		}
	}
	for _, r := range runs {
		m.note("%s %s: ready after %v (median reported)", m.size, r.name, out[r.name])
	}
	return out
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// waitQuiet waits, up to quietTimeout, for the machine to go quiet after a
// load: the API server and etcd go on digesting a bulk write (watch cache,
// compaction, garbage collection) well after the last one returns, and a
// server started then pays for it.
func (m *measurer) waitQuiet() {
	const window, quiet = 2 * time.Second, 0.2 // cores
	deadline := time.Now().Add(quietTimeout)
	for {
		b0 := mustBusy(m.tb)
		time.Sleep(window)
		busy := (mustBusy(m.tb) - b0).Seconds() / window.Seconds()
		if busy < quiet {
			return
		}
		if time.Now().After(deadline) {
			m.note("%s: the machine stayed busy (%.2f cores) for %v after loading; measuring anyway", m.size, busy, quietTimeout)
			return
		}
	}
}

// ceiling measures the clusterdns binary answering everything with whoami.
func (m *measurer) ceiling(bin string) []Load {
	p := freePorts(m.tb)
	s := startServer(m.tb, m.work, "whoami-"+m.size, bin, benchCorefile(benchConfig{plugin: Whoami}, p), p)
	s.waitReady(m.tb, readyTimeout)
	s.waitAnswering(m.tb)
	defer s.Stop()
	return []Load{m.load(s, MixCluster, false), m.load(s, MixSearchWalk, false)}
}

// history measures clusterdns under the uncached cluster mix with the
// bench Corefile, the explain query history off and then on: queries come
// from one address, so the history keeps one client whose ring is written
// on every query, its steady cost.
func (m *measurer) history(bin string) (off, on *Load, pairs []OptionPair) {
	loads := make([]Load, 2)
	for pair := range optionPairs {
		var cpu [2]time.Duration
		for i, history := range []bool{false, true} {
			p := freePorts(m.tb)
			cfg := benchConfig{plugin: "clusterdns", podsMode: m.pods, kubeconfig: m.cluster.Kubeconfig, upstream: m.upstream.dns, history: history}
			s := startServer(m.tb, m.work, pairName(fmt.Sprintf("clusterdns-%s-history-%v", m.size, history), pair), bin, benchCorefile(cfg, p), p)
			s.waitReady(m.tb, readyTimeout)
			s.waitAnswering(m.tb)
			if pair == 0 {
				loads[i] = m.load(s, MixCluster, false)
				cpu[i] = loads[i].CPUPerQuery
			} else {
				cpu[i] = m.fullSpeed(s, MixCluster, false).CPUPerQuery
			}
			s.Stop()
		}
		pairs = append(pairs, OptionPair{Off: cpu[0], On: cpu[1]})
	}
	m.tb.Logf("%s history: CPU per query on/off %s%s", m.size, optionCost(pairs, nil, nil), pairRatios(pairs))
	return &loads[0], &loads[1], pairs
}

// optionPairs is how many off/on pairs the option runs (history,
// visibility) measure: see OptionPair.
const optionPairs = 3

// pairName names the server of an option run's pair: the first pair's as
// before pairs were repeated, the others' with the pair's number.
func pairName(name string, pair int) string {
	if pair == 0 {
		return name
	}
	return fmt.Sprintf("%s-%d", name, pair+1)
}

func (m *measurer) programming(name, bin, corefile string) []time.Duration {
	p := freePorts(m.tb)
	s := startServer(m.tb, m.work, fmt.Sprintf("%s-%s-default", name, m.size), bin, localize(m.tb, corefile, p, m.cluster.Kubeconfig, m.upstream.dns), p)
	defer s.Stop()
	s.waitReady(m.tb, readyTimeout)
	s.waitAnswering(m.tb)
	d := programming(m.tb, m.client, s.dns, fmt.Sprintf("%s-%s", name, m.size))
	l := summarize(d)
	m.tb.Logf("%s %s: programming latency p50 %v p99 %v (%d samples)", m.size, name, l.P50, l.P99, len(d))
	if len(d) < programmingSamples {
		m.note("%s %s: programming latency: %d of %d samples answered (log: %s)", m.size, name, len(d), programmingSamples, s.logPath)
	}
	return d
}

// load runs one full-speed measurement (fullSpeed), then one latency run
// at latencyRate.
func (m *measurer) load(s *server, mix string, cache bool) Load {
	tb := m.tb
	res := m.fullSpeed(s, mix, cache)
	res.LatencyQPS = latencyRate
	p, argv, err := dnsperfRun(context.Background(), s.dns, m.files[mix], latencySeconds, latencyRate, m.sources()...)
	if err != nil {
		tb.Fatal(err)
	}
	m.command(argv)
	res.Latency = summarize(p.latencies)
	tb.Logf("%s %s %s cache=%v: %.0f qps, %v CPU/query, p99 %v at %d qps (lost %d)", m.size, s.name, mix, cache,
		res.QPS, res.CPUPerQuery, res.Latency.P99, latencyRate, res.Lost)
	return res
}

// fullSpeed runs one full-speed measurement, repeated while other load on
// the machine distorts it.
func (m *measurer) fullSpeed(s *server, mix string, cache bool) Load {
	tb := m.tb
	res := Load{Mix: mix, Cache: cache}
	file := m.files[mix]
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		cpu0, up0, busy0 := m.mustCPU(s), m.mustCPU(m.upstream), mustBusy(tb)
		begin := time.Now()
		p, argv, err := dnsperfRun(context.Background(), s.dns, file, *flagSeconds, 0, m.sources()...)
		if err != nil {
			tb.Fatal(err)
		}
		wall := time.Since(begin)
		cpu, up, busy := m.mustCPU(s)-cpu0, m.mustCPU(m.upstream)-up0, mustBusy(tb)-busy0
		foreign := max(0, (busy-cpu-up-p.cpu).Seconds()/wall.Seconds())
		m.command(argv)
		if attempt == 1 || foreign < res.ForeignCPU {
			res.QPS, res.Sent, res.Completed, res.Lost, res.Rcodes = p.qps, p.sent, p.completed, p.lost, p.rcodes
			res.ForeignCPU = foreign
			if p.completed > 0 {
				res.CPUPerQuery = cpu / time.Duration(p.completed)
			}
		}
		res.Attempts = attempt
		if foreign < foreignLimit {
			break
		}
		m.note("%s %s %s cache=%v: attempt %d saw %.2f cores of foreign CPU; repeated", m.size, s.name, mix, cache, attempt, foreign)
	}
	return res
}

// relistPeak stops the API server, starts it again and samples the
// server's RSS every 20 ms throughout and for relistWatch after the relist
// was seen (awaitRelist): the informers' watches end with the API server,
// and on its return their resource versions are older than its fresh
// watch cache, so they list everything again. It says whether the API
// server counted that relist.
func (m *measurer) relistPeak(s *server) (uint64, bool) {
	ctx, cancel := context.WithCancel(context.Background())
	peak := make(chan uint64, 1)
	go func() { peak <- sampleRSS(ctx, s.Pid(), 20*time.Millisecond) }()
	watchers := m.watchers()
	m.cluster.StopAPIServer()
	time.Sleep(time.Second)
	m.cluster.StartAPIServer()
	relisted := m.awaitRelist(nil, watchers)
	if !relisted {
		m.note("%s %s: API server restart: no relist (log: %s)", m.size, s.name, s.logPath)
	}
	time.Sleep(relistWatch)
	cancel()
	return <-peak, relisted
}

func (m *measurer) mustRSS(s *server) uint64 {
	v, err := s.RSS()
	if err != nil {
		m.tb.Fatal(err)
	}
	return v
}

func (m *measurer) mustCPU(s *server) time.Duration {
	v, err := s.cpu()
	if err != nil {
		m.tb.Fatal(err)
	}
	return v
}

func mustBusy(tb testing.TB) time.Duration {
	v, err := machineBusy()
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func (m *measurer) note(format string, args ...any) {
	m.run.Notes = append(m.run.Notes, fmt.Sprintf(format, args...))
	m.tb.Logf(format, args...)
}

// benchCommand is the command line of this run as make bench runs it,
// without the test binary's own -test.* flags.
func benchCommand() string {
	args := []string{"cd test/bench && go test -run '^$' -bench '^BenchmarkServers$' -benchtime 1x -timeout 3h . -args"}
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-test.") {
			args = append(args, a)
		}
	}
	return strings.Join(args, " ")
}

// portFlag is dnsperf's -p: each server listens on a fresh port.
var portFlag = regexp.MustCompile(`-p \d+`)

// command records a dnsperf command line once, with the run's temporary
// paths shortened to their file names and the port left out.
func (m *measurer) command(argv []string) {
	line := strings.ReplaceAll(strings.Join(argv, " "), m.work+"/", "")
	line = portFlag.ReplaceAllString(line, "-p PORT")
	for _, c := range m.run.Commands {
		if c == line {
			return
		}
	}
	m.run.Commands = append(m.run.Commands, line)
}

// startUpstream runs the local upstream for forwarded names: the stock
// CoreDNS binary answering every name under example.com with fixed
// addresses, anything else NXDOMAIN.
func startUpstream(tb testing.TB, dir, bin string) *server {
	p := freePorts(tb)
	corefile := fmt.Sprintf(`.:%d {
    bind 127.0.0.1
    ready 127.0.0.1:%d
    template IN A example.com {
        answer "{{ .Name }} 60 IN A 192.0.2.10"
    }
    template IN AAAA example.com {
        answer "{{ .Name }} 60 IN AAAA 2001:db8::10"
    }
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`, p.dns, p.ready)
	s := startServer(tb, dir, "upstream", bin, corefile, p)
	s.waitReady(tb, time.Minute)
	return s
}

type bins struct{ clusterdns, stock string }

func binaries(tb testing.TB) bins {
	tb.Helper()
	b := bins{clusterdns: *flagClient, stock: *flagStock}
	if b.clusterdns == "" {
		tb.Fatal("no clusterdns binary: set -clusterdns or CLUSTERDNS_BIN (make bench does)")
	}
	for _, p := range []string{b.clusterdns, b.stock} {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("%v (make bench builds it)", err)
		}
	}
	if _, err := exec.LookPath("dnsperf"); err != nil {
		tb.Fatalf("dnsperf: %v (apt-get install dnsperf)", err)
	}
	return b
}

// fastClient is an admin client without client-side rate limiting, for
// loading objects at the speed the API server takes them.
func fastClient(tb testing.TB, c *cluster.Cluster) kubernetes.Interface {
	client, err := kubernetes.NewForConfig(fastConfig(c))
	if err != nil {
		tb.Fatal(err)
	}
	return client
}

// fastConfig is the test bed's admin config without client-side rate
// limiting.
func fastConfig(c *cluster.Cluster) *rest.Config {
	cfg := *c.Config
	cfg.QPS, cfg.Burst = -1, 0
	cfg.RateLimiter = nil
	return &cfg
}

func serverVersion(tb testing.TB, client kubernetes.Interface) string {
	v, err := client.Discovery().ServerVersion()
	if err != nil {
		tb.Fatal(err)
	}
	return v.GitVersion
}

func readVersions(tb testing.TB, b bins) Versions {
	v := Versions{Go: runtime.Version()}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		v.ClusterDNS = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command(b.stock, "-version").Output(); err == nil {
		v.CoreDNS, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	}
	if out, err := exec.Command("dnsperf", "-h").CombinedOutput(); err == nil || len(out) > 0 {
		for l := range strings.Lines(string(out)) {
			if strings.HasPrefix(l, "Version ") {
				v.DNSPerf = strings.TrimSpace(strings.TrimPrefix(l, "Version "))
			}
		}
	}
	return v
}

func readMachine() Machine {
	var m Machine
	m.Cores = runtime.NumCPU()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb uint64
		fmt.Sscanf(string(b), "MemTotal: %d kB", &kb)
		m.Memory = kb << 10
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for l := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	return m
}
