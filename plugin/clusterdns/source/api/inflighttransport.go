package api

import (
	"net/http"
)

// maxInflight limits the concurrent requests to the API server
// (apiserver_max_inflight), so that a relist storm from many replicas is
// spread out. Watches are long-lived and not counted: a slot held by a
// watch for hours would starve the lists the limit is meant to pace.
type maxInflight struct {
	next http.RoundTripper
	sem  chan struct{}
}

func newMaxInflight(next http.RoundTripper, n int) http.RoundTripper {
	return &maxInflight{next: next, sem: make(chan struct{}, n)}
}

func (m *maxInflight) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Query().Get("watch") == "true" {
		return m.next.RoundTrip(req)
	}
	select {
	case m.sem <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	defer func() { <-m.sem }()
	return m.next.RoundTrip(req)
}
