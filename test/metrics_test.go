package test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// metrics checks the plugin's metrics through the API source, as
// plugin/clusterdns's metrics tests do through the file source: the objects
// gauge counts what the index holds (pods only under pods verified, the
// only mode that watches them), synced, and the invalid TTL counter. The
// programming latency through the API is checked by crud; source_loads is
// the file source's and snapshot_writes the API source's alone (see
// snapshot_test.go).
func (e *e2e) metrics(t *testing.T) {
	ns := e.namespace(t, "e2e-metrics", nil)
	e.headlessDeployment(t, ns, "m", 2)
	badTTL := serviceOf("bad-ttl", false, map[string]string{"app": "none"})
	badTTL.Annotations = map[string]string{"clusterdns.io/ttl": "5m"}
	if _, err := e.c.Client.CoreV1().Services(ns).Create(e.ctx, badTTL, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := e.waitPods(t, ns, "app=m", "m", 2)
	var podIPs []string
	for _, p := range pods {
		podIPs = append(podIPs, p.Status.PodIP)
	}
	for _, tt := range []struct {
		mode string
		pods int
	}{
		{mode: "insecure", pods: 0},
		{mode: "verified", pods: len(pods)},
	} {
		t.Run("pods "+tt.mode, func(t *testing.T) {
			s := e.startClusterdns(t, "namespaces "+ns, "pods "+tt.mode)
			eventually(t, s, "m."+ns+".svc.cluster.local.", dns.TypeA, is(podIPs...))
			if tt.pods > 0 {
				// Ready and the Services come before the pods are listed.
				eventually(t, s, testkit.Dashed(podIPs[0])+"."+ns+".pod.cluster.local.", dns.TypeA, is(podIPs[0]))
			}
			sliceList, err := e.c.Client.DiscoveryV1().EndpointSlices(ns).List(e.ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, body := httpGet(t, s.Metrics)
			for _, want := range []string{
				fmt.Sprintf(`coredns_clusterdns_objects{kind="Pod",zone="cluster.local."} %d`, tt.pods),
				`coredns_clusterdns_objects{kind="Service",zone="cluster.local."} 2`,
				fmt.Sprintf(`coredns_clusterdns_objects{kind="EndpointSlice",zone="cluster.local."} %d`, len(sliceList.Items)),
				`coredns_clusterdns_synced{zone="cluster.local."} 1`,
				`coredns_clusterdns_invalid_ttl_annotations_total 1`,
			} {
				name := want[:strings.IndexAny(want, "{ ")]
				if got := metricLines(body, name); !slices.Contains(got, want) {
					t.Errorf("metrics have no %q: %v", want, got)
				}
			}
		})
	}
}
