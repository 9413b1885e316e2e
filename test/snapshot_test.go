package test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/cluster"
	"github.com/clusterdns/clusterdns/test/testkit"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSnapshotLastKnownGood restarts clusterdns while the API server is
// down. Stock CoreDNS answers SERVFAIL then (cd#4199, cd#6334); with a
// snapshot, clusterdns answers what it last knew within a second of its
// start, and live data takes over as soon as the API server is back. A
// truncated snapshot is refused with a log line, and that server starts as
// if there were none.
func TestSnapshotLastKnownGood(t *testing.T) {
	// outage is how long the API server stays down: long enough for
	// client-go's retry backoff to grow past several seconds.
	const outage = 15 * time.Second
	c := cluster.Start(t, cluster.Options{APIOnly: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	within := func(what string, check func() error) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, e2eTimeout)
		defer cancel()
		cluster.Eventually(t, wctx, what, check)
	}
	const ns = "lkg"
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	create := func(name string) *corev1.Service {
		t.Helper()
		svc, err := c.Client.CoreV1().Services(ns).Create(ctx, serviceOf(name, false, map[string]string{"app": name}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	kept, doomed := create("kept"), create("doomed")
	name := func(svc string) string { return svc + "." + ns + ".svc.cluster.local." }

	snap := filepath.Join(t.TempDir(), "snapshot")
	type instance struct {
		dns, ready, metrics int
	}
	corefile := func(in instance, options string) string {
		return fmt.Sprintf(`cluster.local:%d {
    bind 127.0.0.1
    ready 127.0.0.1:%d
    prometheus 127.0.0.1:%d
    clusterdns {
        kubeconfig %s
        startup_timeout 2s
%s
    }
}
`, in.dns, in.ready, in.metrics, c.Kubeconfig, options)
	}
	newInstance := func() instance {
		return instance{dns: testkit.FreePort(t), ready: testkit.FreePort(t), metrics: testkit.FreePort(t)}
	}
	// metric returns the line of a metric series ("name{labels} value").
	metric := func(in instance, series string) string {
		t.Helper()
		_, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", in.metrics))
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, series+" ") {
				return line
			}
		}
		return ""
	}

	// A server with the API server up writes the snapshot once synced.
	writer := startServer(t, corefile(newInstance(), "        snapshot "+snap+" 1s"))
	within("the snapshot holds both services", func() error {
		data, err := os.ReadFile(snap)
		if err != nil {
			return err
		}
		for _, svc := range []string{"kept", "doomed"} {
			if !bytes.Contains(data, []byte(`"name":"`+svc+`"`)) {
				return fmt.Errorf("no %s in %d bytes", svc, len(data))
			}
		}
		return nil
	})
	writer.stop(t)

	// While no clusterdns runs, the cluster changes; then the API server
	// goes away. The snapshot on disk is now stale and the only source.
	added := create("added")
	if err := c.Client.CoreV1().Services(ns).Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "truncated")
	if err := os.WriteFile(truncated, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	c.StopAPIServer()
	down := time.Now()

	// snapshot_ready: Ready from the snapshot; without it, Ready waits for
	// the sync; a truncated snapshot: nothing to serve.
	readyOn, readyOff, broken := newInstance(), newInstance(), newInstance()
	start := time.Now()
	srvReady := startServer(t, corefile(readyOn, "        snapshot "+snap+" 1s\n        snapshot_ready"))
	first := time.Now()
	got, rcode := answers(t, srvReady, name("kept"), dns.TypeA)
	firstAnswer := time.Since(start)
	if rcode != dns.RcodeSuccess || !slices.Equal(got, []string{kept.Spec.ClusterIP}) {
		t.Fatalf("with the API server down, from the snapshot: kept A %s %v, want %s", dns.RcodeToString[rcode], got, kept.Spec.ClusterIP)
	}
	t.Logf("first answer from the snapshot %s after start (the process answered its first query after %s, at %s)",
		firstAnswer.Round(time.Millisecond), srvReady.Startup.Round(time.Millisecond), first.Sub(start).Round(time.Millisecond))
	if firstAnswer > time.Second {
		t.Errorf("first answer from the snapshot %s after start, want within a second", firstAnswer)
	}
	srvNotReady := startServer(t, corefile(readyOff, "        snapshot "+snap+" 1s"))
	srvBroken := startServer(t, corefile(broken, "        snapshot "+truncated+" 1s"))

	// The snapshot's view, stale as it is, is served as it was.
	expect := func(s *server, svc string, wantRcode int, want ...string) {
		t.Helper()
		got, rcode := answers(t, s, name(svc), dns.TypeA)
		if rcode != wantRcode || !slices.Equal(got, want) {
			t.Errorf("%s A from %s: %s %v, want %s %v", svc, s.Addr, dns.RcodeToString[rcode], got, dns.RcodeToString[wantRcode], want)
		}
	}
	for _, s := range []*server{srvReady, srvNotReady} {
		expect(s, "kept", dns.RcodeSuccess, kept.Spec.ClusterIP)
		expect(s, "doomed", dns.RcodeSuccess, doomed.Spec.ClusterIP)
		expect(s, "added", dns.RcodeNameError)
	}
	srvBroken.waitLog(t, 0, 5*time.Second, "not serving snapshot "+truncated, "snapshot truncated")
	expect(srvBroken, "kept", dns.RcodeServerFailure)

	readyStatus := func(in instance) int {
		code, _ := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/ready", in.ready))
		return code
	}
	if code := readyStatus(readyOn); code != http.StatusOK {
		t.Errorf("snapshot_ready while serving the snapshot: /ready %d, want 200", code)
	}
	if code := readyStatus(readyOff); code == http.StatusOK {
		t.Error("without snapshot_ready, /ready said 200 before the sync")
	}
	synced := `coredns_clusterdns_synced{zone="cluster.local."}`
	if got := metric(readyOn, synced); got != synced+" 0" {
		t.Errorf("while serving the snapshot: %q, want %s 0", got, synced)
	}

	// A long outage: client-go's informers back off 0.8 s doubling to 30 s
	// (jittered up to 2x) between attempts, so after this one they would
	// retry only several seconds after the API server's return. The known
	// name answers throughout.
	for time.Since(down) < outage {
		expect(srvReady, "kept", dns.RcodeSuccess, kept.Spec.ClusterIP)
		time.Sleep(100 * time.Millisecond)
	}

	// The API server returns: live data replaces the snapshot, deletions
	// included, within a second of its readiness. Both instants are polled
	// side by side every 10 ms, so neither is seen late by a slower poll.
	first = time.Now()
	polled := func(check func(ctx context.Context) bool) <-chan time.Time {
		at := make(chan time.Time, 1)
		go func() {
			for ctx.Err() == nil {
				if check(ctx) {
					at <- time.Now()
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		return at
	}
	apiReady := polled(func(ctx context.Context) bool {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
		return err == nil
	})
	live := polled(func(context.Context) bool {
		m := new(dns.Msg).SetQuestion(name("added"), dns.TypeA)
		r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, srvReady.Addr)
		return err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1
	})
	c.StartAPIServer()
	var readyAt, liveAt time.Time
	select {
	case readyAt = <-apiReady:
	case <-time.After(e2eTimeout):
		t.Fatal("the test never saw /readyz succeed")
	}
	select {
	case liveAt = <-live:
	case <-time.After(e2eTimeout):
		t.Fatalf("live data did not replace the snapshot within %s", e2eTimeout)
	}
	takeover := liveAt.Sub(readyAt)
	t.Logf("API server started at 0, /readyz ok at %s, live data served at %s: %s after readiness",
		readyAt.Sub(first).Round(time.Millisecond), liveAt.Sub(first).Round(time.Millisecond), takeover.Round(time.Millisecond))
	if takeover > time.Second {
		t.Errorf("live data took %s after the API server was ready, want within a second", takeover)
	}
	expect(srvReady, "added", dns.RcodeSuccess, added.Spec.ClusterIP)
	expect(srvReady, "doomed", dns.RcodeNameError)
	if got := metric(readyOn, synced); got != synced+" 1" {
		t.Errorf("after the sync: %q, want %s 1", got, synced)
	}
	for _, s := range []*server{srvNotReady, srvBroken} {
		eventually(t, s, name("added"), dns.TypeA, is(added.Spec.ClusterIP))
		eventually(t, s, name("doomed"), dns.TypeA, nxdomain)
	}
	within("/ready 200 once synced", func() error {
		if code := readyStatus(readyOff); code != http.StatusOK {
			return fmt.Errorf("/ready %d", code)
		}
		return nil
	})
	// And the snapshot follows the live view.
	within("the snapshot is rewritten from live data", func() error {
		data, err := os.ReadFile(snap)
		if err != nil {
			return err
		}
		if !bytes.Contains(data, []byte(`"name":"added"`)) || bytes.Contains(data, []byte(`"name":"doomed"`)) {
			return fmt.Errorf("snapshot not yet rewritten")
		}
		return nil
	})
	if got := metric(readyOn, `coredns_clusterdns_snapshot_writes_total{result="ok"}`); got == "" {
		t.Error("no successful snapshot write counted")
	}
	// A snapshot that cannot be written is counted and logged, and the
	// server answers on.
	unwritable := filepath.Join(t.TempDir(), "missing-dir", "snapshot")
	failing := newInstance()
	srvFailing := startServer(t, corefile(failing, "        snapshot "+unwritable+" 1s"))
	srvFailing.waitLog(t, 0, 10*time.Second, "writing snapshot "+unwritable)
	// Every attempt fails and is counted; the log says so once (each
	// failure names another temp file: a text comparison would not do).
	failed := `coredns_clusterdns_snapshot_writes_total{result="error"}`
	within("three failed snapshot writes counted", func() error {
		line := metric(failing, failed)
		if line == "" || line == failed+" 1" || line == failed+" 2" {
			return fmt.Errorf("%q", line)
		}
		return nil
	})
	if n := strings.Count(srvFailing.Log(), "writing snapshot "+unwritable); n != 1 {
		t.Errorf("the failing snapshot write was logged %d times, want once", n)
	}
	expect(srvFailing, "added", dns.RcodeSuccess, added.Spec.ClusterIP)
}
