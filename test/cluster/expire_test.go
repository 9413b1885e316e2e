package cluster_test

import (
	"context"
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
	open, err := c.Client.CoreV1().Services("").Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
	if err != nil {
		t.Fatal(err)
	}
	defer open.Stop()

	c.ExpireWatches()

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
