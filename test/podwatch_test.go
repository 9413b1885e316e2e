package test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/cluster"
	"github.com/clusterdns/clusterdns/test/testkit"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestPodWatchThroughRelists runs `pods verified` against the real API
// server through both relists the pod watch makes: after 410 Gone
// (ExpireWatches) and after an API server restart. Each time a pod is
// deleted in etcd while no watch can see it, so only the relist's end can
// drop it; the other pods answer throughout, and the watch goes on after.
func TestPodWatchThroughRelists(t *testing.T) {
	e := apiOnlyE2E(t, cluster.Options{})
	c, ctx := e.c, e.ctx
	ns := e.namespace(t, "pod-relists", nil)
	// Pods need it, and no controller makes it on an API-only bed.
	if _, err := c.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{"a": "10.200.0.1", "b": "10.200.0.2", "c": "10.200.0.3"}
	for name, addr := range addrs {
		runningPod(t, e, ns, name, addr)
	}
	s := e.startClusterdns(t, "pods verified")
	podName := func(addr string) string { return testkit.Dashed(addr) + "." + ns + ".pod.cluster.local." }
	answering := func(when string, names ...string) {
		t.Helper()
		for _, name := range names {
			eventually(t, s, podName(addrs[name]), dns.TypeA, is(addrs[name]))
		}
		t.Logf("%s: %v answer", when, names)
	}
	answering("after start", "a", "b", "c")

	// A pod created answers, and deleted gets NXDOMAIN, through the watch.
	created := func(name, addr string) {
		t.Helper()
		start := time.Now()
		runningPod(t, e, ns, name, addr)
		eventually(t, s, podName(addr), dns.TypeA, is(addr))
		t.Logf("pod %s answers %s after it was created", name, time.Since(start).Round(time.Millisecond))
	}
	created("d", "10.200.0.4")
	start := time.Now()
	if err := c.Client.CoreV1().Pods(ns).Delete(ctx, "d", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, podName("10.200.0.4"), dns.TypeA, nxdomain)
	t.Logf("pod d gets NXDOMAIN %s after it was deleted", time.Since(start).Round(time.Millisecond))

	// 410 Gone: b is deleted while every watch is down.
	c.ExpireWatches(func() { deleteInEtcd(t, c, ns, "b") })
	eventually(t, s, podName(addrs["b"]), dns.TypeA, nxdomain)
	answering("after the 410 relist", "a", "c")
	created("e", "10.200.0.5")

	// The API server restarts: c is deleted while it is down.
	c.StopAPIServer()
	deleteInEtcd(t, c, ns, "c")
	c.StartAPIServer()
	eventually(t, s, podName(addrs["c"]), dns.TypeA, nxdomain)
	answering("after the restart's relist", "a")
	created("f", "10.200.0.6")
}

// runningPod creates pod name of namespace ns holding addr, Running: what
// a kubelet reports (the test bed runs none).
func runningPod(t *testing.T, e *e2e, ns, name, addr string) {
	t.Helper()
	pods := e.c.Client.CoreV1().Pods(ns)
	pod, err := pods.Create(e.ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		NodeName: "node-1", Containers: podSpec().Containers}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: addr, PodIPs: []corev1.PodIP{{IP: addr}}}
	if _, err := pods.UpdateStatus(e.ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// deleteInEtcd deletes pod ns/name in etcd, behind the API server's back.
func deleteInEtcd(t *testing.T, c *cluster.Cluster, ns, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	var res struct{ Deleted string }
	if err := cluster.EtcdCall(ctx, http.DefaultClient, c.EtcdURL, "/v3/kv/deleterange",
		map[string]any{"key": []byte("/registry/pods/" + ns + "/" + name)}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Deleted != "1" {
		t.Fatalf("deleting pod %s/%s in etcd: %s deleted, want 1", ns, name, res.Deleted)
	}
}
