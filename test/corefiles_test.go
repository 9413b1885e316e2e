package test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/testkit"

	"github.com/miekg/dns"
)

// TestShippedCorefiles starts every Corefile in corefiles/ on loopback and
// checks it serves what it is shipped for: the demo its manifest, the
// cluster Corefile forwarding and not-ready behaviour with its API server
// down.
func TestShippedCorefiles(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(testkit.RepoPath(t, "corefiles"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (e.Name() == "Corefile" || strings.HasSuffix(e.Name(), ".Corefile")) {
			names = append(names, e.Name())
		}
	}
	// The checks below are for these two; a renamed or missing one must
	// not pass unnoticed.
	for _, want := range []string{"Corefile", "demo.Corefile"} {
		if !slices.Contains(names, want) {
			t.Errorf("corefiles/%s is missing (found %v)", want, names)
		}
	}
	upstream := startUpstream(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			shipped := testkit.RepoFile(t, "corefiles/"+name)
			l := newLocal(t)
			l.Upstream = upstream
			corefile := localize(t, shipped, l)
			// The cluster Corefile uses the in-cluster config, which falls
			// back to $KUBECONFIG outside a cluster.
			s := startServer(t, corefile, withEnv("KUBECONFIG="+l.Kubeconfig))
			t.Logf("%s answered after %s", name, s.Startup.Round(time.Millisecond))

			switch name {
			case "demo.Corefile":
				checkDemoServes(t, s, l)
			case "Corefile":
				checkAPIDown(t, s, l)
			default:
				// Started and answered; anything more needs a case here.
				query(t, s.Addr, "udp", "kubernetes.default.svc.cluster.local.", dns.TypeA)
			}
		})
	}
}

// checkDemoServes checks a server of demo.Corefile: the manifest's answers,
// ready, healthy, synced.
func checkDemoServes(t *testing.T, s *server, l testkit.Local) {
	t.Helper()
	for _, network := range []string{"udp", "tcp"} {
		r := query(t, s.Addr, network, "web.prod.svc.cluster.local.", dns.TypeA)
		if got := answerValues(r, dns.TypeA); r.Rcode != dns.RcodeSuccess || !slices.Equal(got, []string{demoWebIP}) {
			t.Errorf("%s web.prod A: rcode %s, A %v; want NOERROR %s\n%v", network, dns.RcodeToString[r.Rcode], got, demoWebIP, r)
		}
	}
	if code, body := httpGet(t, fmt.Sprintf("http://%s/ready", testkit.Loopback(l.Ready))); code != http.StatusOK {
		t.Errorf("GET /ready = %d %q, want 200", code, body)
	}
	if code, body := httpGet(t, fmt.Sprintf("http://%s/health", testkit.Loopback(l.Health))); code != http.StatusOK {
		t.Errorf("GET /health = %d %q, want 200", code, body)
	}
	checkSynced(t, l, "1")
}

// checkAPIDown checks a server of the cluster Corefile whose API server
// refuses connections: it started after waiting startup_timeout, cluster
// names are SERVFAIL (not synced: never NXDOMAIN), other names are
// forwarded, it is healthy but not ready.
func checkAPIDown(t *testing.T, s *server, l testkit.Local) {
	t.Helper()
	// The default startup_timeout is 5s: the server cannot answer earlier.
	if s.Startup < 4500*time.Millisecond {
		t.Errorf("server answered %s after start; with the API down it should wait startup_timeout (5s) first", s.Startup)
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, name := range []string{"web.prod.svc.cluster.local.", "kubernetes.default.svc.cluster.local.", "nope.cluster.local."} {
			r := query(t, s.Addr, network, name, dns.TypeA)
			if r.Rcode != dns.RcodeServerFailure {
				t.Errorf("%s %s A before any sync: rcode %s, want SERVFAIL\n%v", network, name, dns.RcodeToString[r.Rcode], r)
			}
		}
		r := query(t, s.Addr, network, "www.example.org.", dns.TypeA)
		if got := answerValues(r, dns.TypeA); r.Rcode != dns.RcodeSuccess || !slices.Equal(got, []string{upstreamA}) {
			t.Errorf("%s www.example.org A through forward: rcode %s, A %v; want NOERROR %s\n%v", network, dns.RcodeToString[r.Rcode], got, upstreamA, r)
		}
	}
	code, body := httpGet(t, fmt.Sprintf("http://%s/ready", testkit.Loopback(l.Ready)))
	if code == http.StatusOK {
		t.Errorf("GET /ready = 200 %q with the API server down, want not ready", body)
	} else if !strings.Contains(body, "clusterdns") {
		t.Errorf("GET /ready = %d %q: the plugins not ready should include clusterdns", code, body)
	}
	if code, body := httpGet(t, fmt.Sprintf("http://%s/health", testkit.Loopback(l.Health))); code != http.StatusOK {
		t.Errorf("GET /health = %d %q, want 200", code, body)
	}
	checkSynced(t, l, "0")
}

