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

// TestSigtermLameduck stops a server under a steady query stream, the way
// a rollout does: from SIGTERM on, /ready must say no at once (CoreDNS
// closes the ready listener before health's lameduck wait; a change of
// directive order in our build would break that) while the lameduck keeps
// answering. The load follows readiness as a Service does: a moment after
// /ready says no (kube-proxy's propagation), no new query is sent to the
// pod. Then not one query may be lost: every query sent was answered. A
// server that left the endpoints late, or stopped answering before its
// lameduck ended, loses the queries still routed to it at its exit (a
// load that ignores readiness loses 1-3 of ~25 000 there: UDP packets
// queued when the socket closes).
func TestSigtermLameduck(t *testing.T) {
	t.Parallel()
	const (
		lameduck = 2 * time.Second
		// propagation is how long after /ready says no the load stops:
		// the endpoint update reaching kube-proxy on every node.
		propagation = 500 * time.Millisecond
	)
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
		routed                         atomic.Bool // the pod is among the Service's endpoints
		answered, failed, timeouts     atomic.Int64
		probeAnswered, probeLostAtExit atomic.Int64
		mu                             sync.Mutex
		lastAnswer                     time.Time // of the prober
		wg                             sync.WaitGroup
	)
	routed.Store(true)
	m := new(dns.Msg).SetQuestion("web.prod.svc.cluster.local.", dns.TypeA)
	// The routed load: as fast as 4 clients go, while routed.
	for range 4 {
		wg.Go(func() {
			c := &dns.Client{Timeout: 500 * time.Millisecond}
			for routed.Load() {
				r, _, err := c.Exchange(m, s.Addr)
				switch {
				case err == nil && r.Rcode == dns.RcodeSuccess:
					answered.Add(1)
				case err != nil && isTimeout(err):
					timeouts.Add(1)
				default:
					failed.Add(1)
				}
			}
		})
	}
	// The prober asks directly every 20 ms until the process is gone, to
	// see the lameduck answer after the routed load has stopped.
	exited := make(chan struct{})
	wg.Go(func() {
		c := &dns.Client{Timeout: 200 * time.Millisecond}
		for {
			select {
			case <-exited:
				return
			case <-time.After(20 * time.Millisecond):
			}
			r, _, err := c.Exchange(m, s.Addr)
			switch {
			case err == nil && r.Rcode == dns.RcodeSuccess:
				probeAnswered.Add(1)
				mu.Lock()
				lastAnswer = time.Now()
				mu.Unlock()
			case err != nil && isTimeout(err):
				probeLostAtExit.Add(1)
			}
		}
	})
	time.Sleep(300 * time.Millisecond)
	sigterm := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The endpoints controller and kube-proxy: /ready polled as a kubelet
	// would (faster), the route removed propagation after the first no.
	var notReadyAfter time.Duration
	for notReadyAfter == 0 && time.Since(sigterm) < 2*lameduck {
		if !ready() {
			notReadyAfter = time.Since(sigterm)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if notReadyAfter != 0 {
		time.Sleep(propagation)
	}
	routed.Store(false)
	unrouted := time.Since(sigterm)
	<-s.done
	exitedAfter := time.Since(sigterm)
	close(exited)
	wg.Wait()

	mu.Lock()
	answeredUntil := lastAnswer.Sub(sigterm)
	mu.Unlock()
	t.Logf("SIGTERM: not ready after %v, unrouted after %v, last probe answer after %v, exit after %v; routed load: %d answered, %d failed, %d timed out; prober: %d answered, %d lost at the exit",
		notReadyAfter, unrouted.Round(time.Millisecond), answeredUntil.Round(time.Millisecond), exitedAfter.Round(time.Millisecond),
		answered.Load(), failed.Load(), timeouts.Load(), probeAnswered.Load(), probeLostAtExit.Load())
	if notReadyAfter == 0 || notReadyAfter > 200*time.Millisecond {
		t.Errorf("/ready still said 200 %v after SIGTERM (0: until the exit)", notReadyAfter)
	}
	if unrouted > exitedAfter {
		t.Errorf("the server exited %v after SIGTERM, before its route was gone (%v)", exitedAfter, unrouted)
	}
	if n := timeouts.Load() + failed.Load(); n > 0 {
		t.Errorf("%d routed queries lost (%d timed out, %d failed), want none", n, timeouts.Load(), failed.Load())
	}
	if answeredUntil < lameduck-200*time.Millisecond {
		t.Errorf("answers stopped %v after SIGTERM, before the %v lameduck ended", answeredUntil, lameduck)
	}
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	te, ok := err.(timeout)
	return ok && te.Timeout()
}
