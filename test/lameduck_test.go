package test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/testkit"

	"github.com/miekg/dns"
)

// TestSigtermLameduck stops a server under a steady query stream, the way
// a rollout does. From SIGTERM on, /ready must say no while the server still
// answers (CoreDNS closes the ready listener before health's lameduck wait;
// a change of directive order in our build would break that). The load
// follows readiness as a Service does: after /ready says no it keeps
// sending until it has had `propagation` more answers (the endpoint update
// on its way to kube-proxy on every node), then sends the pod no new query.
// Not one routed query may be lost, the server must still run when its
// route is gone, and a direct prober must still be answered after that: the
// lameduck. A server that left the endpoints late, or stopped answering
// before its lameduck ended, loses the queries still routed to it at its
// exit (a load that ignores readiness loses 1-3 of ~25 000 there: UDP
// packets queued when the socket closes).
//
// The test asserts the order of those events, not their timing: how many
// milliseconds each step takes is for the bench to measure, not for a test
// that shares its cores with others.
func TestSigtermLameduck(t *testing.T) {
	t.Parallel()
	const (
		lameduck = 2 * time.Second
		// flowing is how many answers the load has had before SIGTERM.
		flowing = 100
		// propagation is how many answers the load still gets after /ready
		// said no: the route stays while the update propagates.
		propagation = 100
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
`, l.DNS, testkit.Loopback(l.Health), lameduck, testkit.Loopback(l.Ready), l.Manifest)
	s := startServer(t, corefile)
	readyURL := fmt.Sprintf("http://%s/ready", testkit.Loopback(l.Ready))
	ready := func() bool {
		resp, err := (&http.Client{Timeout: 200 * time.Millisecond}).Get(readyURL)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if err := s.Await(5*time.Second, 10*time.Millisecond, ready); err != nil {
		t.Fatal(err)
	}

	var (
		events                     timeline
		routed, notReady           atomic.Bool // the pod is among the Service's endpoints; /ready said no
		answered, failed, timeouts atomic.Int64
		afterNotReady              atomic.Int64 // answers to the routed load since /ready said no
		probeAnswered, probeLost   atomic.Int64
		flowingOnce, propagateOnce sync.Once
		isFlowing                  = make(chan struct{}) // closed at `flowing` answers
		propagated                 = make(chan struct{}) // closed at `propagation` answers after /ready said no
		wg                         sync.WaitGroup
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
					if answered.Add(1) == flowing {
						flowingOnce.Do(func() { close(isFlowing) })
					}
					if notReady.Load() && afterNotReady.Add(1) == propagation {
						propagateOnce.Do(func() { close(propagated) })
					}
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
	wg.Go(func() {
		c := &dns.Client{Timeout: 200 * time.Millisecond}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var first sync.Once
		for {
			select {
			case <-s.Done():
				return
			case <-tick.C:
			}
			unrouted := !routed.Load()
			r, _, err := c.Exchange(m, s.Addr)
			switch {
			case err == nil && r.Rcode == dns.RcodeSuccess:
				probeAnswered.Add(1)
				if unrouted {
					first.Do(func() { events.add("answered unrouted") })
				}
			case err != nil && isTimeout(err):
				probeLost.Add(1)
			}
		}
	})
	// The exit is recorded by whoever sees it first: this watcher, or the
	// steps below, which check for it before they record their own event
	// (the watcher may not have run yet).
	var exitOnce sync.Once
	sawExit := func() bool {
		if done, _ := s.Exited(); !done {
			return false
		}
		exitOnce.Do(func() { events.add("exited") })
		return true
	}
	wg.Go(func() {
		<-s.Done()
		sawExit()
	})
	select {
	case <-isFlowing:
	case <-s.Done():
		routed.Store(false)
		t.Fatal("the server exited before the load got going")
	}

	events.add("SIGTERM")
	if err := s.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The endpoints controller: /ready polled as a kubelet would (faster)
	// until it says no, or the process is gone.
	tick := time.NewTicker(5 * time.Millisecond)
poll:
	for {
		select {
		case <-s.Done():
			break poll
		case <-tick.C:
			if !ready() && !sawExit() {
				events.add("not ready")
				notReady.Store(true)
				break poll
			}
		}
	}
	tick.Stop()
	// kube-proxy: the route goes once the update has propagated.
	if notReady.Load() {
		select {
		case <-propagated:
		case <-s.Done():
		}
	}
	if !sawExit() {
		events.add("unrouted") // first: the prober's next query comes after it
	}
	routed.Store(false)
	<-s.Done()
	wg.Wait()

	t.Logf("events: %s; routed load: %d answered, %d failed, %d timed out; prober: %d answered, %d lost",
		events.String(), answered.Load(), failed.Load(), timeouts.Load(), probeAnswered.Load(), probeLost.Load())
	if want := []string{"SIGTERM", "not ready", "unrouted", "answered unrouted", "exited"}; !slices.Equal(events.names(), want) {
		t.Errorf("events in the order %q, want %q", events.names(), want)
	}
	if n := timeouts.Load() + failed.Load(); n > 0 {
		t.Errorf("%d routed queries lost (%d timed out, %d failed), want none", n, timeouts.Load(), failed.Load())
	}
}

// timeline records events in the order they happened, with their times
// for the log.
type timeline struct {
	mu     sync.Mutex
	events []string
	at     []time.Time
}

func (tl *timeline) add(event string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.events = append(tl.events, event)
	tl.at = append(tl.at, time.Now())
}

func (tl *timeline) names() []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.events)
}

// String lists the events with their time since the first.
func (tl *timeline) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var b strings.Builder
	for i, e := range tl.events {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s +%v", e, tl.at[i].Sub(tl.at[0]).Round(time.Millisecond))
	}
	return b.String()
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	te, ok := err.(timeout)
	return ok && te.Timeout()
}
