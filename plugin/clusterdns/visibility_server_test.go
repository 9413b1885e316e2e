package clusterdns_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"
)

// visibilityCluster has namespaces a and b, a pod in each at 127.77.0.1 and
// 127.77.0.2 (the tests query from those addresses), and the service web
// in b, which b exports to no one.
const visibilityCluster = `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: a}}
- {apiVersion: v1, kind: Namespace, metadata: {name: b}}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: b}
  spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, protocol: TCP}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: client, namespace: a}
  status: {phase: Running, podIPs: [{ip: 127.77.0.1}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: client, namespace: b}
  status: {phase: Running, podIPs: [{ip: 127.77.0.2}]}
`

// askFrom sends a question from source address src over UDP.
func askFrom(t *testing.T, server, src, qname string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(src)}}}
	r, _, err := c.Exchange(new(dns.Msg).SetQuestion(qname, qtype), server)
	if err != nil {
		t.Fatalf("%s from %s: %v", qname, src, err)
	}
	return r
}

// TestVisibilityThroughStockPlugins: through a cache that caches cluster
// names (no disable), through search_path and through autopath, a pod of a
// gets for b's names what a namespace that does not exist gets, and a pod
// of b b's answer, whichever asks first.
func TestVisibilityThroughStockPlugins(t *testing.T) {
	dir := t.TempDir()
	manifests := filepath.Join(dir, "cluster.yaml")
	resolvConf := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(manifests, []byte(visibilityCluster), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(resolvConf, []byte("search example.internal\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		plugins string // before clusterdns
		options string // of clusterdns
		// qname is the question of a pod of asker about target's names.
		qname  func(asker, target string) string
		answer uint16 // the type the visible answer starts with
	}{
		{name: "cache", plugins: "cache 30", qname: func(_, target string) string { return "web." + target + ".svc.cluster.local." }, answer: dns.TypeA},
		{name: "cache, reverse", plugins: "cache 30", qname: func(_, target string) string {
			if target == "b" {
				return "10.0.96.10.in-addr.arpa."
			}
			return "99.0.96.10.in-addr.arpa."
		}, answer: dns.TypePTR},
		{name: "search_path", plugins: "cache 30", options: "search_path {\n resolv_conf " + resolvConf + "\n }",
			qname: func(asker, target string) string { return "web." + target + "." + asker + ".svc.cluster.local." }, answer: dns.TypeCNAME},
		{name: "autopath", plugins: "cache 30\n autopath @clusterdns", options: "pods verified",
			qname: func(asker, target string) string { return "web." + target + "." + asker + ".svc.cluster.local." }, answer: dns.TypeCNAME},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, udp := startServer(t, `cluster.local:0 in-addr.arpa:0 {
    bind 127.0.0.1
    `+tc.plugins+`
    clusterdns {
        source file `+manifests+`
        visibility
        `+tc.options+`
    }
}`)
			qtype := uint16(dns.TypeA)
			if tc.answer == dns.TypePTR {
				qtype = dns.TypePTR
			}
			// Each order: the cache must hold neither the answer nor the
			// NXDOMAIN for the next client.
			for _, order := range [][]string{{"a", "b", "a", "b"}, {"b", "a", "b", "a"}} {
				for _, ns := range order {
					src := map[string]string{"a": "127.77.0.1", "b": "127.77.0.2"}[ns]
					r := askFrom(t, udp, src, tc.qname(ns, "b"), qtype)
					absent := askFrom(t, udp, src, tc.qname(ns, "zz"), qtype)
					switch {
					case ns == "a" && (r.Rcode != absent.Rcode || len(r.Answer) != 0):
						t.Errorf("order %v: a's pod got %s %v, want %s as for a namespace that does not exist", order, dns.RcodeToString[r.Rcode], r.Answer, dns.RcodeToString[absent.Rcode])
					case ns == "b" && (r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 || r.Answer[0].Header().Rrtype != tc.answer):
						t.Errorf("order %v: b's pod got %s %v, want %s", order, dns.RcodeToString[r.Rcode], r.Answer, dns.TypeToString[tc.answer])
					}
				}
			}
		})
	}
}
