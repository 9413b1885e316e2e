package logtest

import (
	golog "log"
	"testing"
	"time"
)

// A line logged after Capture is read back without a timestamp, Since
// reads from an offset on, and Await returns once a line written by
// another goroutine arrives.
func TestCapture(t *testing.T) {
	l := Capture(t)
	golog.Print("first")
	if got := l.String(); got != "first\n" {
		t.Fatalf("captured %q, want %q", got, "first\n")
	}
	offset := l.Len()
	go golog.Print("second")
	l.Await(t, offset, "second\n", 5*time.Second)
	if got := l.Since(offset); got != "second\n" {
		t.Errorf("since %d: %q, want %q", offset, got, "second\n")
	}
}

// Capture gives the logger back when the test ends.
func TestCaptureRestores(t *testing.T) {
	out := golog.Writer()
	t.Run("capturing", func(t *testing.T) { Capture(t) })
	if golog.Writer() != out {
		t.Error("the logger still writes to the capture after the test")
	}
}
