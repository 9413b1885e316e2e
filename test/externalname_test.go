package test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"

	"github.com/miekg/dns"
)

// TestExternalNameChase: an ExternalName service whose target is outside
// the cluster is answered with the CNAME and the target's records, looked
// up through the server's own forward to the upstream.
func TestExternalNameChase(t *testing.T) {
	t.Parallel()
	upstream := startUpstream(t)
	manifest := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: ext, namespace: prod}
  spec: {type: ExternalName, externalName: www.example.org}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testkit.FreePort(t)
	s := startServer(t, fmt.Sprintf(`.:%d {
    bind 127.0.0.1
    clusterdns cluster.local {
        source file %s
    }
    forward . %s
}
`, port, manifest, upstream))
	r := query(t, s.Addr, "udp", "ext.prod.svc.cluster.local.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Fatalf("got %s %v, want the CNAME and the target's A", dns.RcodeToString[r.Rcode], r.Answer)
	}
	cname, ok := r.Answer[0].(*dns.CNAME)
	if !ok || cname.Target != "www.example.org." {
		t.Errorf("first record %v, want CNAME www.example.org.", r.Answer[0])
	}
	a, ok := r.Answer[1].(*dns.A)
	if !ok || a.Hdr.Name != "www.example.org." || a.A.String() != upstreamA {
		t.Errorf("second record %v, want www.example.org. A %s", r.Answer[1], upstreamA)
	}
}
