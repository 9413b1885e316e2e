package clusterdns

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/logtest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/source/file/filetest"
)

func TestInstanceMetrics(t *testing.T) {
	cd := newTestPlugin(t, true)
	instances.add(cd)
	defer instances.remove(cd)
	want := `
# HELP coredns_clusterdns_objects Number of Kubernetes objects indexed, by zone and kind.
# TYPE coredns_clusterdns_objects gauge
coredns_clusterdns_objects{kind="EndpointSlice",zone="cluster.local."} 7
coredns_clusterdns_objects{kind="Namespace",zone="cluster.local."} 4
coredns_clusterdns_objects{kind="Pod",zone="cluster.local."} 0
coredns_clusterdns_objects{kind="Service",zone="cluster.local."} 13
# HELP coredns_clusterdns_synced 1 when the source has synced every kind it watches (pods too) and the index serves, else 0, by zone.
# TYPE coredns_clusterdns_synced gauge
coredns_clusterdns_synced{zone="cluster.local."} 1
`
	if err := testutil.CollectAndCompare(instances, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	// A reload: the new instance takes the series over, the old one's stop
	// does not remove them.
	next := newTestPlugin(t, false)
	instances.add(next)
	instances.remove(cd)
	if err := testutil.CollectAndCompare(instances, strings.NewReader(`
# HELP coredns_clusterdns_synced 1 when the source has synced every kind it watches (pods too) and the index serves, else 0, by zone.
# TYPE coredns_clusterdns_synced gauge
coredns_clusterdns_synced{zone="cluster.local."} 0
`), "coredns_clusterdns_synced"); err != nil {
		t.Error(err)
	}
	instances.remove(next)
	if n := testutil.CollectAndCount(instances); n != 0 {
		t.Errorf("%d series after every instance stopped", n)
	}
}

func TestProgrammingMetric(t *testing.T) {
	before := testutil.CollectAndCount(programmingDuration)
	observeProgramming(index.KindHeadlessWithoutSelector, 20*time.Millisecond)
	observeProgramming(index.KindHeadlessWithoutSelector, -time.Second)
	if got := testutil.CollectAndCount(programmingDuration); got != before+1 {
		t.Errorf("series %d, want %d: one per service kind", got, before+1)
	}
}

// A Service with an invalid clusterdns.io/ttl is served with the zone's TTL
// and counted, through the wiring setup does.
func TestBadTTLCounted(t *testing.T) {
	manifest := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: prod
  annotations: {clusterdns.io/ttl: "5m"}
spec: {clusterIP: 10.96.0.10, clusterIPs: [10.96.0.10]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := caddy.NewTestController("dns", "clusterdns cluster.local {\n source file "+manifest+"\n}")
	cd, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	cd.wire()
	before := testutil.ToFloat64(badTTLAnnotations)
	if err := cd.start(); err != nil {
		t.Fatal(err)
	}
	defer cd.stop()
	if got := testutil.ToFloat64(badTTLAnnotations) - before; got != 1 {
		t.Errorf("invalid TTL annotations counted %v times, want 1", got)
	}
	rcode, m, _ := serve(t, cd, new(dns.Msg).SetQuestion("web.prod.svc.cluster.local.", dns.TypeA))
	if rcode != dns.RcodeSuccess || len(m.Answer) != 1 || m.Answer[0].Header().Ttl != defaultTTL {
		t.Errorf("answer %v, want the service with the zone's TTL %d", m.Answer, defaultTTL)
	}
}

// startFileSource starts a plugin serving the manifests in path as the
// Corefile stanza options say, and registers it with the metrics.
func startFileSource(t *testing.T, path string, options ...string) *ClusterDNS {
	t.Helper()
	return startFileSourceIn(t, "cluster.local", path, options...)
}

// startFileSourceIn is startFileSource for the plugin's zones.
func startFileSourceIn(t *testing.T, zones, path string, options ...string) *ClusterDNS {
	t.Helper()
	c := caddy.NewTestController("dns", "clusterdns "+zones+" {\n source file "+path+"\n "+strings.Join(options, "\n ")+"\n}")
	cd, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	cd.wire()
	if err := cd.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cd.stop() })
	return cd
}

// The objects and synced gauges through the file source: objects counts
// what the index holds, pods only under pods verified (the API source
// watches no pods otherwise).
func TestObjectsMetricFileSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: prod}}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: prod}
  spec: {clusterIP: 10.96.0.10}
- apiVersion: v1
  kind: Pod
  metadata: {name: web-a, namespace: prod}
  status: {phase: Running, podIPs: [{ip: 10.244.0.1}]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		mode string
		pods int
	}{
		{mode: "insecure", pods: 0},
		{mode: "verified", pods: 1},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			startFileSource(t, path, "pods "+tt.mode)
			want := fmt.Sprintf(`
# HELP coredns_clusterdns_objects Number of Kubernetes objects indexed, by zone and kind.
# TYPE coredns_clusterdns_objects gauge
coredns_clusterdns_objects{kind="EndpointSlice",zone="cluster.local."} 0
coredns_clusterdns_objects{kind="Namespace",zone="cluster.local."} 1
coredns_clusterdns_objects{kind="Pod",zone="cluster.local."} %d
coredns_clusterdns_objects{kind="Service",zone="cluster.local."} 1
# HELP coredns_clusterdns_synced 1 when the source has synced every kind it watches (pods too) and the index serves, else 0, by zone.
# TYPE coredns_clusterdns_synced gauge
coredns_clusterdns_synced{zone="cluster.local."} 1
`, tt.pods)
			if err := testutil.CollectAndCompare(instances, strings.NewReader(want)); err != nil {
				t.Error(err)
			}
		})
	}
}

// The programming latency through the file source: one observation per
// changed Service on a reload, none at the start, each well under the
// manifests' age.
func TestProgrammingMetricFileSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	write := func(ip string) { filetest.Replace(t, path, filetest.Manifest(ip, "api")) }
	observed := func() (count uint64, sum float64) {
		t.Helper()
		families, err := prometheus.DefaultGatherer.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() != "coredns_clusterdns_dns_programming_duration_seconds" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "service_kind" && l.GetValue() == index.KindClusterIP.String() {
						return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
					}
				}
			}
		}
		return 0, 0
	}
	write("10.96.0.10")
	count0, sum0 := observed()
	logged := logtest.Capture(t)
	startFileSource(t, path)
	if count, _ := observed(); count != count0 {
		t.Fatalf("the start observed %d latencies: what a start lists is not a change", count-count0)
	}
	// The source logs a load after the index has published it and then
	// observed its latencies; Replaced signals the publish alone, before
	// the observation.
	offset := logged.Len()
	write("10.96.0.11")
	logged.Await(t, offset, "Loaded "+path, 10*time.Second)
	count, sum := observed()
	if count-count0 != 1 {
		t.Fatalf("observed %d latencies, want 1: web changed, api did not", count-count0)
	}
	if latency := sum - sum0; latency > 10 {
		t.Errorf("latency %.0f s: timed from the manifests' creation, not from the change", latency)
	}
}
