package podrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// The pod's network, as a CNI plugin and kube-proxy would make it, in two
// network namespaces of the test's own: "node" stands for the node's, "pod"
// for the pod sandbox's, joined by a veth pair on a /30 that exists nowhere
// else. The API server stays on the host's loopback; a proxy listening in
// "node" on the kubernetes Service's clusterIP forwards to it, as
// kube-proxy's DNAT does. Nothing is added to the host's own namespace.

// podNet's /30: the node's end and the pod's.
var (
	nodeAddr = netip.MustParseAddr("10.250.53.1")
	podAddr  = netip.MustParseAddr("10.250.53.2")
)

type podNet struct {
	node, pod string // names under /run/netns
}

// newPodNet creates the two namespaces and the link between them; they are
// deleted, with the veth pair, when the test ends.
func newPodNet(t testing.TB) *podNet {
	t.Helper()
	prefix := fmt.Sprintf("podrun-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))
	n := &podNet{node: prefix + "-node", pod: prefix + "-pod"}
	for _, ns := range []string{n.node, n.pod} {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		})
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	// Created inside "node", so the names never meet the host's links.
	ipCmd(t, "-n", n.node, "link", "add", "veth0", "type", "veth", "peer", "name", "eth0", "netns", n.pod)
	ipCmd(t, "-n", n.node, "addr", "add", nodeAddr.String()+"/30", "dev", "veth0")
	ipCmd(t, "-n", n.node, "link", "set", "veth0", "up")
	ipCmd(t, "-n", n.pod, "addr", "add", podAddr.String()+"/30", "dev", "eth0")
	ipCmd(t, "-n", n.pod, "link", "set", "eth0", "up")
	ipCmd(t, "-n", n.pod, "route", "add", "default", "via", nodeAddr.String())
	return n
}

func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func (n *podNet) path(ns string) string { return "/run/netns/" + ns }

// inNetns runs f on a thread moved into the named network namespace, so
// that the sockets f opens live there (they stay there afterwards).
func inNetns(ns string, f func() error) error {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
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

// dialNode dials from the node's namespace, as the kubelet's probes do.
func (n *podNet) dialNode(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNetns(n.node, func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// serviceProxy makes the kubernetes Service's clusterIP:port answer in
// the node's namespace with the API server at target (host loopback):
// kube-proxy's job. The clusterIP is one of the API server's certificate
// names, so the pod verifies it as it would in a cluster.
func (n *podNet) serviceProxy(t testing.TB, clusterIP string, port int, target string) {
	t.Helper()
	ipCmd(t, "-n", n.node, "addr", "add", clusterIP+"/32", "dev", "lo")
	var ln net.Listener
	if err := inNetns(n.node, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(clusterIP, fmt.Sprint(port)))
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
