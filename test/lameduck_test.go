package test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestSigtermLameduck stops a server under a steady query stream: from
// SIGTERM on, /ready must say no at once (it said 200 for the whole
// lameduck before) while the health plugin's lameduck keeps answering.
// After the exit, queries are refused at once and clients move on.
func TestSigtermLameduck(t *testing.T) {
	t.Parallel()
	const lameduck = 2 * time.Second
	l := newLocal(t)
	corefile := fmt.Sprintf(`cluster.local:%d {
    bind 127.0.0.1
    health %s {
        lameduck %s
    }
    ready %s
    clusterdns {
        source file %s
        pods insecure
    }
}
`, l.DNS, loopback(l.Health), lameduck, loopback(l.Ready), l.Manifest)
	s := startServer(t, corefile)
	readyURL := fmt.Sprintf("http://%s/ready", loopback(l.Ready))
	ready := func() bool {
		resp, err := (&http.Client{Timeout: 200 * time.Millisecond}).Get(readyURL)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	for deadline := time.Now().Add(5 * time.Second); !ready(); {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(10 * time.Millisecond)
	}

	var (
		stop                        atomic.Bool
		answered, refused, timeouts atomic.Int64
		mu                          sync.Mutex
		lastAnswer                  time.Time
		wg                          sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			c := &dns.Client{Timeout: 500 * time.Millisecond}
			m := new(dns.Msg).SetQuestion("web.prod.svc.cluster.local.", dns.TypeA)
			for !stop.Load() {
				r, _, err := c.Exchange(m, s.Addr)
				switch {
				case err == nil && r.Rcode == dns.RcodeSuccess:
					answered.Add(1)
					mu.Lock()
					lastAnswer = time.Now()
					mu.Unlock()
				case err != nil && isTimeout(err):
					timeouts.Add(1)
				default:
					refused.Add(1)
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	sigterm := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var notReadyAfter time.Duration
	for notReadyAfter == 0 && time.Since(sigterm) < lameduck {
		if !ready() {
			notReadyAfter = time.Since(sigterm)
		}
		time.Sleep(5 * time.Millisecond)
	}
	<-s.done
	exited := time.Since(sigterm)
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	answeredUntil := lastAnswer.Sub(sigterm)
	mu.Unlock()
	t.Logf("SIGTERM: not ready after %v, last answer after %v, exit after %v; %d answered, %d refused, %d timed out",
		notReadyAfter, answeredUntil, exited, answered.Load(), refused.Load(), timeouts.Load())
	if notReadyAfter == 0 || notReadyAfter > 200*time.Millisecond {
		t.Errorf("/ready still said 200 %v after SIGTERM (0: for the whole lameduck)", notReadyAfter)
	}
	if answeredUntil < lameduck-200*time.Millisecond {
		t.Errorf("answers stopped %v after SIGTERM, before the %v lameduck ended", answeredUntil, lameduck)
	}
	// Not yet asserted (issue 6 stays open on it): a few queries time out at
	// the exit, 3 of ~25 000 here, as stock drops some. CoreDNS's server
	// stops reading its UDP socket and closes it with packets still queued
	// (miekg/dns's shutdown sets a read deadline in the past); draining the
	// queue before the close is a change to the server, not the plugin.
	if n := timeouts.Load(); n > 0 {
		t.Logf("%d queries timed out at the exit (dropped in flight; known, see above)", n)
	}
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	te, ok := err.(timeout)
	return ok && te.Timeout()
}
