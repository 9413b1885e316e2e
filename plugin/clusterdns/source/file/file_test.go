package file_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/logtest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/source/file"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/source/file/filetest"
)

// Fast polling keeps the tests short; the deadline is generous for loaded
// CI machines.
const (
	testInterval = 10 * time.Millisecond
	deadline     = 10 * time.Second
)

// loads records what OnLoad was told.
type loads struct {
	mu   sync.Mutex
	errs []error
}

func (l *loads) record(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *loads) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.errs)
}

func (l *loads) last() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) == 0 {
		return errors.New("no load yet")
	}
	return l.errs[len(l.errs)-1]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func clusterIP(ix *index.Index, key string) string {
	snap := ix.View()
	if snap == nil {
		return "no snapshot"
	}
	svc := snap.Service([]byte(key))
	if svc == nil {
		return "no service"
	}
	if len(svc.ClusterIPs()) == 0 {
		return "no cluster IP"
	}
	return svc.ClusterIPs()[0].String()
}

func startSource(t *testing.T, path string) (*index.Index, *file.Source, *loads) {
	t.Helper()
	ix := index.New(index.Options{})
	l := &loads{}
	src := file.New(file.Config{Path: path, Interval: testInterval, OnLoad: l.record}, ix)
	if err := src.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Stop)
	if err := l.last(); err != nil {
		t.Fatalf("OnLoad after Start: %v", err)
	}
	return ix, src, l
}

func TestSourceReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	filetest.Write(t, path, filetest.Manifest("10.96.0.10"))
	ix, src, l := startSource(t, path)
	if got := clusterIP(ix, "web.prod"); got != "10.96.0.10" {
		t.Fatalf("after Start: web.prod = %s", got)
	}

	steps := []struct {
		name  string
		write func(tb testing.TB, path, content string)
		ip    string
	}{
		// Same size as before, right after the load: only the racy check
		// can see this one when the file system's clock is coarse.
		{name: "written in place", write: filetest.Write, ip: "10.96.0.11"},
		{name: "renamed over", write: filetest.Replace, ip: "10.96.0.12"},
		{name: "written in place again", write: filetest.Write, ip: "10.96.0.13"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.write(t, path, filetest.Manifest(s.ip))
			// A poll may catch a file written in place half-way and report
			// an error before the whole file loads.
			waitFor(t, "web.prod at "+s.ip+" and a successful load", func() bool {
				return clusterIP(ix, "web.prod") == s.ip && l.last() == nil
			})
		})
	}

	t.Run("broken file keeps the last good state", func(t *testing.T) {
		filetest.Replace(t, path, filetest.Manifest("10.96.0.x"))
		waitFor(t, "a failed load", func() bool { return l.last() != nil })
		err := l.last()
		if !strings.Contains(err.Error(), `Service "prod/web" (document 1, item 1): invalid clusterIP "10.96.0.x"`) {
			t.Fatalf("OnLoad got %v, want the invalid clusterIP", err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
		if got := clusterIP(ix, "web.prod"); got != "10.96.0.13" {
			t.Fatalf("after a failed reload: web.prod = %s, want the last good 10.96.0.13", got)
		}
	})

	t.Run("fixed file loads", func(t *testing.T) {
		filetest.Replace(t, path, filetest.Manifest("10.96.0.14", "api"))
		waitFor(t, "api.prod and a successful load", func() bool {
			return clusterIP(ix, "api.prod") == "10.96.1.1" && l.last() == nil
		})
	})

	t.Run("removed file keeps the last good state", func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a failed load", func() bool { return errors.Is(l.last(), os.ErrNotExist) })
		if got := clusterIP(ix, "web.prod"); got != "10.96.0.14" {
			t.Fatalf("after the file went away: web.prod = %s", got)
		}
		filetest.Write(t, path, filetest.Manifest("10.96.0.15"))
		waitFor(t, "web.prod at 10.96.0.15", func() bool { return clusterIP(ix, "web.prod") == "10.96.0.15" })
	})

	src.Stop()
	src.Stop()
	// Stopped means stopped: changes no longer load. Checking that nothing
	// happens takes a wait; twenty polls' worth is plenty.
	count := l.count()
	filetest.Write(t, path, filetest.Manifest("10.96.0.99"))
	time.Sleep(20 * testInterval)
	if l.count() != count || clusterIP(ix, "web.prod") != "10.96.0.15" {
		t.Fatalf("a stopped source loaded the file: web.prod = %s", clusterIP(ix, "web.prod"))
	}
	if err := src.Start(); err == nil {
		t.Fatal("a stopped source started again")
	}
}

