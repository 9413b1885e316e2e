package clusterdns_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// A Corefile written for the kubernetes plugin logs the same metadata
// with clusterdns: the log plugin prints the kubernetes/* labels of each
// query, and the client pod's under pods verified (the test's client,
// 127.0.0.1, is a pod of the manifests).
func TestMetadataThroughLogPlugin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: prod}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: prod}
  spec:
    clusterIP: 10.96.0.10
    ports: [{name: http, port: 80, protocol: TCP}]
- apiVersion: v1
  kind: Pod
  metadata: {name: client-7f9c, namespace: tools}
  status:
    phase: Running
    podIPs: [{ip: 127.0.0.1}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	logged := testkit.CaptureStdLog(t)
	_, udp := startServer(t, `cluster.local:0 {
    bind 127.0.0.1
    metadata
    log . "META {name} kind={/kubernetes/kind} ns={/kubernetes/namespace} svc={/kubernetes/service} ep={/kubernetes/endpoint} port={/kubernetes/port-name} proto={/kubernetes/protocol} err={/kubernetes/parse-error} client={/kubernetes/client-namespace}/{/kubernetes/client-pod-name}"
    clusterdns {
        source file `+path+`
        pods verified
    }
}`)
	for _, tt := range []struct {
		qname string
		qtype uint16
		want  string
	}{
		{qname: "web.prod.svc.cluster.local.", qtype: dns.TypeA,
			want: "META web.prod.svc.cluster.local. kind=svc ns=prod svc=web ep= port= proto= err=- client=tools/client-7f9c"},
		{qname: "_HTTP._tcp.Web.prod.svc.cluster.local.", qtype: dns.TypeSRV,
			want: "META _http._tcp.web.prod.svc.cluster.local. kind=svc ns=prod svc=web ep= port=http proto=tcp err=- client=tools/client-7f9c"},
		{qname: "web-0.web.prod.svc.cluster.local.", qtype: dns.TypeA,
			want: "META web-0.web.prod.svc.cluster.local. kind=svc ns=prod svc=web ep=web-0 port= proto= err=- client=tools/client-7f9c"},
		{qname: "10-244-1-7.prod.pod.cluster.local.", qtype: dns.TypeA,
			want: "META 10-244-1-7.prod.pod.cluster.local. kind=pod ns=prod svc=10-244-1-7 ep= port= proto= err=- client=tools/client-7f9c"},
		{qname: "dns-version.cluster.local.", qtype: dns.TypeTXT,
			want: "META dns-version.cluster.local. kind=- ns=- svc=- ep=- port=- proto=- err=invalid query name client=tools/client-7f9c"},
	} {
		t.Run(tt.qname, func(t *testing.T) {
			m := new(dns.Msg).SetQuestion(tt.qname, tt.qtype)
			if _, err := dns.Exchange(m, udp); err != nil {
				t.Fatal(err)
			}
			// The log plugin prints once the answer is written: wait for
			// the line, not for a time.
			logged.Await(t, 0, tt.want+"\n", 5*time.Second)
		})
	}
}
