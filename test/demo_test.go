package test

import (
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// What corefiles/demo-cluster.yaml describes, typed here from the manifest
// rather than decoded with the server's own decoder, so that a decoding bug
// cannot agree with itself. TestDemoManifest checks the manifest still says
// so.
const (
	demoWebIP        = "10.96.100.10"   // Service prod/web, spec.clusterIP
	demoStagingWebIP = "10.96.200.10"   // Service staging/web
	demoKubernetesIP = "10.96.0.1"      // Service default/kubernetes
	demoAPIIPv4      = "10.96.0.20"     // Service prod/api, clusterIPs[0]
	demoAPIIPv6      = "fd00:10:96::20" // Service prod/api, clusterIPs[1]
	demoSearchTarget = "search.example.com."
	demoCacheIP      = "10.244.3.40" // prod/cache's only endpoint, not ready, publishNotReadyAddresses
	demoWebNotReady  = "10.244.1.12" // prod/web's endpoint with ready: false
	demoPostgresPort = "5432"        // prod/db port "postgres"
)

// demoWebEndpoints are the ready endpoints of prod/web (EndpointSlice web-hq7vz).
var demoWebEndpoints = []string{"10.244.1.7", "10.244.2.8", "10.244.3.9"}

// demoDB are the endpoints of the headless prod/db by hostname (EndpointSlice db-8mq4z).
var demoDB = map[string]string{"db-0": "10.244.1.20", "db-1": "10.244.2.21", "db-2": "10.244.3.22"}

// TestDemoManifest checks that the manifest still holds the values the
// tests expect, so that an edit of the demo shows up here, by name, rather
// than as a wrong DNS answer.
func TestDemoManifest(t *testing.T) {
	manifest := testkit.RepoFile(t, "corefiles/demo-cluster.yaml")
	want := []string{
		"clusterIP: " + demoWebIP,
		"clusterIP: " + demoStagingWebIP,
		"clusterIP: " + demoKubernetesIP,
		"clusterIP: " + demoAPIIPv4,
		"- " + demoAPIIPv6,
		"externalName: " + strings.TrimSuffix(demoSearchTarget, "."),
		"- " + demoCacheIP,
		"- " + demoWebNotReady,
		"port: " + demoPostgresPort,
		"publishNotReadyAddresses: true",
	}
	for _, ip := range demoWebEndpoints {
		want = append(want, "- "+ip)
	}
	for host, ip := range demoDB {
		want = append(want, "hostname: "+host, "- "+ip)
	}
	for _, w := range want {
		if !strings.Contains(manifest, w) {
			t.Errorf("corefiles/demo-cluster.yaml has no %q: update the expectations in test/demo_test.go", w)
		}
	}
}
