package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
)

// TestServiceImportsThroughRESTClient: with multicluster on, ServiceImports
// are listed and watched through the source's REST client setup (its HTTP
// client, its rate limiter), at the group's path, asking for JSON (custom
// resources are not served as protobuf), with the `labels` selector; the
// import listed is served.
func TestServiceImportsThroughRESTClient(t *testing.T) {
	kinds := map[string][2]string{ // resource: kind, apiVersion
		"services": {"Service", "v1"}, "namespaces": {"Namespace", "v1"},
		"endpointslices": {"EndpointSlice", "discovery.k8s.io/v1"},
		"serviceimports": {"ServiceImport", "multicluster.x-k8s.io/v1alpha1"},
	}
	var importRequests atomic.Int32
	bad := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resource := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		kind, ok := kinds[resource]
		if !ok || r.URL.Query().Get("sendInitialEvents") != "true" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if resource == "serviceimports" {
			importRequests.Add(1)
			switch {
			case r.URL.Path != "/apis/multicluster.x-k8s.io/v1alpha1/serviceimports":
				bad <- "path " + r.URL.Path
			case strings.Contains(r.Header.Get("Accept"), "protobuf"):
				bad <- "Accept " + r.Header.Get("Accept")
			case r.URL.Query().Get("labelSelector") != "team=a":
				bad <- "labelSelector " + r.URL.Query().Get("labelSelector")
			}
			fmt.Fprintln(w, `{"type":"ADDED","object":{"kind":"ServiceImport","apiVersion":"multicluster.x-k8s.io/v1alpha1",`+
				`"metadata":{"name":"web","namespace":"prod","resourceVersion":"1","labels":{"team":"a"}},`+
				`"spec":{"type":"ClusterSetIP","ips":["10.100.0.10"],"ports":[{"name":"http","protocol":"TCP","port":80}]}}}`)
		}
		fmt.Fprintf(w, `{"type":"BOOKMARK","object":{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":"1","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n", kind[0], kind[1])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)

	ix := index.New(index.Options{Multicluster: true})
	s := New(Config{Endpoint: srv.URL, Multicluster: true, LabelSelector: "team=a", StartupTimeout: 10 * time.Second}, ix)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the source never synced")
	}
	select {
	case b := <-bad:
		t.Fatalf("ServiceImports asked with %s", b)
	default:
	}
	if importRequests.Load() == 0 {
		t.Fatal("ServiceImports were never asked for")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if svc := ix.View().ClustersetService([]byte("web.prod")); svc != nil {
			if got := svc.ClusterIPs()[0].String(); got != "10.100.0.10" {
				t.Fatalf("the import serves %s, want 10.100.0.10", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the listed import is not served")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
