package bench

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var flagSoak = flag.Duration("soak", time.Minute, "length of BenchmarkSoak's load")

// soakServices is the soak's cluster: enough for every kind of name.
const soakServices = 1_000

// BenchmarkSoak is `make soak` (issue 6): clusterdns with the shipped
// Corefile's plugins against the test bed, under dnsperf at the highest
// rate it sustains for -soak, with cluster names and pods' search walks for
// external names (through cache to a local upstream) mixed. It fails on a
// lost query, a SERVFAIL or goroutines that grew; it reports RSS at the
// first and last sample (from 10 s in, after warm-up) and its maximum.
func BenchmarkSoak(b *testing.B) {
	bins, c, work, up := servicesBed(b, soakServices)
	ctx := context.Background()

	lines := append(clusterQueries(soakServices, 0), searchWalkQueries()...)
	rng := rand.New(rand.NewPCG(3, 3))
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	file := filepath.Join(work, "soak.queries")
	if err := writeQueryFile(file, lines); err != nil {
		b.Fatal(err)
	}

	p := freePorts(b)
	cfg := benchConfig{plugin: "clusterdns", cache: true, podsMode: "insecure", kubeconfig: c.Kubeconfig, upstream: up.dns}
	s := startServer(b, work, "clusterdns-soak", bins.clusterdns, benchCorefile(cfg, p), p)
	s.waitReady(b, readyTimeout)
	s.waitAnswering(b)
	time.Sleep(settle)
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", p.metrics)
	goroutinesBefore := goroutines(b, metrics)

	// RSS once a second, from 10 s in: the first seconds grow the cache and
	// the runtime's pools to their working size.
	var (
		mu      sync.Mutex
		samples []uint64
	)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		begin := time.Now()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
			}
			if time.Since(begin) < 10*time.Second {
				continue
			}
			if v, err := s.RSS(); err == nil {
				mu.Lock()
				samples = append(samples, v)
				mu.Unlock()
			}
		}
	}()
	cpu0 := mustCPUOf(b, s)
	res, argv, err := dnsperfRun(ctx, s.dns, file, int(flagSoak.Seconds()), 0)
	stopSampling()
	if err != nil {
		b.Fatal(err)
	}
	cpu := mustCPUOf(b, s) - cpu0
	time.Sleep(2 * time.Second) // let the last queries' goroutines end
	goroutinesAfter := goroutines(b, metrics)

	mu.Lock()
	defer mu.Unlock()
	if len(samples) < 2 {
		b.Fatalf("only %d RSS samples: run the soak for longer than 12 s", len(samples))
	}
	first, last, peak := samples[0], samples[len(samples)-1], uint64(0)
	for _, v := range samples {
		peak = max(peak, v)
	}
	drift := 100 * (float64(last) - float64(first)) / float64(first)
	b.Logf("soak: %s", strings.Join(argv, " "))
	b.Logf("soak: %v at %.0f qps: %d sent, %d completed, %d lost; rcodes %v; %.1f µs CPU per query",
		*flagSoak, res.qps, res.sent, res.completed, res.lost, res.rcodes, float64(cpu.Microseconds())/float64(max(res.completed, 1)))
	b.Logf("soak: RSS first %.1f MiB, last %.1f MiB (%+.1f%%), peak %.1f MiB; goroutines %d before, %d after",
		mib(first), mib(last), drift, mib(peak), goroutinesBefore, goroutinesAfter)
	b.ReportMetric(res.qps, "qps")
	b.ReportMetric(drift, "rss-drift-%")
	if res.lost > 0 || res.rcodes["SERVFAIL"] > 0 {
		b.Errorf("soak: %d lost, %d SERVFAIL: want none", res.lost, res.rcodes["SERVFAIL"])
	}
	// A few goroutines come and go with the informers' watches.
	if goroutinesAfter > goroutinesBefore+5 {
		b.Errorf("soak: goroutines grew from %d to %d", goroutinesBefore, goroutinesAfter)
	}
	if drift > 5 || drift < -5 {
		b.Logf("soak: RSS moved more than 5%% (%+.1f%%)", drift)
	}
}

func mib(v uint64) float64 { return float64(v) / (1 << 20) }

func mustCPUOf(tb testing.TB, s *server) time.Duration {
	v, err := s.cpu()
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// goroutines reads go_goroutines from a Prometheus endpoint.
func goroutines(tb testing.TB, url string) int {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return int(n)
		}
	}
	tb.Fatalf("%s: no go_goroutines", url)
	return 0
}
