package clusterdns_test

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/logtest"
)

// stockCluster is a manifests file for the stock plugins that lean on
// clusterdns: a pod of namespace prod at 127.0.0.77 (queries are sent from
// that address, on loopback), services in prod and staging, a
// LoadBalancer with externalIPs and an ingress IP, and a headless service.
const stockCluster = `apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: v1
kind: Namespace
metadata: {name: staging}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: prod}
status: {phase: Running, podIP: 127.0.0.77}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: staging}
spec: {clusterIP: 10.96.1.10}
---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: prod}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.50
  externalIPs: [192.0.2.1]
  ports: [{name: http, port: 80, protocol: TCP}]
status:
  loadBalancer:
    ingress: [{ip: 198.51.100.7}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: prod}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: postgres, port: 5432, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1
  namespace: prod
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
ports: [{name: postgres, port: 5432, protocol: TCP}]
endpoints:
- addresses: [10.244.2.1]
  hostname: db-0
  conditions: {ready: true}
`

func writeStockCluster(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(stockCluster), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// exchangeFrom sends m to addr over net ("udp" or "tcp") from the local
// address from, and returns the reply.
func exchangeFrom(t *testing.T, network, from, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, Dialer: &net.Dialer{Timeout: 5 * time.Second}}
	switch network {
	case "udp":
		c.Dialer.LocalAddr = &net.UDPAddr{IP: net.ParseIP(from)}
	case "tcp":
		c.Dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s from %s: %v", network, m.Question[0].Name, from, err)
	}
	return r
}

// rrStrings renders a section for comparison.
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = rr.String()
	}
	return out
}

// TestAutoPathFromCorefile walks a pod's search list on the server, as
// stock's autopath does with the kubernetes plugin: the pod in prod asks
// web.staging.prod.svc.cluster.local (the first step of its walk for
// "web.staging") and gets a CNAME to web.staging.svc.cluster.local with its
// address. A client that is no pod, or pods not verified, gets the
// NXDOMAIN of the name asked; with search_path on too, autopath walks for
// the pod and search_path for the other clients, each answer once.
func TestAutoPathFromCorefile(t *testing.T) {
	path := writeStockCluster(t)
	corefile := func(autopath, opts string) string {
		return `cluster.local:0 {
    bind 127.0.0.1
    ` + autopath + `
    clusterdns {
        source file ` + path + `
        ` + opts + `
    }
}`
	}
	const qname = "web.staging.prod.svc.cluster.local."
	walked := []string{
		"web.staging.prod.svc.cluster.local.\t5\tIN\tCNAME\tweb.staging.svc.cluster.local.",
		"web.staging.svc.cluster.local.\t5\tIN\tA\t10.96.1.10",
	}
	for _, tc := range []struct {
		name, autopath, opts, from string
		want                       []string // nil: NXDOMAIN
	}{
		{name: "autopath @clusterdns", autopath: "autopath @clusterdns", opts: "pods verified", from: "127.0.0.77", want: walked},
		{name: "autopath @kubernetes, as written for stock", autopath: "autopath @kubernetes", opts: "pods verified", from: "127.0.0.77", want: walked},
		{name: "with search_path too", autopath: "autopath @clusterdns", opts: "pods verified\n        search_path {\n            resolv_conf " + os.DevNull + "\n        }", from: "127.0.0.77", want: walked},
		{name: "with search_path too, a client that is no pod: search_path walks", autopath: "autopath @clusterdns", opts: "pods verified\n        search_path {\n            resolv_conf " + os.DevNull + "\n        }", from: "127.0.0.1", want: walked},
		{name: "client that is no pod", autopath: "autopath @clusterdns", opts: "pods verified", from: "127.0.0.1"},
		{name: "pods not verified", autopath: "autopath @clusterdns", opts: "pods insecure", from: "127.0.0.77"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tcp, udp := startServer(t, corefile(tc.autopath, tc.opts))
			for _, network := range []string{"udp", "tcp"} {
				addr := udp
				if network == "tcp" {
					addr = tcp
				}
				m := new(dns.Msg)
				m.SetQuestion(qname, dns.TypeA)
				r := exchangeFrom(t, network, tc.from, addr, m)
				if tc.want == nil {
					if r.Rcode != dns.RcodeNameError {
						t.Errorf("%s: rcode %s, answer %v; want NXDOMAIN", network, dns.RcodeToString[r.Rcode], r.Answer)
					}
					continue
				}
				if got := rrStrings(r.Answer); r.Rcode != dns.RcodeSuccess || !slices.Equal(got, tc.want) {
					t.Errorf("%s: rcode %s, answer\n%s\nwant\n%s", network, dns.RcodeToString[r.Rcode], strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
				}
			}
		})
	}
}

