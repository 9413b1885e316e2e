package testkit

import (
	"strings"
	"sync"
)

// logLimit bounds what a Log keeps: a server logging every query under load
// must not grow the test's memory without end.
const logLimit = 16 << 20

// Log collects a process's output while the test reads it. It keeps the
// most recent output, up to logLimit bytes, but counts every byte written,
// so that an offset from Len stays valid after older output is dropped.
type Log struct {
	mu      sync.Mutex
	buf     []byte
	dropped int // bytes dropped from the front of buf
}

// Write appends p, dropping the oldest half of the kept output when the
// limit is passed (amortized: not a copy per write).
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > logLimit {
		n := len(l.buf) - logLimit/2
		l.buf = l.buf[:copy(l.buf, l.buf[n:])]
		l.dropped += n
	}
	return len(p), nil
}

// Len is how many bytes have been written so far: an offset for Since.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped + len(l.buf)
}

// String returns the output kept.
func (l *Log) String() string { return l.Since(0) }

// Since returns the output written from offset on (what is kept of it).
func (l *Log) Since(offset int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := min(max(offset-l.dropped, 0), len(l.buf))
	return string(l.buf[i:])
}

// Tail returns the last n lines of the output, for a failed test's log.
func (l *Log) Tail(n int) string { return Tail(l.String(), n) }

// Tail returns the last n lines of text, without the final newline.
func Tail(text string, n int) string {
	text = strings.TrimRight(text, "\n")
	start := len(text)
	for i := 0; i < n && start > 0; i++ {
		start = strings.LastIndexByte(text[:start], '\n')
		if start < 0 {
			start = 0
		}
	}
	return strings.TrimLeft(text[start:], "\n")
}
