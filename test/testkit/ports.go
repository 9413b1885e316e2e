package testkit

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

// handedOut holds the ports FreePort returned, so that no two callers in
// this process get the same one (a port closed by FreePort may be handed out
// again by the kernel).
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: make(map[int]bool)}

// FreePort returns a port on which 127.0.0.1 is free for both TCP and UDP,
// and which no other caller in this process has been given. Another process
// could still take it before the caller binds it, which fails that start
// loudly.
func FreePort(tb testing.TB) int {
	tb.Helper()
	for range 100 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("free port: %v", err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", Loopback(port))
		tl.Close()
		if err != nil {
			continue // taken for UDP: try another
		}
		ul.Close()
		handedOut.Lock()
		seen := handedOut.ports[port]
		handedOut.ports[port] = true
		handedOut.Unlock()
		if !seen {
			return port
		}
	}
	tb.Fatal("free port: no port free for both TCP and UDP after 100 tries")
	return 0
}

// Loopback returns 127.0.0.1:port.
func Loopback(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
