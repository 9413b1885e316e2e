package podrun

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/test/netns"
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
	netns.Add(t, n.node)
	netns.Add(t, n.pod)
	netns.Veth(t, n.node, "veth0", n.pod, "eth0")
	netns.IP(t, "-n", n.node, "addr", "add", nodeAddr.String()+"/30", "dev", "veth0")
	netns.IP(t, "-n", n.pod, "addr", "add", podAddr.String()+"/30", "dev", "eth0")
	netns.IP(t, "-n", n.pod, "route", "add", "default", "via", nodeAddr.String())
	return n
}

func (n *podNet) path(ns string) string { return netns.Path(ns) }

// dialNode dials from the node's namespace, as the kubelet's probes do.
func (n *podNet) dialNode(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := netns.Run(n.node, func() (err error) {
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
	netns.IP(t, "-n", n.node, "addr", "add", clusterIP+"/32", "dev", "lo")
	netns.Proxy(t, n.node, net.JoinHostPort(clusterIP, fmt.Sprint(port)), target)
}
