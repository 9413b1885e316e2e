package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/cluster"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// TestExpireWatches checks that ExpireWatches ends a client's watch and
// that resuming it at its resource version gets 410 Gone, as an informer
// does before it lists again, while the same resume worked before; and
// that the API server then serves the cluster's objects as before.
//
// It also pins what the bench's relist check rests on: the API server
// watches Services itself (APIServerWatchers counts that watch, and a
// client's on top), and its own informer relists through ExpireWatches,
// so the API server counts the Services sent again with no client
// relisting at all.
func TestExpireWatches(t *testing.T) {
	c := cluster.Start(t, cluster.Options{APIOnly: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The resource version before a Service is created: a watch resumed
	// there starts with the Service's ADDED event, or with 410 Gone.
	list, err := c.Client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rv := list.ResourceVersion
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kept"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := c.Client.CoreV1().Services(metav1.NamespaceDefault).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if code := resume(ctx, t, c.Client, rv); code != 0 {
		t.Fatalf("before ExpireWatches: watch at %s: status %d, want it served", rv, code)
	}
	own := watchers(ctx, t, c)
	if own < 1 {
		t.Fatalf("the API server serves %v watches of Services, want its own at least", own)
	}
	open, err := c.Client.CoreV1().Services("").Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
	if err != nil {
		t.Fatal(err)
	}
	defer open.Stop()
	if n := watchers(ctx, t, c); n != own+1 {
		t.Fatalf("with a client's watch open, the API server serves %v watches of Services, want %v", n, own+1)
	}
	services := float64(len(list.Items) + 1)
	before := sent(ctx, t, c)

	c.ExpireWatches()

	// The test's watch only ends; the API server's own informer lists
	// again, and the API server counts what it sends it.
	cluster.Eventually(t, ctx, "the API server's own relist of Services counted", func() error {
		if got := sent(ctx, t, c) - before; got < own*services {
			return fmt.Errorf("%v Services sent again, want %v (%v per watch of its own)", got, own*services, services)
		}
		return nil
	})

	// The open watch ends (a client resumes it then).
	ended := false
	for !ended {
		select {
		case _, ok := <-open.ResultChan():
			ended = !ok
		case <-ctx.Done():
			t.Fatal("a watch open across ExpireWatches did not end")
		}
	}
	if code := resume(ctx, t, c.Client, rv); code != http.StatusGone {
		t.Fatalf("after ExpireWatches: watch at %s: status %d, want 410 Gone", rv, code)
	}
	if _, err := c.Client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Fatalf("after ExpireWatches: %v", err)
	}
}

// watchers reads how many watches of Services the API server serves.
func watchers(ctx context.Context, t *testing.T, c *cluster.Cluster) float64 {
	t.Helper()
	w, err := c.APIServerWatchers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return w["/services"]
}

// sent reads how many Services the API server has sent as a watch's
// initial events (a streaming list) or in a list from its watch cache.
func sent(ctx context.Context, t *testing.T, c *cluster.Cluster) float64 {
	t.Helper()
	var n float64
	for _, name := range []string{"apiserver_init_events_total", "apiserver_cache_list_returned_objects_total"} {
		v, err := c.APIServerMetric(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		n += v["/services"]
	}
	return n
}

// resume watches Services from rv and returns 0 when the watch is served
// (its first event is the Service's ADDED), or the status code of its
// error.
func resume(ctx context.Context, t *testing.T, client kubernetes.Interface, rv string) int32 {
	t.Helper()
	w, err := client.CoreV1().Services("").Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
	if err != nil {
		if s, ok := err.(apierrors.APIStatus); ok {
			return s.Status().Code
		}
		t.Fatal(err)
	}
	defer w.Stop()
	select {
	case ev, ok := <-w.ResultChan():
		switch {
		case !ok:
			t.Fatal("watch ended without an event")
		case ev.Type == watch.Error:
			return apierrors.FromObject(ev.Object).(apierrors.APIStatus).Status().Code
		}
		return 0
	case <-ctx.Done():
		t.Fatal("watch: no event before the deadline")
	}
	return 0
}