// checkSynced checks the coredns_clusterdns_synced gauge on the prometheus
// port.
func checkSynced(t *testing.T, l testkit.Local, want string) {
	t.Helper()
	code, body := httpGet(t, fmt.Sprintf("http://%s/metrics", testkit.Loopback(l.Metrics)))
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	synced := metricLines(body, "coredns_clusterdns_synced")
	if len(synced) == 0 {
		t.Errorf("/metrics has no coredns_clusterdns_synced")
	}
	for _, line := range synced {
		if f := strings.Fields(line); f[len(f)-1] != want {
			t.Errorf("%s, want value %s", line, want)
		}
	}
}

// metricLines returns the samples of a metric in a Prometheus text body.
func metricLines(body, name string) []string {
	var lines []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			lines = append(lines, line)
		}
	}
	return lines
}

// answerValues returns the data of the answer records of type qtype, sorted:
// addresses for A and AAAA, targets for CNAME and PTR, "port target" for
// SRV.
func answerValues(r *dns.Msg, qtype uint16) []string {
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.AAAA.String())
		case *dns.CNAME:
			out = append(out, rr.Target)
		case *dns.PTR:
			out = append(out, rr.Ptr)
		case *dns.SRV:
			out = append(out, fmt.Sprintf("%d %s", rr.Port, rr.Target))
		default:
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	slices.Sort(out)
	return out
}

// readmeCorefiles returns the fenced `~~~ corefile` blocks of a manual page.
func readmeCorefiles(readme string) []string {
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(readme, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "~~~ corefile":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "~~~":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// TestReadmeCorefiles starts every example Corefile of the plugin's manual
// page, localized, and checks it answers: an example that does not start is
// a documentation bug.
func TestReadmeCorefiles(t *testing.T) {
	t.Parallel()
	const readme = "plugin/clusterdns/README.md"
	blocks := readmeCorefiles(testkit.RepoFile(t, readme))
	if len(blocks) == 0 {
		t.Fatalf("%s has no ~~~ corefile example", readme)
	}
	upstream := startUpstream(t)
	for i, block := range blocks {
		t.Run(fmt.Sprintf("example_%d", i+1), func(t *testing.T) {
			t.Parallel()
			l := newLocal(t)
			l.Upstream = upstream
			corefile := localize(t, block, l)
			s := startServer(t, corefile, withEnv("KUBECONFIG="+l.Kubeconfig))
			r := query(t, s.Addr, "udp", "web.prod.svc.cluster.local.", dns.TypeA)
			t.Logf("answered after %s; web.prod A: %s %v", s.Startup.Round(time.Millisecond), dns.RcodeToString[r.Rcode], answerValues(r, dns.TypeA))
			// An example that serves the file serves the demo cluster.
			if strings.Contains(corefile, "source file") {
				if got := answerValues(r, dns.TypeA); !slices.Equal(got, []string{demoWebIP}) {
					t.Errorf("web.prod A from %s = %s %v, want %s", l.Manifest, dns.RcodeToString[r.Rcode], got, demoWebIP)
				}
			}
		})
	}
}

// TestReadmeCorefilesExtraction checks the extraction TestReadmeCorefiles
// relies on, including a page without examples.
func TestReadmeCorefilesExtraction(t *testing.T) {
	tests := []struct {
		name   string
		readme string
		want   []string
	}{
		{
			name:   "two blocks, other fences ignored",
			readme: "# x\n\n~~~\nclusterdns [ZONES...]\n~~~\n\n~~~ corefile\n.:53 {\n    whoami\n}\n~~~\n\ntext\n\n~~~ corefile\nexample.org {\n}\n~~~\n",
			want:   []string{".:53 {\n    whoami\n}\n", "example.org {\n}\n"},
		},
		{
			name:   "no corefile block",
			readme: "# x\n\n~~~ txt\n.:53 {}\n~~~\n",
			want:   nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := readmeCorefiles(tc.readme); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