// A ConfigMap volume: the file is a symlink into ..data, itself a symlink
// to a timestamped directory; an update writes a new directory and swaps
// ..data.
func TestSourceConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(n int, content string) {
		t.Helper()
		v := filepath.Join(dir, fmt.Sprintf("..2026_03_01_10_00_0%d", n))
		if err := os.Mkdir(v, 0o755); err != nil {
			t.Fatal(err)
		}
		filetest.Write(t, filepath.Join(v, "cluster.yaml"), content)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(v), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version(1, filetest.Manifest("10.96.0.10"))
	path := filepath.Join(dir, "cluster.yaml")
	if err := os.Symlink(filepath.Join("..data", "cluster.yaml"), path); err != nil {
		t.Fatal(err)
	}
	ix, _, _ := startSource(t, path)
	if got := clusterIP(ix, "web.prod"); got != "10.96.0.10" {
		t.Fatalf("after Start: web.prod = %s", got)
	}
	version(2, filetest.Manifest("10.96.0.20"))
	waitFor(t, "web.prod at 10.96.0.20", func() bool { return clusterIP(ix, "web.prod") == "10.96.0.20" })
}

// A write that leaves size and modification time as they were (two writes
// within one tick of the file system's clock) is still seen.
func TestSourceRacyWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	mtime := time.Now().Truncate(time.Second)
	filetest.Write(t, path, filetest.Manifest("10.96.0.10"))
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	ix, _, _ := startSource(t, path)

	filetest.Write(t, path, filetest.Manifest("10.96.0.11"))
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web.prod at 10.96.0.11", func() bool { return clusterIP(ix, "web.prod") == "10.96.0.11" })
}

// Touching the file, or rewriting the same content, publishes nothing new.
func TestSourceSameContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	content := filetest.Manifest("10.96.0.10")
	filetest.Write(t, path, content)
	// An old modification time keeps the racy check out of this test.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	ix, _, l := startSource(t, path)
	snap := ix.View()

	before := l.count()
	later := old.Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a load after the touch", func() bool { return l.count() > before })
	if err := l.last(); err != nil {
		t.Fatalf("OnLoad: %v", err)
	}
	if ix.View() != snap {
		t.Fatal("a touch published a new snapshot")
	}
}

func TestSourceStartFails(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content *string // nil: no file
		wantErr string
	}{
		{name: "missing file", wantErr: "no such file"},
		{name: "empty file", content: new(string), wantErr: "file is empty"},
		{name: "blank file", content: ptr(" \n\n"), wantErr: "file is empty"},
		{name: "invalid YAML", content: ptr("kind: [\n"), wantErr: "document 1: invalid YAML"},
		{name: "invalid object", content: ptr(filetest.Manifest("10.96.0.x")), wantErr: `Service "prod/web" (document 1, item 1): invalid clusterIP "10.96.0.x"`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("cluster-%d.yaml", i))
			if tc.content != nil {
				filetest.Write(t, path, *tc.content)
			}
			ix := index.New(index.Options{})
			l := &loads{}
			src := file.New(file.Config{Path: path, Interval: testInterval, OnLoad: l.record}, ix)
			err := src.Start()
			if err == nil {
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Start error %q does not contain %q and the path", err, tc.wantErr)
			}
			if l.count() != 1 || l.last() == nil {
				t.Fatalf("OnLoad calls %v, want one with the error", l.errs)
			}
			if ix.View() != nil {
				t.Fatal("a failed start published a snapshot")
			}
			src.Stop()
			src.Stop()
		})
	}
}

