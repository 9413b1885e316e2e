package api

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// TestLinksTwoAPIGroups keeps the source from linking what would register
// every API group again (see client.go): client-go's clientset, its
// informer factory, or a k8s.io/api group besides the two it reads; nor
// mcs-api's clientset, whose scheme registers its groups at start even
// with the multicluster option off, or a version of mcs-api's group
// besides the one it reads.
func TestLinksTwoAPIGroups(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if bad := unwantedDeps(strings.Fields(string(out))); len(bad) > 0 {
		t.Errorf("the source links %v", bad)
	}
	// The check itself finds what it must.
	if bad := unwantedDeps([]string{"k8s.io/api/core/v1", "k8s.io/client-go/kubernetes", "k8s.io/api/apps/v1", "k8s.io/client-go/informers/core/v1",
		mcsAPI + "apis/v1alpha1", mcsAPI + "apis/v1beta1", mcsAPI + "client/clientset/versioned/typed/apis/v1alpha1"}); len(bad) != 5 {
		t.Errorf("unwantedDeps found %v, want the clientset, apps/v1, the informers, mcs-api's v1beta1 and its client", bad)
	}
}

const mcsAPI = "sigs.k8s.io/mcs-api/pkg/"

func unwantedDeps(deps []string) []string {
	var bad []string
	for _, d := range deps {
		switch {
		case d == "k8s.io/api/core/v1", d == "k8s.io/api/discovery/v1", d == mcsAPI+"apis/v1alpha1":
		case strings.HasPrefix(d, "k8s.io/api/"), strings.HasPrefix(d, mcsAPI),
			d == "k8s.io/client-go/kubernetes", strings.HasPrefix(d, "k8s.io/client-go/kubernetes/"),
			d == "k8s.io/client-go/informers", strings.HasPrefix(d, "k8s.io/client-go/informers/"):
			bad = append(bad, d)
		}
	}
	return bad
}

// TestListCountsUntilDecoded: a LIST, the informers' and the pod watch's,
// is a list in flight for the memory limit until it is decoded, not only
// until its answer is read: client-go reads the whole body, closes it, and
// decodes after.
func TestListCountsUntilDecoded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		withoutWatchList(w, r, func() {
			switch r.URL.Path {
			case "/api/v1/services":
				fmt.Fprint(w, `{"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"3"},"items":[{"metadata":{"name":"web","namespace":"prod","resourceVersion":"2"},"spec":{"clusterIP":"10.96.0.10","clusterIPs":["10.96.0.10"]}}]}`)
			case "/api/v1/pods":
				fmt.Fprint(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"3"},"items":[{"metadata":{"name":"a","namespace":"prod","resourceVersion":"2"},"status":{"phase":"Running","podIP":"10.0.0.1"}}]}`)
			default:
				http.NotFound(w, r)
			}
		})
	}))
	t.Cleanup(srv.Close)
	s := New(Config{Endpoint: srv.URL, Pods: true}, index.New(index.Options{Pods: true}))
	rc, err := RESTConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Outermost: what client-go sees. At a LIST's close, its answer is
	// read and not yet decoded.
	atClose := make(chan int32, 8)
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			// Not yet sent: waiting here (for the rate limiter, an
			// inflight slot, an API server that is down) is no list.
			if n := lists.Load(); n != 0 {
				t.Errorf("%s waiting to be sent: %d lists in flight, want 0", req.URL, n)
			}
			resp, err := rt.RoundTrip(req)
			if err == nil && req.URL.Query().Get("watch") != "true" {
				resp.Body = closeFunc{ReadCloser: resp.Body, close: func() { atClose <- lists.Load() }}
			}
			return resp, err
		})
	})
	c, err := newClients(rc, false)
	if err != nil {
		t.Fatal(err)
	}
	want := func(what string) {
		t.Helper()
		select {
		case n := <-atClose:
			if n != 1 {
				t.Errorf("%s read, not decoded: %d lists in flight, want 1", what, n)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", what)
		}
	}

	if _, err := s.newPodWatch(c.pods()).list(t.Context(), metav1.ListOptions{Limit: listPage}); err != nil {
		t.Fatal(err)
	}
	want("pod watch's LIST")
	if n := lists.Load(); n != 0 {
		t.Errorf("pod watch's LIST decoded: %d lists in flight, want 0", n)
	}

	inf := s.informer(c.services(""))
	goUntilCleanup(t, inf.RunWithContext)
	want("informer's LIST")
	if !cache.WaitForCacheSync(t.Context().Done(), inf.HasSynced) {
		t.Fatal("the informer never synced")
	}
	if n := lists.Load(); n != 0 {
		t.Errorf("informer synced: %d lists in flight, want 0", n)
	}
}

// closeFunc is a body that calls close before it closes.
type closeFunc struct {
	io.ReadCloser
	close func()
}

func (c closeFunc) Close() error {
	c.close()
	return c.ReadCloser.Close()
}
