package api

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

type blockingTransport struct {
	inflight, peak atomic.Int32
	release        chan struct{}
}

func (b *blockingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	n := b.inflight.Add(1)
	for {
		p := b.peak.Load()
		if n <= p || b.peak.CompareAndSwap(p, n) {
			break
		}
	}
	<-b.release
	b.inflight.Add(-1)
	return &http.Response{StatusCode: 200}, nil
}

func TestMaxInflight(t *testing.T) {
	next := &blockingTransport{release: make(chan struct{})}
	rt := newMaxInflight(next, 2)
	list, _ := http.NewRequest("GET", "https://127.0.0.1/api/v1/services", nil)
	watch, _ := http.NewRequest("GET", "https://127.0.0.1/api/v1/services?watch=true", nil)
	done := make(chan struct{})
	for _, req := range []*http.Request{list, list, list, watch} {
		go func() {
			rt.RoundTrip(req)
			done <- struct{}{}
		}()
	}
	// Two lists and the watch get through; the third list waits.
	deadline := time.Now().Add(5 * time.Second)
	for next.inflight.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := next.inflight.Load(); got != 3 {
		t.Fatalf("%d requests in flight, want 2 lists and the watch", got)
	}
	close(next.release)
	for range 4 {
		<-done
	}
	if p := next.peak.Load(); p != 3 {
		t.Errorf("peak %d in flight, want 3 (2 lists + 1 watch)", p)
	}
}

func TestStopBeforeStartAndTwice(t *testing.T) {
	s := New(Config{}, nil)
	s.Stop()
	s.Stop()
}
