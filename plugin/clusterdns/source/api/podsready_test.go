package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
)

// fakeLists is an API server with no objects whose pods are held until
// release is closed: the pods of a big cluster, still being listed. It
// answers as a kube-apiserver does to client-go's streaming lists (a watch
// with sendInitialEvents): the initial events, here none, then the bookmark
// that ends them, then nothing until the client goes.
func fakeLists(t *testing.T, release <-chan struct{}) *httptest.Server {
	kinds := map[string][2]string{ // resource: kind, apiVersion
		"services": {"Service", "v1"}, "namespaces": {"Namespace", "v1"}, "pods": {"Pod", "v1"},
		"endpointslices": {"EndpointSlice", "discovery.k8s.io/v1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, ok := kinds[r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]]
		if !ok || r.URL.Query().Get("sendInitialEvents") != "true" {
			http.NotFound(w, r)
			return
		}
		if kind[0] == "Pod" {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"type":"BOOKMARK","object":{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":"1","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n", kind[0], kind[1])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestPodsBeforeReady: with pods watched, the index serves once Services,
// EndpointSlices and Namespaces are listed, pods pending; with
// PodsBeforeReady (visibility, where every answer depends on the client's
// pod) it serves nothing until the pods are listed too.
func TestPodsBeforeReady(t *testing.T) {
	for _, tc := range []struct {
		name            string
		podsBeforeReady bool
	}{
		{name: "served before pods"},
		{name: "pods before ready", podsBeforeReady: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := fakeLists(t, release)
			ix := index.New(index.Options{Pods: true})
			s := New(Config{Endpoint: srv.URL, Pods: true, PodsBeforeReady: tc.podsBeforeReady, StartupTimeout: 2 * time.Second}, ix)
			// Start returns once synced, or after the startup timeout;
			// the pods list is held either way.
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Stop)
			if live := ix.Live(); live == tc.podsBeforeReady {
				t.Fatalf("with the pods list held: index live %v, want %v", live, !tc.podsBeforeReady)
			}
			if !tc.podsBeforeReady && !ix.PodsPending() {
				t.Error("served before the pods were listed, yet pods are not pending")
			}
			close(release)
			select {
			case <-s.done: // every kind synced
			case <-time.After(10 * time.Second):
				t.Fatal("the source never synced once the pods were listed")
			}
			if !ix.Live() || ix.PodsPending() {
				t.Errorf("pods listed: live %v, pods pending %v; want live, none pending", ix.Live(), ix.PodsPending())
			}
		})
	}
}
