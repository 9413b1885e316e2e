package api

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// awaitAPI holds a list or watch whose connection to the API server fails
// (refused, reset, unreachable) and retries it every retryEvery until it
// gets through or its context ends, instead of returning the error.
//
// Why: client-go's reflector answers each failed list or watch with an
// exponential backoff (0.8 s doubling to 30 s, jittered up to 2x, reset only
// after 2 minutes without a failure) that SharedInformerFactory does not let
// us configure. Through an outage of a minute the backoff grows to its cap,
// and the informers then relist up to a minute after the API server is back:
// stale answers (or, at startup, SERVFAIL) for that long. Held here, the
// request is retried cheaply (a refused dial costs microseconds) and goes
// through within retryEvery of the API server's return; the reflector sees a
// slow request, not a failure, and its backoff does not grow.
//
// Only GETs are held: lists and watches are idempotent, and they are all
// this source sends. Answers with an HTTP status (429, 500, 410) pass
// through: client-go's handling of those (Retry-After, relist on Expired)
// is right.
type awaitAPI struct {
	next       http.RoundTripper
	retryEvery time.Duration
	// down is closed at the first failure: the source stops waiting for a
	// sync that cannot come and serves its snapshot.
	down     chan struct{}
	downOnce sync.Once

	mu        sync.Mutex
	downSince time.Time // when the current outage was first seen; zero when up
}

// retryEvery bounds how late the informers notice that the API server is
// back.
const retryEvery = 200 * time.Millisecond

func newAwaitAPI(next http.RoundTripper) *awaitAPI {
	return &awaitAPI{next: next, retryEvery: retryEvery, down: make(chan struct{})}
}

func (a *awaitAPI) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Body != nil && req.Body != http.NoBody {
		return a.next.RoundTrip(req)
	}
	for {
		// A RoundTripper must not reuse a request it has sent: retry a
		// clone (a GET has no body to rewind).
		resp, err := a.next.RoundTrip(req.Clone(req.Context()))
		if err == nil || !unreachable(err) {
			a.up()
			return resp, err
		}
		a.markDown(err)
		select {
		case <-req.Context().Done():
			return nil, err
		case <-time.After(a.retryEvery):
		}
	}
}

// markDown logs the first failure of an outage: one line, not one per
// informer per retry.
func (a *awaitAPI) markDown(err error) {
	a.downOnce.Do(func() { close(a.down) })
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.downSince.IsZero() {
		a.downSince = time.Now()
		log.Warningf("Kubernetes API unreachable (%v): serving what is known, retrying every %s", err, a.retryEvery)
	}
}

func (a *awaitAPI) up() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.downSince.IsZero() {
		log.Infof("Kubernetes API reachable again after %s", time.Since(a.downSince).Round(time.Millisecond))
		a.downSince = time.Time{}
	}
}

// unreachable tells whether err means the request never reached a working
// API server: the dial failed (refused, no route, timed out) or the
// connection was reset, as while the API server restarts or its node or
// load balancer is gone.
func unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}
