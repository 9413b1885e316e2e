package test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// startDemo starts corefiles/demo.Corefile, localized, serving manifest
// (the demo's own when empty).
func startDemo(t *testing.T, manifest string, opts ...serverOption) (*server, testkit.Local) {
	t.Helper()
	corefile := testkit.RepoFile(t, "corefiles/demo.Corefile")
	l := newLocal(t)
	if manifest != "" {
		l.Manifest = manifest
	}
	return startServer(t, localize(t, corefile, l), opts...), l
}

// digStatus matches the header line of dig's full output.
var digStatus = regexp.MustCompile(`status: ([A-Z]+), id: \d+\n;; flags:[^;]*; QUERY: \d+, ANSWER: (\d+), AUTHORITY: (\d+)`)

// TestDigAndNslookup asks the demo server with the real dig and nslookup, as
// the README shows and as people debug a cluster.
func TestDigAndNslookup(t *testing.T) {
	t.Parallel()
	_, l := startDemo(t, "")
	port := strconv.Itoa(l.DNS)
	// -r: no ~/.digrc; one try, short timeout: the server is on loopback.
	dig := func(args ...string) []string {
		return append([]string{"-r", "@127.0.0.1", "-p", port, "+tries=1", "+time=5"}, args...)
	}
	var srvTargets []string
	for host := range demoDB {
		srvTargets = append(srvTargets, "0 33 "+demoPostgresPort+" "+host+".db.prod.svc.cluster.local.")
	}
	slices.Sort(srvTargets)

	tests := []struct {
		name   string
		client string
		args   []string
		// short is the sorted output lines for +short queries.
		short []string
		// status, answers: the rcode and answer count of a full dig output.
		status  string
		answers int
		// contains are lines the output must have (nslookup).
		contains []string
	}{
		{
			name:   "A over UDP",
			client: "dig",
			args:   dig("+short", "web.prod.svc.cluster.local"),
			short:  []string{demoWebIP},
		},
		{
			name:   "A over TCP",
			client: "dig",
			args:   dig("+short", "+tcp", "web.prod.svc.cluster.local"),
			short:  []string{demoWebIP},
		},
		{
			name:   "SRV of a headless service lists its endpoints",
			client: "dig",
			args:   dig("+short", "SRV", "_postgres._tcp.db.prod.svc.cluster.local"),
			short:  srvTargets,
		},
		{
			name:   "reverse of the cluster IP",
			client: "dig",
			args:   dig("+short", "-x", demoWebIP),
			short:  []string{"web.prod.svc.cluster.local."},
		},
		{
			name:    "NXDOMAIN",
			client:  "dig",
			args:    dig("nope.prod.svc.cluster.local"),
			status:  "NXDOMAIN",
			answers: 0,
		},
		{
			name:    "NODATA for a namespace",
			client:  "dig",
			args:    dig("prod.svc.cluster.local"),
			status:  "NOERROR",
			answers: 0,
		},
		{
			name:    "A of a service",
			client:  "dig",
			args:    dig("web.prod.svc.cluster.local"),
			status:  "NOERROR",
			answers: 1,
		},
		{
			name:   "nslookup of a dual-stack service",
			client: "nslookup",
			args:   []string{"-port=" + port, "api.prod.svc.cluster.local", "127.0.0.1"},
			contains: []string{
				"Address: " + demoAPIIPv4,
				"Address: " + demoAPIIPv6,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := runClient(t, tc.client, tc.args...)
			switch {
			case tc.short != nil:
				got := strings.Split(strings.TrimSpace(out), "\n")
				slices.Sort(got)
				if !slices.Equal(got, tc.short) {
					t.Errorf("%s %s:\n%s\nwant lines %q", tc.client, strings.Join(tc.args, " "), out, tc.short)
				}
			case tc.status != "":
				m := digStatus.FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("no status line in dig output:\n%s", out)
				}
				if m[1] != tc.status || m[2] != strconv.Itoa(tc.answers) {
					t.Errorf("status %s with %s answers, want %s with %d:\n%s", m[1], m[2], tc.status, tc.answers, out)
				}
				// Negative answers carry the SOA for negative caching.
				if tc.status != "NOERROR" || tc.answers == 0 {
					if m[3] != "1" || !strings.Contains(out, "IN\tSOA") {
						t.Errorf("negative answer without the SOA in authority:\n%s", out)
					}
				}
			default:
				for _, want := range tc.contains {
					if !slices.Contains(strings.Split(out, "\n"), want) {
						t.Errorf("%s output has no line %q:\n%s", tc.client, want, out)
					}
				}
			}
		})
	}
}
