package clusterdns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
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
# HELP coredns_clusterdns_synced 1 when the source has synced and the index serves, else 0, by zone.
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
# HELP coredns_clusterdns_synced 1 when the source has synced and the index serves, else 0, by zone.
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
