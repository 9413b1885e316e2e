// Package netns builds the networks of end-to-end tests out of Linux
// network namespaces the test creates (never touching the host's own): a
// namespace per node or pod, veth pairs between them, and a TCP proxy that
// makes a host loopback service answer inside a namespace. It needs root
// and iproute2's ip.
package netns

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// IP runs ip with args and fails the test on error.
func IP(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Add creates the named network namespace with its loopback up; it is
// deleted, with the links in it, when the test ends.
func Add(t testing.TB, name string) {
	t.Helper()
	IP(t, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	IP(t, "-n", name, "link", "set", "lo", "up")
}

// Path is the file of a named network namespace, for a runtime to join.
func Path(name string) string { return "/run/netns/" + name }

// Veth joins namespaces a and b with a veth pair, named ifA in a and ifB
// in b, both up. It is created inside a, so the names never meet the
// host's links.
func Veth(t testing.TB, a, ifA, b, ifB string) {
	t.Helper()
	IP(t, "-n", a, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b)
	IP(t, "-n", a, "link", "set", ifA, "up")
	IP(t, "-n", b, "link", "set", ifB, "up")
}

// Run runs f on a thread moved into the named network namespace, so that
// the sockets f opens live there (they stay there afterwards).
func Run(name string, f func() error) error {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	target, err := os.Open(Path(name))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", name, err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, and exits with the goroutine: no other
		// goroutine may run in the wrong namespace.
		return errors.Join(ferr, fmt.Errorf("setns back: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// Proxy makes listen (host:port, an address of the namespace) answer in
// the named namespace with the TCP service at target, dialled from the
// host's namespace: what kube-proxy's DNAT does for a Service, and how a
// process in the namespace reaches the test bed's API server on the host's
// loopback. It stops when the test ends.
func Proxy(t testing.TB, name, listen, target string) {
	t.Helper()
	var ln net.Listener
	if err := Run(name, func() (err error) {
		ln, err = net.Listen("tcp", listen)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	var mu sync.Mutex
	var open []net.Conn
	wg.Go(func() {
		defer func() {
			mu.Lock()
			for _, c := range open {
				c.Close()
			}
			mu.Unlock()
		}()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			open = append(open, in, out)
			mu.Unlock()
			for _, pair := range [][2]net.Conn{{in, out}, {out, in}} {
				wg.Go(func() {
					io.Copy(pair[0], pair[1])
					pair[0].(*net.TCPConn).CloseWrite()
				})
			}
		}
	})
}