// TestAutoPathNamesAMissingPlugin refuses `autopath @NAME` where the
// server block has no plugin NAME, naming the Corefile line: stock's
// autopath would walk nothing, without a word. `@kubernetes` finds
// clusterdns only in a block that has it.
func TestAutoPathNamesAMissingPlugin(t *testing.T) {
	path := writeStockCluster(t)
	for _, tc := range []struct {
		name, corefile, want string // want: "" when it starts
	}{
		{name: "a typo", want: "Corefile:3 - Error during parsing: autopath @kubernets: this server block has no plugin \"kubernets\"", corefile: `cluster.local:0 {
    bind 127.0.0.1
    autopath @kubernets
    clusterdns {
        source file ` + path + `
        pods verified
    }
}`},
		{name: "clusterdns in another block only", want: "Corefile:8 - Error during parsing: autopath @clusterdns:", corefile: `cluster.local:0 {
    bind 127.0.0.1
    clusterdns {
        source file ` + path + `
    }
}
example.org:0 { bind 127.0.0.1
    autopath @clusterdns
    whoami
}`},
		{name: "@kubernetes without clusterdns in the block", want: "Corefile:2 - Error during parsing: autopath @kubernetes:", corefile: `example.org:0 {
    autopath example.org @kubernetes
    bind 127.0.0.1
    whoami
}`},
		{name: "@kubernetes with clusterdns", corefile: `cluster.local:0 {
    bind 127.0.0.1
    autopath @kubernetes
    clusterdns {
        source file ` + path + `
        pods verified
    }
}`},
		{name: "a resolv.conf, no plugin", corefile: `cluster.local:0 {
    bind 127.0.0.1
    autopath ` + os.DevNull + `
    whoami
}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(tc.corefile), Filepath: "Corefile", ServerTypeName: "dns"})
			if err == nil {
				t.Cleanup(func() {
					if err := inst.Stop(); err != nil {
						t.Errorf("stop server: %v", err)
					}
					inst.ShutdownCallbacks()
				})
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("start: %v; want it to start", err)
			case tc.want != "" && err == nil:
				t.Fatalf("started; want an error with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q; want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestK8sExternalFromCorefile serves an outside zone with k8s_external
// next to clusterdns, as stock serves it next to kubernetes.
func TestK8sExternalFromCorefile(t *testing.T) {
	path := writeStockCluster(t)
	tcp, udp := startServer(t, `example.org:0 cluster.local:0 {
    bind 127.0.0.1
    k8s_external example.org {
        headless
        ttl 10
    }
    clusterdns {
        source file `+path+`
    }
    transfer example.org {
        to *
    }
}`)
	for _, tc := range []struct {
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		extra  []string
	}{
		{qname: "lb.prod.example.org.", qtype: dns.TypeA, answer: []string{
			"lb.prod.example.org.\t10\tIN\tA\t192.0.2.1",
			"lb.prod.example.org.\t10\tIN\tA\t198.51.100.7",
		}},
		{qname: "LB.Prod.Example.Org.", qtype: dns.TypeA, answer: []string{
			"LB.Prod.Example.Org.\t10\tIN\tA\t192.0.2.1",
			"LB.Prod.Example.Org.\t10\tIN\tA\t198.51.100.7",
		}},
		{qname: "_http._tcp.lb.prod.example.org.", qtype: dns.TypeSRV, answer: []string{
			"_http._tcp.lb.prod.example.org.\t5\tIN\tSRV\t0 50 80 lb.prod.example.org.",
		}, extra: []string{
			"lb.prod.example.org.\t10\tIN\tA\t192.0.2.1",
			"lb.prod.example.org.\t10\tIN\tA\t198.51.100.7",
		}},
		{qname: "db.prod.example.org.", qtype: dns.TypeA, answer: []string{"db.prod.example.org.\t10\tIN\tA\t10.244.2.1"}},
		{qname: "db-0.db.prod.example.org.", qtype: dns.TypeA, answer: []string{"db-0.db.prod.example.org.\t10\tIN\tA\t10.244.2.1"}},
		// No glue: the server's only address is loopback, as stock.
		{qname: "example.org.", qtype: dns.TypeNS, answer: []string{"example.org.\t10\tIN\tNS\tns1.dns.example.org."}},
		{qname: "nope.prod.example.org.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{qname: "web.staging.example.org.", qtype: dns.TypeA, rcode: dns.RcodeNameError}, // no external address
		{qname: "lb.nowhere.example.org.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{qname: "lb.prod.example.org.", qtype: dns.TypeTXT}, // NODATA
	} {
		for _, network := range []string{"udp", "tcp"} {
			addr := udp
			if network == "tcp" {
				addr = tcp
			}
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			r := exchangeFrom(t, network, "127.0.0.1", addr, m)
			name := network + " " + tc.qname + " " + dns.TypeToString[tc.qtype]
			if r.Rcode != tc.rcode {
				t.Errorf("%s: rcode %s, want %s", name, dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
			if got := rrStrings(r.Answer); !slices.Equal(got, tc.answer) {
				t.Errorf("%s: answer\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(tc.answer, "\n"))
			}
			if got := rrStrings(r.Extra); !slices.Equal(got, tc.extra) {
				t.Errorf("%s: extra\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(tc.extra, "\n"))
			}
			if len(tc.answer) == 0 && (len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA) {
				t.Errorf("%s: authority %v, want the zone's SOA", name, r.Ns)
			}
		}
	}

	// The zone transfer: SOA, NS, glue, the service's addresses and SRV,
	// the headless endpoints, SOA.
	var got []string
	for _, rr := range flatten(axfr(t, tcp, "example.org.", 0)) {
		got = append(got, rr.String())
	}
	for _, want := range []string{
		"lb.prod.example.org.\t10\tIN\tA\t192.0.2.1",
		"_http._tcp.lb.prod.example.org.\t5\tIN\tSRV\t0 100 80 lb.prod.example.org.",
		"db-0.db.prod.example.org.\t10\tIN\tA\t10.244.2.1",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("transfer lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// TestMetadataThroughLogPlugin: a Corefile written for the kubernetes
// plugin logs the same metadata with clusterdns. The log plugin prints the
// kubernetes/* labels of each query, and the client pod's under pods
// verified (the queries come from prod/client's address).
func TestMetadataThroughLogPlugin(t *testing.T) {
	path := writeStockCluster(t)
	logged := logtest.Capture(t)
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
		{qname: "lb.prod.svc.cluster.local.", qtype: dns.TypeA,
			want: "META lb.prod.svc.cluster.local. kind=svc ns=prod svc=lb ep= port= proto= err=- client=prod/client"},
		{qname: "_HTTP._tcp.Lb.prod.svc.cluster.local.", qtype: dns.TypeSRV,
			want: "META _http._tcp.lb.prod.svc.cluster.local. kind=svc ns=prod svc=lb ep= port=http proto=tcp err=- client=prod/client"},
		{qname: "db-0.db.prod.svc.cluster.local.", qtype: dns.TypeA,
			want: "META db-0.db.prod.svc.cluster.local. kind=svc ns=prod svc=db ep=db-0 port= proto= err=- client=prod/client"},
		{qname: "10-244-1-7.prod.pod.cluster.local.", qtype: dns.TypeA,
			want: "META 10-244-1-7.prod.pod.cluster.local. kind=pod ns=prod svc=10-244-1-7 ep= port= proto= err=- client=prod/client"},
		{qname: "dns-version.cluster.local.", qtype: dns.TypeTXT,
			want: "META dns-version.cluster.local. kind=- ns=- svc=- ep=- port=- proto=- err=invalid query name client=prod/client"},
	} {
		t.Run(tt.qname, func(t *testing.T) {
			exchangeFrom(t, "udp", "127.0.0.77", udp, new(dns.Msg).SetQuestion(tt.qname, tt.qtype))
			// The log plugin prints once the answer is written: wait for
			// the line, not for a time.
			logged.Await(t, 0, tt.want+"\n", 5*time.Second)
		})
	}
}
