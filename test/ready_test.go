package test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestReadyMeansAnswering starts the demo server several times and, from
// the moment of exec, polls /ready and asks a cluster name side by side
// every millisecond: /ready must never say 200 before the DNS port answers
// the name (issue 6; stock CoreDNS says ready tens of milliseconds before
// its port answers). A pod marked Ready joins the kube-dns Service at once,
// and every query sent to it before it answers is a timeout for some pod.
func TestReadyMeansAnswering(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(repoPath(t, "corefiles/demo.Corefile"))
	if err != nil {
		t.Fatal(err)
	}
	for run := range 5 {
		l := newLocal(t)
		path := filepath.Join(t.TempDir(), "Corefile")
		if err := os.WriteFile(path, []byte(localize(t, string(data), l)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binary(t), "-conf", path)
		cmd.Dir = repoRoot(t)
		log := &logBuffer{}
		cmd.Stdout, cmd.Stderr = log, log
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var readyAt, answerAt time.Duration
		var wg sync.WaitGroup
		deadline := start.Add(startTimeout)
		wg.Go(func() {
			client := &http.Client{Timeout: 100 * time.Millisecond}
			for time.Now().Before(deadline) {
				if resp, err := client.Get(fmt.Sprintf("http://%s/ready", loopback(l.Ready))); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						readyAt = time.Since(start)
						return
					}
				}
				time.Sleep(time.Millisecond)
			}
		})
		wg.Go(func() {
			c := &dns.Client{Timeout: 100 * time.Millisecond}
			m := new(dns.Msg).SetQuestion("web.prod.svc.cluster.local.", dns.TypeA)
			for time.Now().Before(deadline) {
				if r, _, err := c.Exchange(m, loopback(l.DNS)); err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
					answerAt = time.Since(start)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
		wg.Wait()
		cmd.Process.Kill()
		cmd.Wait()
		if readyAt == 0 || answerAt == 0 {
			t.Fatalf("run %d: ready after %v, answering after %v (zero: never)\n%s", run, readyAt, answerAt, log.String())
		}
		// The two pollers each take up to a millisecond between tries.
		if readyAt+2*time.Millisecond < answerAt {
			t.Errorf("run %d: /ready said 200 after %v, but the port answered only after %v", run, readyAt, answerAt)
		}
		t.Logf("run %d: ready after %v, answering after %v", run, readyAt, answerAt)
	}
}
