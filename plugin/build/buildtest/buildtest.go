// Package buildtest starts servers as the binary builds them (every plugin
// of plugin/build, in its order) from Corefile strings, for the tests of
// the plugins.
package buildtest

import (
	"testing"

	"github.com/coredns/caddy"

	_ "github.com/clusterdns/clusterdns/plugin/build"
)

// StartServer starts a server from corefile (its one server block on port
// 0) and returns its TCP and UDP addresses; the server stops, its plugins
// shut down, when the test ends.
func StartServer(t testing.TB, corefile string) (tcp, udp string) {
	t.Helper()
	return StartServerAt(t, "Corefile", corefile)
}

// StartServerAt is StartServer with the Corefile read from path: what the
// Corefile names by a relative path is then path's neighbour.
func StartServerAt(t testing.TB, path, corefile string) (tcp, udp string) {
	t.Helper()
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: path, ServerTypeName: "dns"})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := inst.Stop(); err != nil {
			t.Errorf("stop server: %v", err)
		}
		if errs := inst.ShutdownCallbacks(); len(errs) > 0 {
			t.Errorf("shut down: %v", errs)
		}
	})
	srv := inst.Servers()[0]
	return srv.Addr().String(), srv.LocalAddr().String()
}
