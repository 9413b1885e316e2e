package testkit

import (
	golog "log"
	"strings"
	"testing"
	"time"
)

// StdLog is what the standard library's logger printed during a test: where
// CoreDNS's log package, and so every plugin's log line and the *log*
// plugin's query lines, go when the server runs inside the test binary.
type StdLog struct {
	Log
	written chan struct{} // signalled after each write, for Await
}

// CaptureStdLog sends the standard library logger's output to a StdLog,
// without timestamps, until the test ends. Tests that use it must not run
// in parallel with others that log.
func CaptureStdLog(tb testing.TB) *StdLog {
	tb.Helper()
	l := &StdLog{written: make(chan struct{}, 1)}
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
func (l *StdLog) Write(p []byte) (int, error) {
	n, err := l.Log.Write(p)
	select {
	case l.written <- struct{}{}:
	default:
	}
	return n, err
}

// Await waits until the output written from offset on (see Log.Len)
// contains text, and fails the test when it has not within timeout.
func (l *StdLog) Await(tb testing.TB, offset int, text string, timeout time.Duration) {
	tb.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(l.Since(offset), text) {
		select {
		case <-l.written:
		case <-deadline:
			tb.Fatalf("log has no %q within %v; log:\n%s", text, timeout, l.Tail(20))
		}
	}
}
