package bench

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The stock CoreDNS measured must be the version clusterdns builds on:
// test/bench/go.mod pins it separately from the root go.mod.
func TestStockVersionMatchesProduction(t *testing.T) {
	version := func(path, module string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + ` (v\S+)`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s: no %s", path, module)
		}
		return string(m[1])
	}
	for _, mod := range []string{"github.com/coredns/coredns", "k8s.io/client-go", "github.com/miekg/dns"} {
		if prod, bench := version("../../go.mod", mod), version("go.mod", mod); prod != bench {
			t.Errorf("%s: go.mod has %s, test/bench/go.mod %s", mod, prod, bench)
		}
	}
}

func TestParseDNSPerf(t *testing.T) {
	const out = `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 1053 -d q -l 1 -v
> NOERROR kubernetes.default.svc.cluster.local A 0.000570
> NXDOMAIN nope.default.svc.cluster.local A 0.001398
> SERVFAIL x.cluster.local AAAA 0.002000
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         3
  Queries completed:    3 (100.00%)
  Queries lost:         0 (0.00%)

  Response codes:       NOERROR 1 (33.33%), NXDOMAIN 1 (33.33%), SERVFAIL 1 (33.33%)
  Average packet size:  request 51, response 123
  Run time (s):         1.000087
  Queries per second:   2.999739

  Average Latency (s):  0.001322 (min 0.000570, max 0.002000)
  Latency StdDev (s):   0.000700
`
	p, err := parseDNSPerf(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if p.sent != 3 || p.completed != 3 || p.lost != 0 || p.qps < 2.99 || p.qps > 3 {
		t.Errorf("counts: %+v", p)
	}
	if p.rcodes["NOERROR"] != 1 || p.rcodes["NXDOMAIN"] != 1 || p.rcodes["SERVFAIL"] != 1 {
		t.Errorf("rcodes %v", p.rcodes)
	}
	want := []time.Duration{570 * time.Microsecond, 1398 * time.Microsecond, 2 * time.Millisecond}
	if len(p.latencies) != len(want) {
		t.Fatalf("latencies %v, want %v", p.latencies, want)
	}
	for i := range want {
		if d := p.latencies[i] - want[i]; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("latency %d: %v, want %v", i, p.latencies[i], want[i])
		}
	}

	if _, err := parseDNSPerf(strings.NewReader("[Fatal] Error: no queries\n")); err == nil {
		t.Error("output without statistics parsed without error")
	}
}

func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := 1000; i >= 1; i-- { // unsorted on purpose
		d = append(d, time.Duration(i)*time.Microsecond)
	}
	l := summarize(d)
	if l.P50 != 501*time.Microsecond || l.P99 != 991*time.Microsecond || l.P999 != 1000*time.Microsecond || l.Max != time.Millisecond {
		t.Errorf("percentiles %+v", l)
	}
	if l.Mean != 500500*time.Nanosecond {
		t.Errorf("mean %v", l.Mean)
	}
	if (summarize(nil) != Latency{}) {
		t.Error("no samples should summarize to zero")
	}
}

// Every default Corefile the benchmark runs must localize completely:
// nothing left listening on :53, :9153, :8080, :8181 or reading
// /etc/resolv.conf, and the cluster plugin pointed at the test bed.
func TestLocalize(t *testing.T) {
	p := ports{dns: 40001, ready: 40002, health: 40003, metrics: 40004}
	for name, corefile := range map[string]string{
		"shipped": shippedCorefile(t), "kubeadm": kubeadmCorefile, "coredns-deployment": corednsDeploymentCorefile,
	} {
		got := localize(t, corefile, p, "/tmp/kubeconfig", "127.0.0.1:5300")
		for _, bad := range []string{":53 ", ":9153", "/etc/resolv.conf", "\n    ready\n"} {
			if strings.Contains(got, bad) {
				t.Errorf("%s: %q left in\n%s", name, bad, got)
			}
		}
		for _, want := range []string{".:40001 {", "ready 127.0.0.1:40002", "health 127.0.0.1:40003", "prometheus 127.0.0.1:40004", "forward . 127.0.0.1:5300", "kubeconfig /tmp/kubeconfig"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: no %q in\n%s", name, want, got)
			}
		}
	}
}

// The cluster mix is the documented one, and every name in it is a valid
// query that dnsperf can send.
func TestClusterQueries(t *testing.T) {
	lines := clusterQueries(1000, 0)
	if len(lines) < queryLines {
		t.Fatalf("%d lines", len(lines))
	}
	count := map[string]int{}
	for _, l := range lines {
		name, typ, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("line %q", l)
		}
		if _, ok := dns.IsDomainName(name); !ok {
			t.Fatalf("bad name %q", name)
		}
		switch {
		case strings.HasPrefix(name, "missing-"):
			count["nxdomain"]++
		case strings.HasSuffix(name, ".pod.cluster.local"):
			count["pod"]++
		case typ == "SRV":
			count["srv"]++
		case typ == "AAAA":
			count["aaaa"]++
		default:
			head, _, _ := strings.Cut(name, ".")
			i, err := strconv.Atoi(strings.TrimPrefix(head, "svc-"))
			if err != nil {
				t.Fatalf("%q: %v", name, err)
			}
			if isHeadless(i) {
				count["headless"]++
			} else {
				count["a"]++
			}
		}
	}
	per20 := map[string]int{"a": 8, "aaaa": 2, "srv": 2, "headless": 3, "pod": 2, "nxdomain": 3}
	for k, w := range per20 {
		if got := count[k] * 20 / len(lines); got != w {
			t.Errorf("%s: %d per 20 queries, want %d (%v)", k, got, w, count)
		}
	}
}
