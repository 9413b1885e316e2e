package file_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/source/file"
	"github.com/clusterdns/clusterdns/test/testkit"
)

// A write is loaded at the second check after it: the first sees the file
// change, the second sees it hold still. So an edit is answered within two
// intervals (DefaultInterval: 0.2 s) plus the time to decode the file.
func TestSourceLoadsAtSecondCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	writeFile(t, path, manifest("10.96.0.10"))
	ix := index.New(index.Options{})
	// No tick comes within the test: the test polls.
	src := file.New(file.Config{Path: path, Interval: time.Hour}, ix)
	if err := src.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Stop)

	replaceFile(t, path, manifest("10.96.0.11"))
	src.Poll()
	if got := clusterIP(ix, "web.prod"); got != "10.96.0.10" {
		t.Fatalf("loaded at the check that saw the write: web.prod = %s", got)
	}
	src.Poll()
	if got := clusterIP(ix, "web.prod"); got != "10.96.0.11" {
		t.Fatalf("not loaded at the second check: web.prod = %s", got)
	}
	if file.DefaultInterval > 100*time.Millisecond {
		t.Errorf("DefaultInterval %v: README promises an edit answered within 0.2 s plus decoding", file.DefaultInterval)
	}
}

// How long an edit takes to be answered with the default interval,
// measured by the answer changing: logged, not held to a bound a loaded
// machine could miss (TestSourceLoadsAtSecondCheck holds the mechanism).
func TestSourceEditLatency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	writeFile(t, path, manifest("10.96.0.10"))
	ix := index.New(index.Options{})
	src := file.New(file.Config{Path: path}, ix)
	if err := src.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Stop)
	start := time.Now()
	replaceFile(t, path, manifest("10.96.0.11"))
	waitFor(t, "web.prod at 10.96.0.11", func() bool { return clusterIP(ix, "web.prod") == "10.96.0.11" })
	t.Logf("edit answered after %v (interval %v)", time.Since(start), file.DefaultInterval)
}

// A file deleted and put back as it was loads nothing new, and says that
// the source recovered.
func TestSourceRecoveryLogged(t *testing.T) {
	logged := testkit.CaptureStdLog(t)
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	content := manifest("10.96.0.10")
	writeFile(t, path, content)
	_, _, l := startSource(t, path)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	logged.Await(t, 0, "Reload failed", deadline)
	offset := logged.Len()
	writeFile(t, path, content)
	logged.Await(t, offset, "Recovered "+path, deadline)
	if err := l.last(); err != nil {
		t.Errorf("OnLoad after the recovery: %v", err)
	}
}

// programmed records what the index reports to the programming latency
// metric.
type programmed struct {
	mu        sync.Mutex
	latencies []time.Duration
}

func (p *programmed) observe(_ index.ServiceKind, latency time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latencies = append(p.latencies, latency)
}

func (p *programmed) get() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.latencies...)
}

// The programming latency of a reload is observed for the objects it
// changed only, from when the change was seen, not from the manifests'
// timestamps (a year old here).
func TestSourceProgrammingLatency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	cluster := func(webIP string) string {
		return `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: prod, creationTimestamp: "2025-01-01T00:00:00Z"}
  spec: {clusterIP: ` + webIP + `}
- apiVersion: v1
  kind: Service
  metadata: {name: api, namespace: prod, creationTimestamp: "2025-01-01T00:00:00Z"}
  spec: {clusterIP: 10.96.0.20}
`
	}
	writeFile(t, path, cluster("10.96.0.10"))
	p := &programmed{}
	ix := index.New(index.Options{Programmed: p.observe})
	src := file.New(file.Config{Path: path, Interval: time.Hour}, ix)
	if err := src.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Stop)
	if got := p.get(); len(got) != 0 {
		t.Fatalf("the first load observed %v: what a start lists is not a change", got)
	}

	seen := time.Now()
	replaceFile(t, path, cluster("10.96.0.11"))
	src.Poll()
	src.Poll()
	got := p.get()
	if len(got) != 1 {
		t.Fatalf("observed %v, want one latency: web changed, api did not", got)
	}
	if limit := time.Since(seen); got[0] < 0 || got[0] > limit {
		t.Errorf("latency %v, want at most %v: from when the change was seen", got[0], limit)
	}

	// The same content again, with a comment: nothing changed.
	replaceFile(t, path, "# rewritten\n"+cluster("10.96.0.11"))
	src.Poll()
	src.Poll()
	if got := p.get(); len(got) != 1 {
		t.Errorf("observed %v after a rewrite that changed no object", got)
	}
}

// The load's log line counts what the index holds, as the objects metric
// does: pods are indexed only under pods verified, and the line says so.
func TestSourceLoadSummaryCountsIndexed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	writeFile(t, path, `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a, namespace: prod}
  status: {phase: Running, podIPs: [{ip: 10.244.0.1}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: b, namespace: prod}
  status: {phase: Running, podIPs: [{ip: 10.244.0.2}]}
`)
	for _, tt := range []struct {
		name string
		pods bool
		want string
	}{
		{name: "pods verified", pods: true, want: "0 services, 0 endpointslices, 2 pods, 0 namespaces indexed\n"},
		{name: "other pod modes", want: "0 services, 0 endpointslices, 0 pods, 0 namespaces indexed; 2 pods not indexed (only pods verified reads them)\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logged := testkit.CaptureStdLog(t)
			ix := index.New(index.Options{Pods: tt.pods})
			src := file.New(file.Config{Path: path, Interval: time.Hour}, ix)
			if err := src.Start(); err != nil {
				t.Fatal(err)
			}
			src.Stop()
			if !strings.Contains(logged.String(), tt.want) {
				t.Errorf("log says\n%s\nwant %q", logged, tt.want)
			}
			pods := 0
			if tt.pods {
				pods = 2
			}
			if got := ix.Counts()[object.KindPod]; got != pods {
				t.Errorf("index holds %d pods, want %d", got, pods)
			}
		})
	}
}