// Stop without Start ends the source, twice without harm: a Start after
// it fails and loads nothing, so that no watcher runs that no Stop would
// end.
func TestSourceStopWithoutStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	filetest.Write(t, path, filetest.Manifest("10.96.0.10"))
	ix := index.New(index.Options{})
	l := &loads{}
	src := file.New(file.Config{Path: path, Interval: testInterval, OnLoad: l.record}, ix)
	src.Stop()
	src.Stop()
	if err := src.Start(); err == nil {
		t.Fatal("Start after Stop succeeded")
	}
	if l.count() != 0 || ix.View() != nil {
		t.Errorf("a stopped source loaded the file: %d loads, view %v", l.count(), ix.View())
	}
}

func TestSourceStartTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	filetest.Write(t, path, filetest.Manifest("10.96.0.10"))
	_, src, _ := startSource(t, path)
	if err := src.Start(); err == nil {
		t.Fatal("a second Start succeeded")
	}
}

// The demo cluster loads through the source too.
func TestSourceDemoCluster(t *testing.T) {
	ix, _, _ := startSource(t, demoFile)
	if got := clusterIP(ix, "api.prod"); got != netip.MustParseAddr("10.96.0.20").String() {
		t.Fatalf("api.prod = %s", got)
	}
}

func ptr[T any](v T) *T { return &v }

// A write is loaded at the second check after it: the first sees the file
// change, the second sees it hold still. So an edit is answered within two
// intervals (DefaultInterval: 0.2 s) plus the time to decode the file.
func TestSourceLoadsAtSecondCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	filetest.Write(t, path, filetest.Manifest("10.96.0.10"))
	ix := index.New(index.Options{})
	// No tick comes within the test: the test polls.
	src := file.New(file.Config{Path: path, Interval: time.Hour}, ix)
	if err := src.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Stop)

	filetest.Replace(t, path, filetest.Manifest("10.96.0.11"))
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
	filetest.Write(t, path, filetest.Manifest("10.96.0.10"))
	ix := index.New(index.Options{})
	src := file.New(file.Config{Path: path}, ix)
	if err := src.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Stop)
	start := time.Now()
	filetest.Replace(t, path, filetest.Manifest("10.96.0.11"))
	waitFor(t, "web.prod at 10.96.0.11", func() bool { return clusterIP(ix, "web.prod") == "10.96.0.11" })
	t.Logf("edit answered after %v (interval %v)", time.Since(start), file.DefaultInterval)
}

// A file deleted and put back as it was loads nothing new, and says that
// the source recovered.
func TestSourceRecoveryLogged(t *testing.T) {
	logged := logtest.Capture(t)
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	content := filetest.Manifest("10.96.0.10")
	filetest.Write(t, path, content)
	_, _, l := startSource(t, path)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	logged.Await(t, 0, "Reload failed", deadline)
	offset := logged.Len()
	filetest.Write(t, path, content)
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
	filetest.Write(t, path, filetest.Manifest("10.96.0.10", "api"))
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
	filetest.Replace(t, path, filetest.Manifest("10.96.0.11", "api"))
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
	filetest.Replace(t, path, "# rewritten\n"+filetest.Manifest("10.96.0.11", "api"))
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
	filetest.Write(t, path, `apiVersion: v1
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
		{name: "other pod modes", want: "0 services, 0 endpointslices, 0 pods, 0 namespaces indexed; 2 pods not indexed (only pods verified and visibility read them)\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logged := logtest.Capture(t)
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
