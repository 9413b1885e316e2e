package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestAwaitAPI stops a server, sends a GET that must wait rather than fail,
// brings the server back on the same address and expects the GET to get
// through within a few retry intervals.
func TestAwaitAPI(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok"))
	}))
	addr := srv.Listener.Addr().String()
	srv.Listener.Close() // down: connections are refused

	rt := newAwaitAPI(&http.Transport{})
	rt.retryEvery = 10 * time.Millisecond
	type result struct {
		resp *http.Response
		err  error
		at   time.Time
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/services", nil)
		resp, err := rt.RoundTrip(req)
		done <- result{resp, err, time.Now()}
	}()

	select {
	case r := <-done:
		t.Fatalf("GET to a down server returned (%v) instead of waiting", r.err)
	case <-time.After(100 * time.Millisecond):
	}
	select {
	case <-rt.down:
	default:
		t.Error("down not closed after a refused connection: a source with a snapshot would wait out its startup timeout")
	}

	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	srv.Listener = l
	back := time.Now()
	srv.Start()
	defer srv.Close()

	r := <-done
	if r.err != nil {
		t.Fatalf("GET after the server came back: %v", r.err)
	}
	r.resp.Body.Close()
	// Generous: the bound is retryEvery, the rest is scheduling.
	if d := r.at.Sub(back); d > time.Second {
		t.Errorf("GET got through %s after the server came back, want about one retry interval", d)
	}
}

// TestAwaitAPIPassesThrough: what is not a GET to an unreachable server
// fails at once, and a canceled GET gives up.
func TestAwaitAPIPassesThrough(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rt := newAwaitAPI(&http.Transport{})
	rt.retryEvery = 10 * time.Millisecond

	post, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/namespaces", strings.NewReader("{}"))
	if _, err := rt.RoundTrip(post); err == nil || !unreachable(err) {
		t.Errorf("POST to a down server: %v, want the dial error at once", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	get, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/services", nil)
	start := time.Now()
	if _, err := rt.RoundTrip(get); err == nil {
		t.Error("canceled GET to a down server succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("canceled GET returned after %s", d)
	}

	// Statuses client-go acts on are answers, not outages: passed through
	// at once.
	for _, status := range []int{http.StatusTooManyRequests, http.StatusGone, http.StatusGatewayTimeout, http.StatusForbidden} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no", status)
		}))
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil || resp.StatusCode != status {
			t.Errorf("%d from the server: %v %v, want it passed through", status, resp, err)
		} else {
			resp.Body.Close()
		}
		srv.Close()
	}
}

// TestAwaitAPIHoldsServerErrors: 500, 502 and 503 (a failing API server,
// a load balancer without backends) are held and retried with backoff
// until the server answers.
func TestAwaitAPIHoldsServerErrors(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if requests.Add(1) <= 4 {
					http.Error(w, "down", status)
					return
				}
				w.Write([]byte("ok"))
			}))
			defer srv.Close()
			rt := newAwaitAPI(&http.Transport{})
			rt.retryEvery, rt.maxStatusWait = 10*time.Millisecond, 20*time.Millisecond
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/services", nil)
			start := time.Now()
			resp, err := rt.RoundTrip(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("after 4 failures: %v %v, want the 200 that followed", resp, err)
			}
			resp.Body.Close()
			if n := requests.Load(); n != 5 {
				t.Errorf("%d requests, want 5", n)
			}
			// Waits of 10, 20, 20, 20 ms: backed off, and capped.
			if d := time.Since(start); d < 70*time.Millisecond {
				t.Errorf("4 retries took %s, want at least the 70 ms of backoff", d)
			}
			select {
			case <-rt.down:
			default:
				t.Error("down not closed after a failing status")
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{name: "dial", err: &net.OpError{Op: "dial", Err: errors.New("i/o timeout")}, want: true},
		{name: "reset", err: &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, want: true},
		{name: "other read error", err: &net.OpError{Op: "read", Err: errors.New("x")}, want: false},
		{name: "closed before an answer", err: fmt.Errorf("http: %w", io.EOF), want: true},
		{name: "canceled", err: context.Canceled, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unreachable(tc.err); got != tc.want {
				t.Errorf("unreachable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestAwaitAPIGivesUpOnStatus: error statuses are held for maxStatusHold
// at most, then client-go gets the answer (and its message).
func TestAwaitAPIGivesUpOnStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "etcd cannot decode this one", http.StatusInternalServerError)
	}))
	defer srv.Close()
	rt := newAwaitAPI(&http.Transport{})
	rt.retryEvery, rt.maxStatusWait, rt.maxStatusHold = 10*time.Millisecond, 20*time.Millisecond, 80*time.Millisecond
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/services", nil)
	start := time.Now()
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("a lasting 500: %v %v, want it passed through after the hold", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "etcd cannot decode") {
		t.Errorf("body %q, want the server's message", body)
	}
	if d := time.Since(start); d < 80*time.Millisecond || d > 2*time.Second {
		t.Errorf("passed through after %s, want after the 80 ms hold", d)
	}
}

// TestAwaitAPICanceledIsNotDown: a request cut off by its context (a stop,
// a reload) is not an outage: no snapshot switch, no warning. The dial is
// what the cancel interrupts, as when the API server is slow to accept.
func TestAwaitAPICanceledIsNotDown(t *testing.T) {
	dialCut := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: r.Context().Err()}
	})
	rt := newAwaitAPI(dialCut)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://127.0.0.1:6443/api/v1/services", nil)
	if _, err := rt.RoundTrip(req); err == nil {
		t.Fatal("a canceled request succeeded")
	}
	select {
	case <-rt.down:
		t.Error("down closed by a canceled request")
	default:
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
