package api

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// relistWatch tells the memory limit (memory.go) when an informer or the
// pod watch (podwatch.go) lists by a streaming list: from the request
// until the list has arrived. An informer's list decodes every object
// whole, a few kilobytes each, to keep tens of bytes (the pod watch reads
// a pod's protobuf without, podproto.go): a relist of 10k Services
// allocates about twice the live heap in garbage, which at the collector's
// default pace piles up to twice the live heap before it is collected.
// While a list is in flight the limit keeps only a small headroom over the
// live heap, so the collector runs sooner, for the relist alone; between
// relists queries allocate against the usual headroom.
//
// A streaming list is a watch with sendInitialEvents=true (client-go's
// watch-list), decoded as it is read, in flight until the API server's
// bookmark that ends the initial events, whose annotation key is looked
// for in the stream (its bytes are the same in protobuf and JSON), or
// until the stream ends. A plain LIST is read whole before it is decoded,
// so its end is not the body's: the transport opens its window (a
// listWindow Source.list put in the request's context) as the request
// leaves for the API server, and Source.list closes it once decoded.
type relistWatch struct {
	next http.RoundTripper
}

// initialEventsEnd is the annotation of the bookmark after a watch's
// initial events (metav1.InitialEventsAnnotationKey).
var initialEventsEnd = []byte("k8s.io/initial-events-end")

func newRelistWatch(next http.RoundTripper) http.RoundTripper { return &relistWatch{next: next} }

func (r *relistWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	if req.Method != http.MethodGet || q.Get("watch") == "true" && q.Get("sendInitialEvents") != "true" {
		return r.next.RoundTrip(req)
	}
	if q.Get("watch") != "true" {
		if w, ok := req.Context().Value(listWindowKey{}).(*listWindow); ok {
			w.open()
		}
		return r.next.RoundTrip(req)
	}
	listing(1)
	resp, err := r.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		listing(-1)
		return resp, err
	}
	resp.Body = &listBody{ReadCloser: resp.Body, marker: initialEventsEnd}
	return resp, nil
}

// listWindow is a plain LIST's time in flight for the memory limit: from
// the request leaving for the API server (not while it waits in front of
// the transport for the rate limiter, an inflight slot or an API server
// that is down) until Source.list has decoded it.
type listWindow struct{ opened atomic.Bool }

// listWindowKey is the context key of a LIST's listWindow.
type listWindowKey struct{}

// open counts the list in flight, once: client-go may send a request
// again (a Retry-After).
func (w *listWindow) open() {
	if w.opened.CompareAndSwap(false, true) {
		listing(1)
	}
}

// close ends the list's time in flight, if it began.
func (w *listWindow) close() {
	if w.opened.CompareAndSwap(true, false) {
		listing(-1)
	}
}

// listBody is a streaming list's response body: the list ends at the
// marker, at the body's end, or at Close.
type listBody struct {
	io.ReadCloser
	marker []byte // nil once found
	// tail holds the last len(marker)-1 bytes read, for a marker split
	// between two reads.
	tail []byte
	once sync.Once
}

func (b *listBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.marker != nil && n > 0 {
		b.look(p[:n])
	}
	if err != nil {
		b.end()
	}
	return n, err
}

// look searches what was read, and what straddles it and the read
// before, for the marker; once found, the stream is a plain watch.
func (b *listBody) look(p []byte) {
	keep := len(b.marker) - 1
	if len(b.tail) > 0 && bytes.Contains(append(b.tail, p[:min(len(p), keep)]...), b.marker) || bytes.Contains(p, b.marker) {
		b.marker, b.tail = nil, nil
		b.end()
		return
	}
	if len(p) >= keep {
		b.tail = append(b.tail[:0], p[len(p)-keep:]...)
		return
	}
	b.tail = append(b.tail, p...)
	b.tail = b.tail[:copy(b.tail, b.tail[max(0, len(b.tail)-keep):])]
}

func (b *listBody) Close() error {
	b.end()
	return b.ReadCloser.Close()
}

func (b *listBody) end() { b.once.Do(func() { listing(-1) }) }
