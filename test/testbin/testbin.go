// Package testbin gives end-to-end tests the clusterdns binary under test:
// $CLUSTERDNS_BIN (the Makefile sets it to the one `make build` wrote), or
// one built once per test process with `go build`.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// Clusterdns returns the absolute path of the clusterdns binary, building
// it if $CLUSTERDNS_BIN is not set. A binary that cannot be had fails the
// test: without it nothing is tested.
func Clusterdns(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("CLUSTERDNS_BIN"); bin != "" {
		// Absolute: servers run in other directories.
		abs, err := filepath.Abs(bin)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			t.Fatalf("CLUSTERDNS_BIN=%s: %v (run `make build`, or unset it to build here)", bin, err)
		}
		return abs
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "clusterdns-test-"); buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "clusterdns")
		// By import path: it builds from any working directory in the module.
		cmd := exec.Command("go", "build", "-o", buildBin, "github.com/clusterdns/clusterdns/cmd/clusterdns")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/clusterdns: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("cannot build the server: %v", buildErr)
	}
	return buildBin
}

// Cleanup removes a binary Clusterdns built; a package's TestMain calls it
// after its tests ran.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}
