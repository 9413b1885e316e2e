// Package logtest captures what the standard library's logger prints during
// a test of the plugin: where CoreDNS's log package, and so every plugin's
// log line and the *log* plugin's query lines, go when a server runs inside
// the test binary. It lives beside the plugin so that the plugin's tests do
// not depend on the end-to-end test tree (test/testkit).
package logtest

import (
	golog "log"
	"strings"
	"sync"
	"testing"
	"time"
)

// Log is what the standard library's logger printed since Capture. It keeps
// all of it: a unit test's server logs a few lines, not a load test's.
type Log struct {
	mu      sync.Mutex
	buf     []byte
	written chan struct{} // signalled after each write, for Await
}

// Capture sends the standard library logger's output to a Log, without
// timestamps, until the test ends. Tests that use it must not run in
// parallel with others that log.
func Capture(tb testing.TB) *Log {
	tb.Helper()
	l := &Log{written: make(chan struct{}, 1)}
	out, flags := golog.Writer(), golog.Flags()
	golog.SetOutput(l)
	golog.SetFlags(0)
	tb.Cleanup(func() {
		golog.SetOutput(out)
		golog.SetFlags(flags)
	})
	return l
}

// Write appends p and wakes Await.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	l.mu.Unlock()
	select {
	case l.written <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Len is how many bytes have been written so far: an offset for Since.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buf)
}

// String returns everything written.
func (l *Log) String() string { return l.Since(0) }

// Since returns what was written from offset on.
func (l *Log) Since(offset int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf[min(offset, len(l.buf)):])
}

// Await waits until what was written from offset on contains text, and
// fails the test when it has not within timeout.
func (l *Log) Await(tb testing.TB, offset int, text string, timeout time.Duration) {
	tb.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(l.Since(offset), text) {
		select {
		case <-l.written:
		case <-deadline:
			tb.Fatalf("log has no %q within %v; log since offset %d:\n%s", text, timeout, offset, l.Since(offset))
		}
	}
}
