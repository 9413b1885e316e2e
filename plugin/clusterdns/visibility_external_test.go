package clusterdns_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// externalCluster is visibilityCluster (a pod of a at 127.77.0.1, one of b
// at 127.77.0.2) with a namespace c, a load balancer lb with an external
// IP and a port in each of a, b and c (192.0.2.1, .2, .3), and a headless
// service db in b with the endpoint db-0. The Corefile exports c to every
// client; b is seen by its own pods alone.
var externalCluster = visibilityCluster + `- {apiVersion: v1, kind: Namespace, metadata: {name: c}}
` + externalLB("a", 1) + externalLB("b", 2) + externalLB("c", 3) + `- apiVersion: v1
  kind: Service
  metadata: {name: db, namespace: b}
  spec: {clusterIP: None, ports: [{name: pg, port: 5432, protocol: TCP}]}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: db-1, namespace: b, labels: {kubernetes.io/service-name: db}}
  addressType: IPv4
  ports: [{name: pg, port: 5432, protocol: TCP}]
  endpoints: [{addresses: [10.244.0.5], hostname: db-0, conditions: {ready: true}}]
`

// externalLB is the list item of service lb in namespace ns, with cluster
// IP 10.96.1.n and external IP 192.0.2.n.
func externalLB(ns string, n int) string {
	return fmt.Sprintf("- {apiVersion: v1, kind: Service, metadata: {name: lb, namespace: %s}, spec: {clusterIP: 10.96.1.%d, externalIPs: [192.0.2.%d], ports: [{name: http, port: 80, protocol: TCP}]}}\n", ns, n, n)
}

// TestVisibilityThroughK8sExternal: under visibility, k8s_external answers
// a pod the names of its own namespace and of those exported to it, and a
// hidden namespace's names (A, SRV, headless endpoints, the namespace
// itself, PTR of an external IP) exactly as those of a namespace that does
// not exist (and to a client that is no pod, all but the exported one),
// with a cache in front that would otherwise hand one pod's
// answer to the other, whichever asks first. The zone's transfer carries
// only the namespace exported to every client.
func TestVisibilityThroughK8sExternal(t *testing.T) {
	manifests := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(manifests, []byte(externalCluster), 0o600); err != nil {
		t.Fatal(err)
	}
	tcp, udp := startServer(t, `example.org:0 2.0.192.in-addr.arpa:0 cluster.local:0 {
    bind 127.0.0.1
    cache 30
    k8s_external example.org 2.0.192.in-addr.arpa {
        headless
    }
    clusterdns cluster.local {
        source file `+manifests+`
        visibility {
            export c to *
        }
    }
    transfer example.org {
        to *
    }
}`)
	// node is a client no pod holds: it sees what is exported to all.
	podOf := map[string]string{"a": "127.77.0.1", "b": "127.77.0.2", "node": "127.0.0.1"}
	// Each question of a pod about target's names, and of the same name
	// in a namespace that does not exist (zz).
	for _, tc := range []struct {
		name  string
		qtype uint16
		// qname is the question about target's names.
		qname func(target string) string
	}{
		{name: "A", qtype: dns.TypeA, qname: func(ns string) string { return "lb." + ns + ".example.org." }},
		{name: "SRV", qtype: dns.TypeSRV, qname: func(ns string) string { return "_http._tcp.lb." + ns + ".example.org." }},
		{name: "headless endpoint", qtype: dns.TypeA, qname: func(ns string) string {
			if ns == "a" || ns == "c" {
				return "lb." + ns + ".example.org." // no headless service there
			}
			return "db-0.db." + ns + ".example.org."
		}},
		{name: "namespace", qtype: dns.TypeA, qname: func(ns string) string { return ns + ".example.org." }},
		{name: "PTR", qtype: dns.TypePTR, qname: func(ns string) string {
			return map[string]string{"a": "1", "b": "2", "c": "3", "zz": "9"}[ns] + ".2.0.192.in-addr.arpa."
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			absent := askFrom(t, udp, podOf["a"], tc.qname("zz"), tc.qtype)
			if absent.Rcode != dns.RcodeNameError {
				t.Fatalf("%s: %s, want NXDOMAIN", tc.qname("zz"), dns.RcodeToString[absent.Rcode])
			}
			// Each order: the cache must hold neither b's answer for a's
			// pod nor the NXDOMAIN for b's.
			for _, order := range [][]string{{"a", "b", "node", "a"}, {"b", "a", "node", "b"}} {
				for _, asker := range order {
					for _, target := range []string{"a", "b", "c"} {
						r := askFrom(t, udp, podOf[asker], tc.qname(target), tc.qtype)
						visible := target == asker || target == "c"
						switch {
						case !visible && (r.Rcode != absent.Rcode || len(r.Answer) != 0 || !slices.Equal(rrStrings(r.Ns), rrStrings(absent.Ns))):
							t.Errorf("order %v: %s's pod asking %s got %s %v %v, want as for a namespace that does not exist: %s %v", order, asker, tc.qname(target),
								dns.RcodeToString[r.Rcode], r.Answer, r.Ns, dns.RcodeToString[absent.Rcode], absent.Ns)
						case visible && tc.name != "namespace" && (r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0):
							t.Errorf("order %v: %s's pod asking %s got %s %v, want its records", order, asker, tc.qname(target), dns.RcodeToString[r.Rcode], r.Answer)
						case visible && tc.name == "namespace" && r.Rcode != dns.RcodeSuccess:
							t.Errorf("order %v: %s's pod asking %s got %s, want NODATA", order, asker, tc.qname(target), dns.RcodeToString[r.Rcode])
						}
					}
				}
			}
		})
	}

	t.Run("AXFR", func(t *testing.T) {
		var got []string
		for _, rr := range flatten(axfr(t, tcp, "example.org.", 0)) {
			got = append(got, rr.String())
		}
		text := strings.Join(got, "\n")
		if !strings.Contains(text, "lb.c.example.org.") {
			t.Errorf("transfer lacks c, exported to every client:\n%s", text)
		}
		for _, hidden := range []string{".a.example.org.", ".b.example.org."} {
			if strings.Contains(text, hidden) {
				t.Errorf("transfer has names of %s, exported to no one:\n%s", hidden, text)
			}
		}
	})
}
