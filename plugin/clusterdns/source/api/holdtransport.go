package api

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// awaitAPI holds a list or watch that fails because the API server is
// down, and retries it until it gets through or its context ends, instead
// of returning the failure to client-go.
//
// Why: client-go's reflector answers each failed list or watch with an
// exponential backoff (0.8 s doubling to 30 s, jittered up to 2x, reset only
// after 2 minutes without a failure) that SharedInformerFactory does not let
// us configure. Through an outage of a minute the backoff grows to its cap,
// and the informers then relist up to a minute after the API server is back:
// stale answers (or, at startup, SERVFAIL) for that long. Held here, the
// reflector sees a slow request, not a failure, and its backoff does not
// grow.
//
// Down means one of:
//   - the connection fails (refused, reset, unreachable): the API server
//     restarts, or its node is gone. Retried every retryEvery: a refused
//     dial costs the API server nothing.
//   - 500, 502 or 503: an API server that fails, or a load balancer in
//     front of the API servers with no backend (what an outage looks like
//     in an HA control plane). Each retry costs the API server a request,
//     so these back off from retryEvery doubling to maxStatusWait: at most
//     one request per informer per maxStatusWait while it fails, and for
//     at most maxStatusHold, after which client-go gets the answer.
//
// Only GETs are held: lists and watches are idempotent, and they are all
// this source sends. Other answers pass through, because client-go acts on
// them: 410 Expired and 504 "too large resource version" make it relist
// from scratch, 429 carries a Retry-After it honours.
type awaitAPI struct {
	next          http.RoundTripper
	retryEvery    time.Duration
	maxStatusWait time.Duration
	maxStatusHold time.Duration
	// down is closed at the first failure: the source stops waiting for a
	// sync that cannot come and serves its snapshot.
	down     chan struct{}
	downOnce sync.Once

	mu        sync.Mutex
	downSince time.Time // when the current outage was first seen; zero when up
}

// retryEvery bounds how late the informers notice that the API server
// accepts connections again; maxStatusWait how late they notice that it
// stopped failing. After maxStatusHold of error statuses the answer goes
// to client-go after all: a 500 can be about one request (an object etcd
// cannot decode), and client-go logs its message; its backoff then grows
// by one step per maxStatusHold instead of one per failure.
const (
	retryEvery    = 200 * time.Millisecond
	maxStatusWait = 5 * time.Second
	maxStatusHold = 30 * time.Second
)

func newAwaitAPI(next http.RoundTripper) *awaitAPI {
	return &awaitAPI{next: next, retryEvery: retryEvery, maxStatusWait: maxStatusWait, maxStatusHold: maxStatusHold, down: make(chan struct{})}
}

func (a *awaitAPI) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Body != nil && req.Body != http.NoBody {
		return a.next.RoundTrip(req)
	}
	statusWait := a.retryEvery
	var failingSince time.Time // of the first error status
	for {
		// A RoundTripper must not reuse a request it has sent: retry a
		// clone (a GET has no body to rewind).
		resp, err := a.next.RoundTrip(req.Clone(req.Context()))
		var (
			reason string
			wait   time.Duration
		)
		switch {
		case req.Context().Err() != nil:
			// Stopped (a shutdown, a reload): not an outage.
			return resp, err
		case err != nil && unreachable(err):
			reason, wait = err.Error(), a.retryEvery
		case err == nil && serverDown(resp.StatusCode) && failingSince.IsZero():
			failingSince = time.Now()
			fallthrough
		case err == nil && serverDown(resp.StatusCode) && time.Since(failingSince) < a.maxStatusHold:
			reason, wait = "answering "+resp.Status, statusWait
			statusWait = min(2*statusWait, a.maxStatusWait)
			// Drain a little so the connection can be reused.
			io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
			resp.Body.Close()
		default:
			a.up()
			return resp, err
		}
		a.markDown(reason)
		select {
		case <-req.Context().Done():
			if err == nil {
				err = fmt.Errorf("kubernetes API %s", reason)
			}
			return nil, err
		case <-time.After(wait):
		}
	}
}

// serverDown tells whether an HTTP status means the API server (or the
// load balancer in front of it) is failing as a whole, rather than saying
// something about the request.
func serverDown(status int) bool {
	return status == http.StatusInternalServerError || status == http.StatusBadGateway || status == http.StatusServiceUnavailable
}

// markDown logs the first failure of an outage: one line, not one per
// informer per retry.
func (a *awaitAPI) markDown(reason string) {
	a.downOnce.Do(func() { close(a.down) })
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.downSince.IsZero() {
		a.downSince = time.Now()
		log.Warningf("Kubernetes API down (%s): serving what is known, retrying", reason)
	}
}

func (a *awaitAPI) up() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.downSince.IsZero() {
		log.Infof("Kubernetes API back after %s", time.Since(a.downSince).Round(time.Millisecond))
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
	// Closed before an answer: a TCP load balancer with no backend
	// accepts and hangs up.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}
