package cluster

import (
	"context"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodePrefix starts the name of every node AddNodes creates.
const NodePrefix = "kwok-node-"

// AddNodes creates n fake nodes that kwok manages, waits until kwok has made
// them Ready, and returns their names. Each node k (counting across calls)
// gets the pod CIDRs 10.128+k/256.k%256.0/24 and fd00:10:244:k::/64, so pods
// on it get an IPv4 and an IPv6 address (kwok allocates from the node's pod
// CIDRs) and pod IPs never repeat across nodes. The nodes carry no taint:
// the API server runs without the TaintNodesByCondition admission plugin,
// so pods need no toleration.
func (c *Cluster) AddNodes(n int) []string {
	c.t.Helper()
	if n < 1 {
		c.t.Fatalf("testbed: AddNodes(%d): want at least one node", n)
	}
	return c.addNodes(n, func(k int) []string {
		if k >= 1<<15 {
			c.t.Fatalf("testbed: AddNodes: node %d is past the pod CIDR space (32768 nodes)", k)
		}
		return []string{podCIDRv4(k), podCIDRv6(k)}
	})
}

// AddNodeWithPodCIDRs creates one fake node, as AddNodes does, whose pods get
// their addresses from podCIDRs (one per family, IPv4 first) instead of the
// test bed's ranges: a node with 127.0.0.0/8 pods lets a test send queries
// from a pod's address over loopback (autopath). It returns the node's name.
func (c *Cluster) AddNodeWithPodCIDRs(podCIDRs ...string) string {
	c.t.Helper()
	if len(podCIDRs) == 0 {
		c.t.Fatal("testbed: AddNodeWithPodCIDRs: want at least one CIDR")
	}
	return c.addNodes(1, func(int) []string { return podCIDRs })[0]
}

// addNodes creates n nodes, node k (counting across calls) with the pod
// CIDRs cidrs(k), and waits until kwok has made them Ready.
func (c *Cluster) addNodes(n int, cidrs func(k int) []string) []string {
	c.t.Helper()
	if c.opts.APIOnly {
		c.t.Fatal("testbed: adding nodes: the cluster was started with APIOnly, without kwok")
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	c.mu.Lock()
	first := c.nodes
	c.nodes += n
	c.mu.Unlock()

	names := make([]string, 0, n)
	for k := first; k < first+n; k++ {
		podCIDRs := cidrs(k)
		name := fmt.Sprintf("%s%d", NodePrefix, k)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: name,
				Annotations: map[string]string{
					kwokAnnotation: "fake",
					// As kubelets do: no node TTL cache for secrets and
					// configmaps (there is no kubelet to read it anyway).
					"node.alpha.kubernetes.io/ttl": "0",
				},
				Labels: map[string]string{
					"kubernetes.io/hostname": name,
					"kubernetes.io/os":       "linux",
					"kubernetes.io/arch":     "amd64",
					"type":                   "kwok",
				},
			},
			Spec: corev1.NodeSpec{
				PodCIDR:  podCIDRs[0],
				PodCIDRs: podCIDRs,
			},
		}
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			c.t.Fatalf("testbed: create node %s: %v", name, err)
		}
		names = append(names, name)
	}
	c.waitFor(ctx, fmt.Sprintf("nodes %s..%s Ready (kwok)", names[0], names[len(names)-1]), func(ctx context.Context) error {
		// One list rather than a get per node: AddNodes(1000) stays cheap.
		list, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "type=kwok"})
		if err != nil {
			return err
		}
		ready := map[string]bool{}
		for i := range list.Items {
			ready[list.Items[i].Name] = nodeReady(&list.Items[i])
		}
		for _, name := range names {
			if !ready[name] {
				return fmt.Errorf("node %s not Ready", name)
			}
		}
		return nil
	})
	return names
}

func podCIDRv4(k int) string {
	return fmt.Sprintf("10.%d.%d.0/24", 128+k/256, k%256)
}

// podCIDRv6 is fd00:10:244:k::/64, in the canonical form the API server
// expects (it warns about fd00:10:244:0::/64).
func podCIDRv6(k int) string {
	a := netip.MustParseAddr("fd00:10:244::").As16()
	a[6], a[7] = byte(k>>8), byte(k)
	return netip.PrefixFrom(netip.AddrFrom16(a), 64).String()
}

func nodeReady(node *corev1.Node) bool {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}
