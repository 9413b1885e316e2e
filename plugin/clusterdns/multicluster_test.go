package clusterdns

import (
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/logtest"
)

// The multicluster zones answer from ServiceImports and multi-cluster
// slices through the wiring setup does; bad input is skipped with a log
// line naming the object and a count by reason.
func TestMulticlusterFileSource(t *testing.T) {
	before := skipCounts()
	logged := logtest.Capture(t)
	cd := startFileSourceIn(t, "cluster.local clusterset.local", "testdata/clusterset.yaml", "multicluster clusterset.local")
	for _, want := range []string{
		"skipping ServiceImport prod/pending: a ClusterSetIP import without spec.ips",
		"skipping EndpointSlice prod/db-orphan: label multicluster.kubernetes.io/source-cluster=cluster-c without multicluster.kubernetes.io/service-name",
		"skipping EndpointSlice prod/db-bad-id: label multicluster.kubernetes.io/source-cluster=cluster_d is not a DNS label",
	} {
		logged.Await(t, 0, want, 0)
	}
	if after := skipCounts(); after != [3]float64{before[0] + 1, before[1] + 1, before[2] + 1} {
		t.Errorf("skips counted (no_ips, no_service_name, bad_cluster_id) %v, then %v: want one more each", before, after)
	}
	nx := []dns.RR{test.SOA("clusterset.local. 5 IN SOA ns.dns.clusterset.local. hostmaster.clusterset.local. 0 7200 1800 86400 5")}
	for _, tc := range []test.Case{
		{Qname: "web.prod.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.prod.svc.clusterset.local. 5 IN A 10.100.0.10")}},
		{Qname: "db.prod.svc.clusterset.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("db.prod.svc.clusterset.local. 5 IN A 10.1.0.1"),
			test.A("db.prod.svc.clusterset.local. 5 IN A 10.2.0.1"),
		}},
		{Qname: "db-0.cluster-b.db.prod.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("db-0.cluster-b.db.prod.svc.clusterset.local. 5 IN A 10.2.0.1")}},
		{Qname: "pending.prod.svc.clusterset.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: nx},
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError,
			Ns: []dns.RR{test.SOA("cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5")}},
	} {
		t.Run(tc.Qname, func(t *testing.T) {
			_, m, err := serve(t, cd, tc.Msg())
			if err != nil {
				t.Fatal(err)
			}
			if err := test.SortAndCheck(m, tc); err != nil {
				t.Error(err)
			}
		})
	}
}

// Without the option, ServiceImports are not served and their bad input
// is not reported.
func TestMulticlusterOff(t *testing.T) {
	before := skipCounts()
	cd := startFileSourceIn(t, "cluster.local clusterset.local", "testdata/clusterset.yaml")
	if after := skipCounts(); after != before {
		t.Errorf("skips counted with multicluster off: %v, then %v", before, after)
	}
	rcode, m, _ := serve(t, cd, new(dns.Msg).SetQuestion("web.prod.svc.clusterset.local.", dns.TypeA))
	if rcode != dns.RcodeSuccess || m.Rcode != dns.RcodeNameError {
		t.Errorf("rcode %d, answer %v: want NXDOMAIN", rcode, m)
	}
}

// skipCounts reads the skipped_objects_total series of the test's bad
// input: no_ips, no_service_name and bad_cluster_id.
func skipCounts() [3]float64 {
	return [3]float64{
		testutil.ToFloat64(skippedObjects.WithLabelValues("ServiceImport", "no_ips")),
		testutil.ToFloat64(skippedObjects.WithLabelValues("EndpointSlice", "no_service_name")),
		testutil.ToFloat64(skippedObjects.WithLabelValues("EndpointSlice", "bad_cluster_id")),
	}
}
