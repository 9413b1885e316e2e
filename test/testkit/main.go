package testkit

import (
	"os"
	"testing"

	"github.com/clusterdns/clusterdns/test/testbin"
)

// Main runs a package's tests and then removes the clusterdns binary that
// testbin may have built for them. A package that starts the server calls
// it from its TestMain.
func Main(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}
