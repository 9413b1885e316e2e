package api

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
)

// blockingTransport holds every request until release is closed, and
// tells on entered each time one reaches it.
type blockingTransport struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	b.entered <- struct{}{}
	<-b.release
	return &http.Response{StatusCode: 200}, nil
}

func TestMaxInflight(t *testing.T) {
	next := &blockingTransport{entered: make(chan struct{}, 8), release: make(chan struct{})}
	rt := newMaxInflight(next, 2)
	list, _ := http.NewRequest("GET", "https://127.0.0.1/api/v1/services", nil)
	watch, _ := http.NewRequest("GET", "https://127.0.0.1/api/v1/services?watch=true", nil)
	done := make(chan error, 4)
	roundTrip := func(req *http.Request) {
		_, err := rt.RoundTrip(req)
		done <- err
	}
	// Two lists take both slots; the watch takes none.
	for _, req := range []*http.Request{list, list, watch} {
		go roundTrip(req)
	}
	for i := range 3 {
		select {
		case <-next.entered:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of 2 lists and a watch got through, want all: the watch must hold no slot", i)
		}
	}
	// A third list waits for a slot: canceled while waiting, it returns
	// its context's error without reaching the transport (which would
	// have held it until release).
	ctx, cancel := context.WithCancel(context.Background())
	go roundTrip(list.WithContext(ctx))
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("third list returned %v, want it canceled while waiting for a slot", err)
		}
	case <-next.entered:
		t.Fatal("a third list got through with two in flight")
	}
	// Released, the slots serve the next list.
	close(next.release)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	go roundTrip(list)
	<-next.entered
	if err := <-done; err != nil {
		t.Fatalf("list after the release: %v", err)
	}
}

// Stop before Start has nothing to wait for: it returns at once, and
// again the second time, and the index never hears from the source.
func TestStopBeforeStartAndTwice(t *testing.T) {
	ix := index.New(index.Options{})
	s := New(Config{}, ix)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.Stop()
		s.Stop()
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop before Start waits for goroutines Start never started")
	}
	if ix.View() != nil || ix.Generation() != 0 {
		t.Error("a source stopped before it started changed the index")
	}
}
