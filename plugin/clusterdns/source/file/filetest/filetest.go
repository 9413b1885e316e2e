// Package filetest writes manifests files for the tests of the file source
// and of the plugin that serves one: a small cluster to edit, and the two
// ways a file is written (in place, or replaced by a rename).
package filetest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Manifest is a cluster of Services in namespace prod: web at clusterIP,
// then each of extra at 10.96.1.1, 10.96.1.2 and so on. Every Service was
// created on 2025-01-01, long before any test runs, so that a test can tell
// a programming latency timed from the change from one timed from the
// object's creation.
func Manifest(clusterIP string, extra ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	svc := func(name, ip string) {
		fmt.Fprintf(&b, "- apiVersion: v1\n  kind: Service\n  metadata: {name: %s, namespace: prod, creationTimestamp: \"2025-01-01T00:00:00Z\"}\n  spec: {clusterIP: %s}\n", name, ip)
	}
	svc("web", clusterIP)
	for i, name := range extra {
		svc(name, fmt.Sprintf("10.96.1.%d", i+1))
	}
	return b.String()
}

// Write writes content to path in place.
func Write(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// Replace replaces path the way editors and ConfigMap updates do: a new
// file renamed over the old one.
func Replace(tb testing.TB, path, content string) {
	tb.Helper()
	tmp := path + ".tmp"
	Write(tb, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}
