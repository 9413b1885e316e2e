package bench

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/cluster"
)

// relistServices is the cluster BenchmarkRelistAnswers relists: issue 16's
// 10k Services.
const relistServices = 10_000

// relistRate and relistSeconds are the query load through the relist: at
// a fixed rate, so that the load outlasts the restart on a busy machine.
const (
	relistRate    = 2_000
	relistSeconds = 40
)

// servicesBed starts an API-only test bed holding n Services, and the
// upstream in a work directory, for a benchmark of one server against
// them.
func servicesBed(b *testing.B, n int) (bins, *cluster.Cluster, string, *server) {
	bins := binaries(b)
	c := cluster.Start(b, cluster.Options{APIOnly: true})
	ld := &loader{client: fastClient(b, c), http: &http.Client{Timeout: time.Minute}}
	ctx := context.Background()
	if err := ld.ensureNamespaces(ctx); err != nil {
		b.Fatal(err)
	}
	if err := ld.services(ctx, 0, n); err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	return bins, c, work, startUpstream(b, work, bins.stock)
}

// BenchmarkRelistAnswers is `make relist` (issue 16): clusterdns on the
// test bed with 10k Services, asked at a fixed rate only for names that
// exist while the API server stops and starts again, which makes every
// informer list its kind anew. Answers must stay right through the
// relist: it fails on a lost query or any rcode but NOERROR (an NXDOMAIN
// or SERVFAIL for a name that exists).
func BenchmarkRelistAnswers(b *testing.B) {
	bins, c, work, up := servicesBed(b, relistServices)
	ctx := context.Background()

	// The cluster mix without its names that do not exist; pod names
	// exist for any address under `pods insecure`.
	var lines []string
	for _, l := range clusterQueries(relistServices, 0) {
		if !strings.HasPrefix(l, "missing-") {
			lines = append(lines, l)
		}
	}
	file := filepath.Join(work, "relist.queries")
	if err := writeQueryFile(file, lines); err != nil {
		b.Fatal(err)
	}

	p := freePorts(b)
	cfg := benchConfig{plugin: "clusterdns", podsMode: "insecure", kubeconfig: c.Kubeconfig, upstream: up.dns}
	s := startServer(b, work, "clusterdns-relist", bins.clusterdns, benchCorefile(cfg, p), p)
	s.waitReady(b, readyTimeout)
	s.waitAnswering(b)

	type result struct {
		perf perf
		argv []string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		res, argv, err := dnsperfRun(ctx, s.dns, file, relistSeconds, relistRate)
		done <- result{res, argv, err}
	}()
	// The restart falls inside the load: a few seconds of answers before
	// it, and the relist and its aftermath well before the load ends.
	time.Sleep(5 * time.Second)
	c.StopAPIServer()
	time.Sleep(time.Second)
	c.StartAPIServer()
	res := <-done
	if res.err != nil {
		b.Fatal(res.err)
	}
	b.Logf("relist: %s", strings.Join(res.argv, " "))
	b.Logf("relist: %d sent, %d completed, %d lost; rcodes %v", res.perf.sent, res.perf.completed, res.perf.lost, res.perf.rcodes)
	wrong := 0
	for rcode, n := range res.perf.rcodes {
		if rcode != "NOERROR" {
			wrong += n
		}
	}
	if res.perf.lost > 0 || wrong > 0 || res.perf.completed == 0 {
		b.Errorf("relist: %d lost and %d answers other than NOERROR (%v) for names that exist; want none", res.perf.lost, wrong, res.perf.rcodes)
	}
}
