package test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/test/cluster"

	"github.com/miekg/dns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// relistAuditPolicy records, with their URIs and user agents, the lists
// and watches of the kinds clusterdns reads.
const relistAuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  verbs: ["list", "watch"]
  resources:
  - group: ""
    resources: ["services", "pods", "namespaces"]
  - group: "discovery.k8s.io"
    resources: ["endpointslices"]
`

// TestOneListPerKindPerRelist checks, in the API server's audit log, that
// clusterdns lists each kind once at start and once per relist (410 Gone
// through ExpireWatches): one streaming list (a watch with
// sendInitialEvents), and no plain LIST after it, which is what client-go
// falls back to when a streaming list fails. A second list per relist
// would double the relist's garbage and its memory peak. The API server's
// own counters show each kind sent twice per relist because the API
// server watches these kinds itself (cluster.APIServerWatchers); this log
// tells the clients apart.
func TestOneListPerKindPerRelist(t *testing.T) {
	dir := t.TempDir()
	policy, audit := filepath.Join(dir, "audit-policy.yaml"), filepath.Join(dir, "audit.log")
	if err := os.WriteFile(policy, []byte(relistAuditPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	e := apiOnlyE2E(t, cluster.Options{APIServerArgs: []string{"--audit-policy-file=" + policy, "--audit-log-path=" + audit}})
	c, ctx := e.c, e.ctx
	ns := e.namespace(t, "relist-lists", nil)
	create := func(name string) string {
		t.Helper()
		svc, err := c.Client.CoreV1().Services(ns).Create(ctx, serviceOf(name, false, map[string]string{"app": name}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return svc.Spec.ClusterIP
	}
	create("before")
	s := e.startClusterdns(t, "pods verified")
	kinds := []string{"services", "endpointslices", "pods", "namespaces"}
	want := func(lists int) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, e2eTimeout)
		defer cancel()
		cluster.Eventually(t, wctx, fmt.Sprintf("%d streaming lists of each kind", lists), func() error {
			streaming, plain, err := clusterdnsLists(audit)
			if err != nil {
				return err
			}
			for _, k := range kinds {
				if plain[k] > 0 || streaming[k] > lists {
					t.Fatalf("clusterdns listed %s %d times streaming and %d times plainly, want %d streaming lists and no plain one", k, streaming[k], plain[k], lists)
				}
				if streaming[k] < lists {
					return fmt.Errorf("%s: %d streaming lists", k, streaming[k])
				}
			}
			return nil
		})
	}
	want(1)

	c.ExpireWatches()
	// A Service created after the expiry answers once the Services
	// informer has relisted and watches again: past the point where a
	// failed streaming list falls back to a plain LIST.
	eventually(t, s, "after."+ns+".svc.cluster.local.", dns.TypeA, is(create("after")))
	want(2)
}

// clusterdnsLists counts, by resource, clusterdns's streaming lists and
// plain LISTs in the audit log.
func clusterdnsLists(audit string) (streaming, plain map[string]int, err error) {
	f, err := os.Open(audit)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	streaming, plain = map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var ev struct {
			Stage, Verb, RequestURI, UserAgent string
			ObjectRef                          struct{ Resource string }
			ResponseStatus                     struct{ Code int }
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, nil, err
		}
		// A watch is logged when its response starts, a list when it
		// is complete; a refused request (429 while the API server's
		// cache starts over) listed nothing.
		if ev.Stage != "ResponseStarted" && !(ev.Stage == "ResponseComplete" && ev.Verb == "list") ||
			ev.ResponseStatus.Code != 200 || !strings.HasPrefix(ev.UserAgent, "clusterdns/") {
			continue
		}
		u, err := url.Parse(ev.RequestURI)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case ev.Verb == "list":
			plain[ev.ObjectRef.Resource]++
		case u.Query().Get("sendInitialEvents") == "true":
			streaming[ev.ObjectRef.Resource]++
		}
	}
	return streaming, plain, sc.Err()
}
