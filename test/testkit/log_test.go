package testkit

import (
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	for n, want := range map[int]string{1: "three", 2: "two\nthree", 3: "one\ntwo\nthree", 10: "one\ntwo\nthree"} {
		if got := Tail("one\ntwo\nthree\n", n); got != want {
			t.Errorf("Tail(%d) = %q, want %q", n, got, want)
		}
	}
}

// A Log past its limit keeps the newest output, and offsets taken before
// the drop still mean the same bytes.
func TestLogLimit(t *testing.T) {
	var l Log
	chunk := strings.Repeat("x", 1<<20-1) + "\n"
	for range logLimit>>20 + 1 {
		l.Write([]byte(chunk))
	}
	mark := l.Len()
	l.Write([]byte("last\n"))
	if kept := len(l.String()); kept > logLimit {
		t.Errorf("kept %d bytes, limit %d", kept, logLimit)
	}
	if got := l.Since(mark); got != "last\n" {
		t.Errorf("Since(mark) = %q, want %q", got, "last\n")
	}
	if got := l.Since(0); !strings.HasSuffix(got, "last\n") || len(got) == mark+5 {
		t.Errorf("Since(0) kept everything (%d bytes) or lost the end", len(got))
	}
	if got := l.Tail(1); got != "last" {
		t.Errorf("Tail(1) = %q", got)
	}
}
