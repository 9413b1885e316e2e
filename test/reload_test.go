package test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/testkit"

	"github.com/miekg/dns"
)

// reloadTimeout bounds how long an edit of the manifests file takes to be
// served (the file is polled every 100 ms and loaded once it held still;
// the bound is for loaded machines).
const reloadTimeout = 10 * time.Second

// TestManifestReload edits the manifests file of a running server: a changed
// cluster IP is served without a restart, with no failed answer in between;
// a file that does not load is refused with a log line naming the problem
// while the last good state keeps serving; a good file after a bad one is
// served again.
func TestManifestReload(t *testing.T) {
	t.Parallel()
	orig := testkit.RepoFile(t, "corefiles/demo-cluster.yaml")
	manifest := filepath.Join(t.TempDir(), "cluster.yaml")
	write := func(content string) {
		t.Helper()
		// In place, as `kubectl get ... > file` writes it.
		if err := os.WriteFile(manifest, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// withWebIP is the demo with prod/web's cluster IP changed, in
	// spec.clusterIP and spec.clusterIPs.
	withWebIP := func(ip string) string {
		t.Helper()
		content := orig
		for _, field := range []string{"clusterIP: ", "- "} {
			if n := strings.Count(content, field+demoWebIP+"\n"); n != 1 {
				t.Fatalf("demo manifest has %q %d times, want once", field+demoWebIP, n)
			}
			content = strings.Replace(content, field+demoWebIP+"\n", field+ip+"\n", 1)
		}
		return content
	}
	write(orig)
	// The Corefile names the file relative to its own directory, as the
	// demo does.
	s, l := startDemo(t, filepath.Base(manifest), withDir(filepath.Dir(manifest)))

	if got := webA(t, s); !slices.Equal(got, []string{demoWebIP}) {
		t.Fatalf("web.prod A = %v before any edit, want %s", got, demoWebIP)
	}

	// A new cluster IP: every answer until it shows is the old one.
	const newIP = "10.96.100.99"
	write(withWebIP(newIP))
	waitWebA(t, s, newIP, demoWebIP)
	if r := query(t, s.Addr, "udp", reverseName(t, newIP), dns.TypePTR); !slices.Equal(answerValues(r, dns.TypePTR), []string{"web.prod.svc.cluster.local."}) {
		t.Errorf("PTR of the new cluster IP %s:\n%v", newIP, r)
	}
	if r := query(t, s.Addr, "udp", reverseName(t, demoWebIP), dns.TypePTR); r.Rcode != dns.RcodeNameError {
		t.Errorf("PTR of the old cluster IP %s is %s, want NXDOMAIN:\n%v", demoWebIP, dns.RcodeToString[r.Rcode], r)
	}

	// A tab in the indentation of the first Service, on a known line.
	badYAML := strings.Replace(withWebIP("10.96.100.98"), "  kind: Service\n", "  kind: Service\n\tbroken: [\n", 1)
	badLine := strings.Count(badYAML[:strings.Index(badYAML, "\tbroken")], "\n") + 1

	broken := []struct {
		name    string
		content string
		// log are what the log line about the refused file must say.
		log []string
	}{
		{
			name:    "an address that does not parse",
			content: withWebIP("10.96.100.999"),
			log:     []string{filepath.Base(manifest), "prod/web", "10.96.100.999"},
		},
		{
			name:    "YAML that does not parse",
			content: badYAML,
			log:     []string{filepath.Base(manifest), "yaml", fmt.Sprintf("line %d", badLine)},
		},
		{
			name:    "an empty file",
			content: "",
			log:     []string{filepath.Base(manifest), "empty"},
		},
	}
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			errorsBefore := sourceLoads(t, l, "error")
			offset := len(s.Log())
			write(b.content)
			line := s.waitLog(t, offset, reloadTimeout, b.log...)
			t.Logf("logged: %s", strings.TrimSpace(line))
			if got := webA(t, s); !slices.Equal(got, []string{newIP}) {
				t.Errorf("after a refused file web.prod A = %v, want the last good %s", got, newIP)
			}
			if r := query(t, s.Addr, "udp", "db.prod.svc.cluster.local.", dns.TypeA); len(answerValues(r, dns.TypeA)) != len(demoDB) {
				t.Errorf("after a refused file db.prod A:\n%v", r)
			}
			if after := sourceLoads(t, l, "error"); after <= errorsBefore {
				t.Errorf("coredns_clusterdns_source_loads_total{result=\"error\"} went from %v to %v, want an increase", errorsBefore, after)
			}
		})
	}

	// A good file after bad ones is served again; this time it replaces the
	// old file by a rename, as tools that write atomically do.
	const thirdIP = "10.96.100.77"
	next := filepath.Join(filepath.Dir(manifest), "cluster.yaml.new")
	if err := os.WriteFile(next, []byte(withWebIP(thirdIP)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, manifest); err != nil {
		t.Fatal(err)
	}
	waitWebA(t, s, thirdIP, newIP)
}

// webA returns the A records of web.prod.svc.cluster.local, asked over UDP;
// an answer other than NOERROR fails the test.
func webA(t *testing.T, s *server) []string {
	t.Helper()
	r := query(t, s.Addr, "udp", "web.prod.svc.cluster.local.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess {
		t.Fatalf("web.prod A: %s\n%v", dns.RcodeToString[r.Rcode], r)
	}
	return answerValues(r, dns.TypeA)
}

// waitWebA polls web.prod A until it is want; until then every answer must
// be old.
func waitWebA(t *testing.T, s *server, want, old string) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(reloadTimeout)
	for {
		got := webA(t, s)
		if slices.Equal(got, []string{want}) {
			t.Logf("web.prod A is %s after %s", want, time.Since(start).Round(time.Millisecond))
			return
		}
		if !slices.Equal(got, []string{old}) {
			t.Fatalf("web.prod A = %v while the file changed from %s to %s", got, old, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("web.prod A still %v %s after the file changed to %s", got, reloadTimeout, want)
		}
		time.Sleep(testkit.PollInterval)
	}
}

// reverseName returns the in-addr.arpa name of an IPv4 address.
func reverseName(t *testing.T, ip string) string {
	t.Helper()
	name, err := dns.ReverseAddr(ip)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// sourceLoads returns coredns_clusterdns_source_loads_total{result} from the
// prometheus port, 0 when there is no such sample yet.
func sourceLoads(t *testing.T, l testkit.Local, result string) float64 {
	t.Helper()
	code, body := httpGet(t, fmt.Sprintf("http://%s/metrics", testkit.Loopback(l.Metrics)))
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, line := range metricLines(body, "coredns_clusterdns_source_loads_total") {
		if strings.Contains(line, `result="`+result+`"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	return 0
}
