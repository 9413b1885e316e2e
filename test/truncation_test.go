package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"

	"github.com/miekg/dns"
)

// bigEndpoints is the number of ready endpoints of the headless service
// big.prod: their A records (about 3.2 kB) do not fit in 512 bytes.
const bigEndpoints = 200

// bigManifest writes a kubectl-style List (JSON) with the namespace prod and
// a headless service big whose endpoints are spread over EndpointSlices of
// 100, as the EndpointSlice controller spreads them. It returns the file and
// the endpoint addresses, sorted.
func bigManifest(t *testing.T) (string, []string) {
	t.Helper()
	type obj = map[string]any
	items := []obj{
		{"apiVersion": "v1", "kind": "Namespace", "metadata": obj{"name": "prod"}},
		{
			"apiVersion": "v1", "kind": "Service",
			"metadata": obj{"name": "big", "namespace": "prod"},
			"spec": obj{
				"clusterIP": "None", "clusterIPs": []string{"None"},
				"ports":    []obj{{"name": "http", "port": 80, "protocol": "TCP"}},
				"selector": obj{"app": "big"},
			},
		},
	}
	var ips []string
	for slice := 0; slice*100 < bigEndpoints; slice++ {
		var endpoints []obj
		for i := slice * 100; i < min((slice+1)*100, bigEndpoints); i++ {
			ip := fmt.Sprintf("10.245.%d.%d", i/250, i%250+1)
			ips = append(ips, ip)
			endpoints = append(endpoints, obj{"addresses": []string{ip}, "conditions": obj{"ready": true}})
		}
		items = append(items, obj{
			"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
			"metadata": obj{
				"name": fmt.Sprintf("big-%d", slice), "namespace": "prod",
				"labels": obj{"kubernetes.io/service-name": "big"},
			},
			"ports":     []obj{{"name": "http", "port": 8080, "protocol": "TCP"}},
			"endpoints": endpoints,
		})
	}
	data, err := json.MarshalIndent(obj{"apiVersion": "v1", "kind": "List", "items": items}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ips)
	return path, ips
}

// TestUDPTruncationAndTCP checks that an answer too big for UDP is truncated
// (TC) for a client without EDNS, that the client gets all of it over TCP,
// and that a client with a 4096-byte EDNS buffer gets either all of it or a
// truncated reply, never a silently shortened one.
func TestUDPTruncationAndTCP(t *testing.T) {
	t.Parallel()
	path, ips := bigManifest(t)
	port := testkit.FreePort(t)
	s := startServer(t, fmt.Sprintf(`cluster.local:%d {
    bind 127.0.0.1
    errors
    clusterdns {
        source file %s
    }
}
`, port, path))
	const qname = "big.prod.svc.cluster.local."

	t.Run("UDP without EDNS", func(t *testing.T) {
		r := query(t, s.Addr, "udp", qname, dns.TypeA)
		if !r.Truncated {
			t.Fatalf("reply with %d of %d records has no TC bit", len(r.Answer), bigEndpoints)
		}
		if r.Rcode != dns.RcodeSuccess {
			t.Errorf("rcode %s, want NOERROR", dns.RcodeToString[r.Rcode])
		}
		if len(r.Answer) >= bigEndpoints {
			t.Errorf("truncated reply has all %d records", len(r.Answer))
		}
		if !isSubset(answerValues(r, dns.TypeA), ips) {
			t.Errorf("truncated reply has records that are not endpoints: %v", r.Answer)
		}
	})

	t.Run("TCP", func(t *testing.T) {
		r := query(t, s.Addr, "tcp", qname, dns.TypeA)
		if r.Truncated || r.Rcode != dns.RcodeSuccess {
			t.Errorf("TC %v, rcode %s; want a whole NOERROR reply", r.Truncated, dns.RcodeToString[r.Rcode])
		}
		if got := answerValues(r, dns.TypeA); !slices.Equal(got, ips) {
			t.Errorf("got %d A records, want the %d endpoints", len(got), len(ips))
		}
	})

	t.Run("UDP with EDNS 4096", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetQuestion(qname, dns.TypeA)
		m.SetEdns0(4096, false)
		r := exchange(t, s.Addr, "udp", m)
		got := answerValues(r, dns.TypeA)
		switch {
		case r.Truncated:
			t.Logf("truncated with %d records", len(got))
			if !isSubset(got, ips) {
				t.Errorf("truncated reply has records that are not endpoints: %v", r.Answer)
			}
		case !slices.Equal(got, ips):
			t.Errorf("reply without TC has %d A records, want all %d", len(got), len(ips))
		}
		if r.IsEdns0() == nil {
			t.Errorf("reply to an EDNS query has no OPT record")
		}
	})
}

// isSubset tells whether every element of sub is in set (both sorted).
func isSubset(sub, set []string) bool {
	for _, s := range sub {
		if _, found := slices.BinarySearch(set, s); !found {
			return false
		}
	}
	return true
}
