package external_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/build/buildtest"
)

// corefile serves testdata/cluster.yaml with clusterdns, example.org with
// k8s_external (headless on), and the load balancer's host name from hosts,
// so the CNAME to it is chased in the server.
const corefile = `example.org:0 cluster.local:0 example.net:0 {
    bind 127.0.0.1
    k8s_external example.org {
        headless
        ttl 10
    }
    clusterdns {
        source file testdata/cluster.yaml
    }
    hosts {
        203.0.113.5 lb.cloud.example.net
        fallthrough
    }
    transfer example.org {
        to *
    }
}`

func exchange(t *testing.T, network, addr string, qname string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", network, qname, err)
	}
	return r
}

func rrStrings(rrs []dns.RR) []string {
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = rr.String()
	}
	slices.Sort(out)
	return out
}

// TestFromCorefile answers from a running server next to clusterdns over
// UDP and TCP, as stock's k8s_external answers next to kubernetes.
func TestFromCorefile(t *testing.T) {
	tcp, udp := buildtest.StartServer(t, corefile)
	const soa = "example.org.\t10\tIN\tSOA\tns1.dns.example.org. hostmaster.dns.example.org. "
	for _, tc := range []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		extra  []string
	}{
		{name: "external IP and ingress", qname: "lb.prod.example.org.", qtype: dns.TypeA, answer: []string{
			"lb.prod.example.org.\t10\tIN\tA\t192.0.2.1",
			"lb.prod.example.org.\t10\tIN\tA\t198.51.100.7",
		}},
		{name: "IPv6 ingress", qname: "lb.prod.example.org.", qtype: dns.TypeAAAA, answer: []string{
			"lb.prod.example.org.\t10\tIN\tAAAA\t2001:db8::7",
		}},
		{name: "SRV of a port", qname: "_dns._udp.lb.prod.example.org.", qtype: dns.TypeSRV, answer: []string{
			"_dns._udp.lb.prod.example.org.\t5\tIN\tSRV\t0 33 53 lb.prod.example.org.",
		}, extra: []string{
			"lb.prod.example.org.\t10\tIN\tA\t192.0.2.1",
			"lb.prod.example.org.\t10\tIN\tA\t198.51.100.7",
			"lb.prod.example.org.\t10\tIN\tAAAA\t2001:db8::7",
		}},
		{name: "host name chased", qname: "named.prod.example.org.", qtype: dns.TypeA, answer: []string{
			"lb.cloud.example.net.\t3600\tIN\tA\t203.0.113.5",
			"named.prod.example.org.\t5\tIN\tCNAME\tlb.cloud.example.net.",
		}},
		{name: "headless endpoints", qname: "db.prod.example.org.", qtype: dns.TypeA, answer: []string{
			"db.prod.example.org.\t10\tIN\tA\t10.244.2.1",
			"db.prod.example.org.\t10\tIN\tA\t10.244.2.2",
		}},
		{name: "headless endpoint", qname: "db-1.db.prod.example.org.", qtype: dns.TypeA, answer: []string{
			"db-1.db.prod.example.org.\t10\tIN\tA\t10.244.2.2",
		}},
		{name: "headless with an external IP answers it", qname: "hx.prod.example.org.", qtype: dns.TypeA, answer: []string{
			"hx.prod.example.org.\t10\tIN\tA\t192.0.2.20",
		}},
		{name: "no external address", qname: "web.prod.example.org.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "NODATA", qname: "lb.prod.example.org.", qtype: dns.TypeMX},
		// The server is bound to loopback only: as stock, ns1 gets no
		// loopback glue, and its address question is NODATA.
		{name: "apex NS without loopback glue", qname: "example.org.", qtype: dns.TypeNS, answer: []string{
			"example.org.\t10\tIN\tNS\tns1.dns.example.org.",
		}},
		{name: "name server without loopback address", qname: "ns1.dns.example.org.", qtype: dns.TypeA},
	} {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(tc.name+" "+network, func(t *testing.T) {
				addr := udp
				if network == "tcp" {
					addr = tcp
				}
				r := exchange(t, network, addr, tc.qname, tc.qtype)
				if r.Rcode != tc.rcode || !r.Authoritative {
					t.Errorf("rcode %s authoritative %v, want %s and authoritative", dns.RcodeToString[r.Rcode], r.Authoritative, dns.RcodeToString[tc.rcode])
				}
				if got := rrStrings(r.Answer); !slices.Equal(got, tc.answer) {
					t.Errorf("answer\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.answer, "\n"))
				}
				if got := rrStrings(r.Extra); !slices.Equal(got, tc.extra) {
					t.Errorf("extra\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.extra, "\n"))
				}
				if len(tc.answer) == 0 && (len(r.Ns) != 1 || !strings.HasPrefix(r.Ns[0].String(), soa)) {
					t.Errorf("authority %v, want the zone's SOA", r.Ns)
				}
			})
		}
	}
}

// TestTransfer transfers the external zone: its SOA (first and last), NS
// (no glue: the server is bound to loopback), and each record the queries answer, once.
func TestTransfer(t *testing.T) {
	tcp, _ := buildtest.StartServer(t, corefile)
	m := new(dns.Msg)
	m.SetAxfr("example.org.")
	envs, err := (&dns.Transfer{ReadTimeout: 10 * time.Second}).In(m, tcp)
	if err != nil {
		t.Fatal(err)
	}
	var rrs []dns.RR
	for e := range envs {
		if e.Error != nil {
			t.Fatal(e.Error)
		}
		rrs = append(rrs, e.RR...)
	}
	if len(rrs) < 2 || rrs[0].Header().Rrtype != dns.TypeSOA || rrs[len(rrs)-1].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("transfer does not start and end with the SOA:\n%v", rrs)
	}
	got := rrStrings(rrs[1 : len(rrs)-1])
	// As stock: one SRV record at a name with external addresses (the
	// first port's), a port's SRV target stripped of two labels even when
	// it is a host name, a headless service's records at its name and its
	// endpoints' names. Unlike stock, no record twice.
	want := []string{
		"_dns._udp.lb.prod.example.org.\t5\tIN\tSRV\t0 100 53 lb.prod.example.org.",
		"_http._tcp.lb.prod.example.org.\t5\tIN\tSRV\t0 100 80 lb.prod.example.org.",
		"_https._tcp.named.prod.example.org.\t5\tIN\tSRV\t0 100 443 example.net.",
		"_postgres._tcp.db.prod.example.org.\t5\tIN\tSRV\t0 50 5432 db-0.db.prod.example.org.",
		"_postgres._tcp.db.prod.example.org.\t5\tIN\tSRV\t0 50 5432 db-1.db.prod.example.org.",
		"db-0.db.prod.example.org.\t10\tIN\tA\t10.244.2.1",
		"db-0.db.prod.example.org.\t5\tIN\tSRV\t0 100 5432 db-0.db.prod.example.org.",
		"db-1.db.prod.example.org.\t10\tIN\tA\t10.244.2.2",
		"db-1.db.prod.example.org.\t5\tIN\tSRV\t0 100 5432 db-1.db.prod.example.org.",
		"db.prod.example.org.\t10\tIN\tA\t10.244.2.1",
		"db.prod.example.org.\t10\tIN\tA\t10.244.2.2",
		"db.prod.example.org.\t5\tIN\tSRV\t0 50 5432 db-0.db.prod.example.org.",
		"db.prod.example.org.\t5\tIN\tSRV\t0 50 5432 db-1.db.prod.example.org.",
		"example.org.\t10\tIN\tNS\tns1.dns.example.org.",
		"hx.prod.example.org.\t10\tIN\tA\t192.0.2.20",
		"lb.prod.example.org.\t10\tIN\tA\t192.0.2.1",
		"lb.prod.example.org.\t10\tIN\tA\t198.51.100.7",
		"lb.prod.example.org.\t10\tIN\tAAAA\t2001:db8::7",
		"lb.prod.example.org.\t5\tIN\tSRV\t0 100 80 lb.prod.example.org.",
		"named.prod.example.org.\t5\tIN\tCNAME\tlb.cloud.example.net.",
		"named.prod.example.org.\t5\tIN\tSRV\t0 100 443 lb.cloud.example.net.",
	}
	if !slices.Equal(got, want) {
		t.Errorf("transfer\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNeedsClusterPlugin fails to start a server block without the plugin
// k8s_external answers from, naming the Corefile line.
func TestNeedsClusterPlugin(t *testing.T) {
	_, err := caddy.Start(caddy.CaddyfileInput{ServerTypeName: "dns", Filepath: "Corefile", Contents: []byte(`example.org:0 {
    bind 127.0.0.1
    k8s_external {
        headless
    }
}`)})
	if err == nil || !strings.Contains(err.Error(), "Corefile:3: no cluster plugin in this server block") {
		t.Fatalf("error %v, want one naming Corefile:3 and the missing cluster plugin", err)
	}
}

// TestReadmeExample starts the manual page's example, on port 0 on
// loopback and with the manifests of testdata, and checks it answers.
func TestReadmeExample(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, example, found := strings.Cut(string(b), "~~~ corefile\n")
	example, _, closed := strings.Cut(example, "\n~~~")
	if !found || !closed {
		t.Fatal("README.md has no ~~~ corefile example")
	}
	header, body, _ := strings.Cut(example, "\n")
	keys := strings.Fields(strings.TrimSuffix(header, "{"))
	for i := range keys {
		keys[i] += ":0"
	}
	corefile := strings.Join(keys, " ") + " {\n    bind 127.0.0.1\n" + strings.ReplaceAll(body, "/etc/clusterdns/cluster.yaml", "testdata/cluster.yaml")
	_, udp := buildtest.StartServer(t, corefile)
	r := exchange(t, "udp", udp, "lb.prod.example.org.", dns.TypeA)
	if len(r.Answer) != 2 {
		t.Errorf("lb.prod.example.org A: %v, want its two addresses", r.Answer)
	}
}
