package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// chunks is a body that returns its parts one Read at a time.
type chunks struct{ parts []string }

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	if c.parts[0] == "" {
		c.parts = c.parts[1:]
	}
	return n, nil
}

type bodyTransport struct {
	parts []string
	err   error
}

func (t bodyTransport) RoundTrip(*http.Request) (*http.Response, error) {
	if t.err != nil {
		return nil, t.err
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(&chunks{parts: append([]string(nil), t.parts...)})}, nil
}

// TestRelistWatch checks when a request counts as a list in flight here: a
// streaming list until the bookmark that ends its initial events (wherever
// the reads split its marker) or until it closes; a LIST, a plain watch
// and a failed request never.
func TestRelistWatch(t *testing.T) {
	marker := string(initialEventsEnd)
	get := func(t *testing.T, rt http.RoundTripper, query string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "https://api.test/api/v1/services?"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := newRelistWatch(rt).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	want := func(t *testing.T, when string, n int32) {
		t.Helper()
		if got := lists.Load(); got != n {
			t.Fatalf("%s: %d lists in flight, want %d", when, got, n)
		}
	}
	read := func(t *testing.T, body io.Reader, n int) {
		t.Helper()
		if _, err := io.ReadFull(body, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("list", func(t *testing.T) {
		// Not Source.list's: not counted.
		resp := get(t, bodyTransport{parts: []string{"items", "more"}}, "limit=500")
		want(t, "list answered", 0)
		io.ReadAll(resp.Body)
		resp.Body.Close()
	})
	t.Run("list's window", func(t *testing.T) {
		// Source.list's: open from the request through the read and the
		// close, until Source.list closes it once decoded.
		w := new(listWindow)
		req, err := http.NewRequestWithContext(context.WithValue(t.Context(), listWindowKey{}, w), http.MethodGet, "https://api.test/api/v1/services?limit=500", nil)
		if err != nil {
			t.Fatal(err)
		}
		rt := newRelistWatch(bodyTransport{parts: []string{"items", "more"}})
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		want(t, "list answered", 1)
		io.ReadAll(resp.Body)
		resp.Body.Close()
		want(t, "list read and closed", 1)
		if _, err := rt.RoundTrip(req); err != nil { // client-go sends it again
			t.Fatal(err)
		}
		want(t, "list sent again", 1)
		w.close()
		want(t, "list decoded", 0)
		w.close()
		want(t, "list window closed twice", 0)
	})
	t.Run("watch", func(t *testing.T) {
		resp := get(t, bodyTransport{parts: []string{"event", marker}}, "watch=true&resourceVersion=5")
		want(t, "watch", 0)
		io.ReadAll(resp.Body)
		resp.Body.Close()
		want(t, "watch closed", 0)
	})
	t.Run("failed", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "https://api.test/api/v1/services?watch=true&sendInitialEvents=true", nil)
		if _, err := newRelistWatch(bodyTransport{err: errors.New("refused")}).RoundTrip(req); err == nil {
			t.Fatal("no error")
		}
		want(t, "failed streaming list", 0)
	})
	const streaming = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
	for split := 0; split < len(marker); split++ {
		before := strings.Repeat("e", 40) + marker[:split]
		parts := []string{before, marker[split:] + "after", "next event"}
		resp := get(t, bodyTransport{parts: parts}, streaming)
		want(t, "streaming list answered", 1)
		read(t, resp.Body, len(before))
		want(t, "streaming list before its marker", 1)
		read(t, resp.Body, len(marker)-split+len("after"))
		want(t, "streaming list past its marker (split at "+marker[:split]+")", 0)
		io.ReadAll(resp.Body)
		resp.Body.Close()
		want(t, "streaming list closed", 0)
	}
	// Reads shorter than the marker, one byte at a time.
	parts := strings.Split("ab"+marker+"cd", "")
	resp := get(t, bodyTransport{parts: parts}, streaming)
	read(t, resp.Body, 2+len(marker)-1)
	want(t, "one byte short of the marker", 1)
	read(t, resp.Body, 1)
	want(t, "marker read a byte at a time", 0)
	resp.Body.Close()

	resp = get(t, bodyTransport{parts: []string{"events"}}, streaming)
	read(t, resp.Body, 3)
	resp.Body.Close()
	want(t, "streaming list closed before its marker", 0)
}
