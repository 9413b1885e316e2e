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
	"github.com/clusterdns/clusterdns/plugin/clusterdns/source/file"
)

// Fast polling keeps the tests short; the deadline is generous for loaded
// CI machines.
const (
	testInterval = 10 * time.Millisecond
	deadline     = 10 * time.Second
)

// manifest is a one-Service cluster: prod/web at clusterIP, plus extra
// services when given.
func manifest(clusterIP string, extra ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	svc := func(name, ip string) {
		fmt.Fprintf(&b, "- apiVersion: v1\n  kind: Service\n  metadata: {name: %s, namespace: prod}\n  spec: {clusterIP: %s}\n", name, ip)
	}
	svc("web", clusterIP)
	for i, name := range extra {
		svc(name, fmt.Sprintf("10.96.1.%d", i+1))
	}
	return b.String()
}

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

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceFile replaces path the way editors and ConfigMap updates do: a new
// file renamed over the old one.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
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
	if len(svc.ClusterIPs) == 0 {
		return "no cluster IP"
	}
	return svc.ClusterIPs[0].String()
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
	writeFile(t, path, manifest("10.96.0.10"))
	ix, src, l := startSource(t, path)
	if got := clusterIP(ix, "web.prod"); got != "10.96.0.10" {
		t.Fatalf("after Start: web.prod = %s", got)
	}

	steps := []struct {
		name  string
		write func(t *testing.T, path, content string)
		ip    string
	}{
		// Same size as before, right after the load: only the racy check
		// can see this one when the file system's clock is coarse.
		{name: "written in place", write: writeFile, ip: "10.96.0.11"},
		{name: "renamed over", write: replaceFile, ip: "10.96.0.12"},
		{name: "written in place again", write: writeFile, ip: "10.96.0.13"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.write(t, path, manifest(s.ip))
			// A poll may catch a file written in place half-way and report
			// an error before the whole file loads.
			waitFor(t, "web.prod at "+s.ip+" and a successful load", func() bool {
				return clusterIP(ix, "web.prod") == s.ip && l.last() == nil
			})
		})
	}

	t.Run("broken file keeps the last good state", func(t *testing.T) {
		replaceFile(t, path, manifest("10.96.0.x"))
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
		replaceFile(t, path, manifest("10.96.0.14", "api"))
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
		writeFile(t, path, manifest("10.96.0.15"))
		waitFor(t, "web.prod at 10.96.0.15", func() bool { return clusterIP(ix, "web.prod") == "10.96.0.15" })
	})

	src.Stop()
	src.Stop()
	// Stopped means stopped: changes no longer load. Checking that nothing
	// happens takes a wait; twenty polls' worth is plenty.
	count := l.count()
	writeFile(t, path, manifest("10.96.0.99"))
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
		writeFile(t, filepath.Join(v, "cluster.yaml"), content)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(v), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version(1, manifest("10.96.0.10"))
	path := filepath.Join(dir, "cluster.yaml")
	if err := os.Symlink(filepath.Join("..data", "cluster.yaml"), path); err != nil {
		t.Fatal(err)
	}
	ix, _, _ := startSource(t, path)
	if got := clusterIP(ix, "web.prod"); got != "10.96.0.10" {
		t.Fatalf("after Start: web.prod = %s", got)
	}
	version(2, manifest("10.96.0.20"))
	waitFor(t, "web.prod at 10.96.0.20", func() bool { return clusterIP(ix, "web.prod") == "10.96.0.20" })
}

// A write that leaves size and modification time as they were (two writes
// within one tick of the file system's clock) is still seen.
func TestSourceRacyWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	mtime := time.Now().Truncate(time.Second)
	writeFile(t, path, manifest("10.96.0.10"))
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	ix, _, _ := startSource(t, path)

	writeFile(t, path, manifest("10.96.0.11"))
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web.prod at 10.96.0.11", func() bool { return clusterIP(ix, "web.prod") == "10.96.0.11" })
}

// Touching the file, or rewriting the same content, publishes nothing new.
func TestSourceSameContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	content := manifest("10.96.0.10")
	writeFile(t, path, content)
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
		{name: "invalid object", content: ptr(manifest("10.96.0.x")), wantErr: `Service "prod/web" (document 1, item 1): invalid clusterIP "10.96.0.x"`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("cluster-%d.yaml", i))
			if tc.content != nil {
				writeFile(t, path, *tc.content)
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
	writeFile(t, path, manifest("10.96.0.10"))
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
	writeFile(t, path, manifest("10.96.0.10"))
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
