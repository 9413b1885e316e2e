package test

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/testkit"

	"github.com/miekg/dns"
)

// The upstreams of the forwarding tests: stock CoreDNS (test/upstream) on
// a free loopback port, every query logged. Outside example.org each one
// answers like its example.org block, except where noted: the loop plugin
// and forward's health checks ask for names in the root zone.
const (
	// upstreamHealthyCorefile answers A 192.0.2.10 (upstreamA) for every
	// name in example.org, NXDOMAIN for everything else.
	upstreamHealthyCorefile = `example.org:%[1]d {
    bind 127.0.0.1
    log
    template IN A example.org {
        answer "{{ .Name }} 60 IN A 192.0.2.10"
    }
    template IN AAAA example.org {
        rcode NOERROR
    }
}
.:%[1]d {
    bind 127.0.0.1
    log
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`
	// upstreamSlowCorefile answers every A in example.org with erraticA
	// after upstreamDelay (erratic answers by itself: it cannot delay
	// another plugin's answer). The root zone answers at once, so that the
	// server's startup probe and loop's probe are not slowed down.
	upstreamSlowCorefile = `example.org:%[1]d {
    bind 127.0.0.1
    log
    erratic {
        delay 1 1500ms
    }
}
.:%[1]d {
    bind 127.0.0.1
    log
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`
	// upstreamDropCorefile never answers: erratic drops every query,
	// forward's health checks included.
	upstreamDropCorefile = `.:%[1]d {
    bind 127.0.0.1
    log
    erratic {
        drop 1
    }
}
`
	// upstreamServfailCorefile answers SERVFAIL to every query, as a
	// recursive resolver that cannot reach the authorities does.
	upstreamServfailCorefile = `.:%[1]d {
    bind 127.0.0.1
    log
    template ANY ANY {
        rcode SERVFAIL
    }
}
`
	// erraticA is the address erratic answers every A query with.
	erraticA = "192.0.2.53"
	// upstreamDelay is how long upstreamSlowCorefile delays an answer:
	// less than forward's 2 s read timeout.
	upstreamDelay = 1500 * time.Millisecond
)

// TestForward runs the shipped Corefile's forward and cache against real
// upstreams on loopback: healthy, slow, never answering, answering
// SERVFAIL, and a never answering one beside a healthy one. Every client
// gets a correct answer or a SERVFAIL within a bound: never a hang. The
// times are logged (go test -v) for the record.
//
// Each subtest starts its own server; those of corefiles/Corefile wait the
// 5 s startup_timeout of its unreachable API server first, in parallel.
func TestForward(t *testing.T) {
	t.Parallel()
	// Built here, not with a sync.Once: the binary lives in this test's
	// temporary directory, which is gone when the test ends.
	bin := buildUpstream(t)

	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		up := startUpstreamServer(t, bin, upstreamHealthyCorefile)
		s, l := startShipped(t, up.Addr)

		name := "www.example.org."
		r, took := timedQuery(t, s.Addr, "udp", name, 2*time.Second)
		t.Logf("healthy upstream: UDP answer in %s", took)
		wantAnswer(t, r, took, dns.RcodeSuccess, []string{upstreamA}, time.Second)
		up.waitLog(t, 0, 5*time.Second, logQuery(name))

		// The second query is the cache's: no second query upstream, one more
		// cache hit, the TTL of 60 capped by `cache 30`.
		hits := metricSum(t, l, "coredns_cache_hits_total", `type="success"`)
		r, took = timedQuery(t, s.Addr, "udp", name, 2*time.Second)
		t.Logf("healthy upstream: cached UDP answer in %s", took)
		wantAnswer(t, r, took, dns.RcodeSuccess, []string{upstreamA}, time.Second)
		if got := metricSum(t, l, "coredns_cache_hits_total", `type="success"`); got != hits+1 {
			t.Errorf("cache hits (success) went from %v to %v, want one more", hits, got)
		}
		if n := strings.Count(up.Log(), logQuery(name)); n != 1 {
			t.Errorf("upstream was asked %d times for %s, want once (the second answer is cached)\n%s", n, name, up.Log())
		}
		if ttl := r.Answer[0].Header().Ttl; ttl > 30 {
			t.Errorf("cached answer has TTL %d, want at most 30 (cache 30)", ttl)
		}

		r, took = timedQuery(t, s.Addr, "tcp", "tcp.example.org.", 2*time.Second)
		t.Logf("healthy upstream: TCP answer in %s", took)
		wantAnswer(t, r, took, dns.RcodeSuccess, []string{upstreamA}, time.Second)

		status, addrs, took := timedDig(t, l.DNS, 2*time.Second, "dig.example.org")
		t.Logf("healthy upstream: dig answer in %s", took)
		wantDig(t, status, addrs, took, "NOERROR", []string{upstreamA}, 2*time.Second)
	})

	t.Run("slow", func(t *testing.T) {
		t.Parallel()
		up := startUpstreamServer(t, bin, upstreamSlowCorefile)
		s, l := startShipped(t, up.Addr)

		name := "slow.example.org."
		r, took := timedQuery(t, s.Addr, "udp", name, 8*time.Second)
		t.Logf("slow upstream (%s): UDP answer in %s", upstreamDelay, took)
		wantAnswer(t, r, took, dns.RcodeSuccess, []string{erraticA}, 4*time.Second)
		if took < upstreamDelay-100*time.Millisecond {
			t.Errorf("answer after %s, before the upstream's delay of %s: not the slow upstream's", took, upstreamDelay)
		}
		// forward waited for the answer instead of timing out and asking
		// again: the upstream saw the query once.
		up.waitLog(t, 0, 5*time.Second, logQuery(name))
		if n := strings.Count(up.Log(), logQuery(name)); n != 1 {
			t.Errorf("upstream was asked %d times for %s, want once\n%s", n, name, up.Log())
		}

		// The cache hides the delay from the next client.
		r, took = timedQuery(t, s.Addr, "udp", name, 8*time.Second)
		t.Logf("slow upstream: cached UDP answer in %s", took)
		wantAnswer(t, r, took, dns.RcodeSuccess, []string{erraticA}, 500*time.Millisecond)

		status, addrs, took := timedDig(t, l.DNS, 8*time.Second, "dig-slow.example.org")
		t.Logf("slow upstream: dig answer in %s", took)
		wantDig(t, status, addrs, took, "NOERROR", []string{erraticA}, 4*time.Second)
		if took < upstreamDelay-100*time.Millisecond {
			t.Errorf("dig answered after %s, before the upstream's delay of %s", took, upstreamDelay)
		}
	})

	t.Run("dropping", func(t *testing.T) {
		t.Parallel()
		up := startUpstreamServer(t, bin, upstreamDropCorefile)
		s, l := startShippedWithManifest(t, up.Addr)

		// While a forwarded query waits for the silent upstream, cluster
		// names are answered at once.
		name := "timeout.example.org."
		sent := time.Now()
		pending := asyncQuery(s.Addr, name, 15*time.Second)
		for _, network := range []string{"udp", "tcp"} {
			r, took := timedQuery(t, s.Addr, network, "web.prod.svc.cluster.local.", 2*time.Second)
			t.Logf("dropping upstream: cluster name over %s answered in %s while a forward was pending", network, took)
			wantAnswer(t, r, took, dns.RcodeSuccess, []string{demoWebIP}, time.Second)
		}
		clusterAnswered := time.Since(sent)
		res := <-pending
		if res.err != nil {
			t.Fatalf("%s A: no answer within %s: %v", name, 15*time.Second, res.err)
		}
		if res.took < clusterAnswered {
			t.Errorf("%s A answered after %s, before the cluster names (%s): the forward was not pending", name, res.took, clusterAnswered)
		}
		t.Logf("dropping upstream: SERVFAIL in %s (upstream saw %d attempts)", res.took, strings.Count(up.Log(), logQuery(name)))
		wantAnswer(t, res.reply, res.took, dns.RcodeServerFailure, nil, 10*time.Second)

		// The failure is cached for the servfail TTL (5 s): a client's retry
		// gets it at once instead of waiting again.
		r, took := timedQuery(t, s.Addr, "udp", name, 15*time.Second)
		t.Logf("dropping upstream: repeated query SERVFAIL in %s", took)
		wantAnswer(t, r, took, dns.RcodeServerFailure, nil, time.Second)

		status, _, took := timedDig(t, l.DNS, 12*time.Second, "dig-timeout.example.org")
		t.Logf("dropping upstream: dig SERVFAIL in %s (upstream saw %d attempts)", took, strings.Count(up.Log(), logQuery("dig-timeout.example.org.")))
		wantDig(t, status, nil, took, "SERVFAIL", nil, 10*time.Second)
	})

	t.Run("servfail", func(t *testing.T) {
		t.Parallel()
		up := startUpstreamServer(t, bin, upstreamServfailCorefile)
		s, l := startShipped(t, up.Addr)

		name := "fail.example.org."
		r, took := timedQuery(t, s.Addr, "udp", name, 5*time.Second)
		answered := time.Now()
		t.Logf("SERVFAIL upstream: SERVFAIL in %s", took)
		wantAnswer(t, r, took, dns.RcodeServerFailure, nil, time.Second)
		up.waitLog(t, 0, 5*time.Second, logQuery(name))

		// The Corefile does not set `servfail`: the cache keeps a SERVFAIL
		// for its default 5 s.
		denials := metricSum(t, l, "coredns_cache_hits_total", `type="denial"`)
		r, took = timedQuery(t, s.Addr, "udp", name, 5*time.Second)
		t.Logf("SERVFAIL upstream: repeated query SERVFAIL in %s", took)
		wantAnswer(t, r, took, dns.RcodeServerFailure, nil, time.Second)
		if got := metricSum(t, l, "coredns_cache_hits_total", `type="denial"`); got != denials+1 {
			t.Errorf("cache hits (denial) went from %v to %v, want one more: the SERVFAIL should be cached", denials, got)
		}
		if n := strings.Count(up.Log(), logQuery(name)); n != 1 {
			t.Errorf("upstream was asked %d times for %s, want once (the SERVFAIL is cached)\n%s", n, name, up.Log())
		}
		// Ask until the upstream is asked again: that is when the cached
		// SERVFAIL expired.
		deadline := time.Now().Add(15 * time.Second)
		for strings.Count(up.Log(), logQuery(name)) < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("upstream not asked again for %s within 15 s: the SERVFAIL is cached too long\n%s", name, up.Log())
			}
			r, took = timedQuery(t, s.Addr, "udp", name, 5*time.Second)
			wantAnswer(t, r, took, dns.RcodeServerFailure, nil, time.Second)
			time.Sleep(200 * time.Millisecond)
		}
		expired := time.Since(answered)
		t.Logf("SERVFAIL upstream: the cached SERVFAIL expired after about %s", expired.Round(100*time.Millisecond))
		if expired < 4*time.Second || expired > 10*time.Second {
			t.Errorf("SERVFAIL cached for about %s, want the default servfail TTL of 5 s", expired)
		}

		status, _, took := timedDig(t, l.DNS, 3*time.Second, "dig-fail.example.org")
		t.Logf("SERVFAIL upstream: dig SERVFAIL in %s", took)
		wantDig(t, status, nil, took, "SERVFAIL", nil, time.Second)
	})

	t.Run("failover", func(t *testing.T) {
		t.Parallel()
		drop := startUpstreamServer(t, bin, upstreamDropCorefile)
		healthy := startUpstreamServer(t, bin, upstreamHealthyCorefile)
		s, l := startShipped(t, drop.Addr+" "+healthy.Addr)

		// forward picks an upstream at random; after a failed query it
		// health-checks that one every 0.5 s (1 s timeout) and skips it
		// after more than 2 failed checks. Until then about every second
		// query waits for the read timeout (2 s) before the healthy one
		// answers. Queries of new names (the cache must not answer) until
		// the silent one is down, then 10 more, all of which must be fast.
		const fast = time.Second
		start := time.Now()
		deadline := start.Add(30 * time.Second)
		var (
			slow, total int
			worst       time.Duration
			downAfter   time.Duration
			after       int // queries since the silent upstream went down
		)
		for i := 0; after < 10; i++ {
			if time.Now().After(deadline) {
				t.Fatalf("after %s the silent upstream is not skipped (%d queries, %d slow)", time.Since(start), total, slow)
			}
			r, took := timedQuery(t, s.Addr, "udp", fmt.Sprintf("failover-%d.example.org.", i), 8*time.Second)
			wantAnswer(t, r, took, dns.RcodeSuccess, []string{upstreamA}, 5*time.Second)
			total++
			worst = max(worst, took)
			if took > fast {
				slow++
			}
			if downAfter > 0 {
				after++
				if took > fast {
					t.Errorf("query %d took %s after the silent upstream was marked down", i, took)
				}
			} else if metricSum(t, l, "coredns_proxy_healthcheck_failures_total", `to="`+drop.Addr+`"`) > 2 {
				downAfter = time.Since(start)
			}
		}
		t.Logf("failover: %d queries, %d slower than %s, slowest %s; silent upstream marked down (3 failed health checks) %s after the first query",
			total, slow, fast, worst, downAfter.Round(100*time.Millisecond))

		status, addrs, took := timedDig(t, l.DNS, 5*time.Second, "dig-failover.example.org")
		t.Logf("failover: dig answer in %s", took)
		wantDig(t, status, addrs, took, "NOERROR", []string{upstreamA}, fast)
	})
}

// buildUpstream builds test/upstream into the test's temporary directory.
// A build failure fails the test: without upstreams nothing is tested.
func buildUpstream(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "upstream")
	cmd := exec.Command("go", "build", "-o", bin, "./test/upstream")
	cmd.Dir = testkit.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./test/upstream: %v\n%s", err, out)
	}
	return bin
}

// startUpstreamServer starts bin on corefile (a format with the port as
// %[1]d) on a free loopback port and waits until it listens: a silent
// upstream never answers. It is stopped when the test ends.
func startUpstreamServer(t *testing.T, bin, corefile string) *server {
	t.Helper()
	return startServer(t, fmt.Sprintf(corefile, testkit.FreePort(t)), withBinary(bin), withDir(t.TempDir()), waitListening())
}

// startShipped starts corefiles/Corefile, localized, forwarding to
// upstream ("host:port", or several separated by spaces).
func startShipped(t *testing.T, upstream string) (*server, testkit.Local) {
	t.Helper()
	return startCorefile(t, shippedCorefile(t), upstream)
}

// startShippedWithManifest starts corefiles/Corefile, localized, with the
// demo manifest as the source of its clusterdns block: cluster names are
// answered, and it does not wait for an API server.
func startShippedWithManifest(t *testing.T, upstream string) (*server, testkit.Local) {
	t.Helper()
	corefile := shippedCorefile(t)
	block := regexp.MustCompile(`(?m)^(\s*)clusterdns( [^{\n]*)?\{\n`)
	loc := block.FindStringSubmatchIndex(corefile)
	if loc == nil {
		t.Fatalf("corefiles/Corefile has no `clusterdns ... {` block to add a file source to:\n%s", corefile)
	}
	indent := corefile[loc[2]:loc[3]]
	corefile = corefile[:loc[1]] + indent + "    source file corefiles/demo-cluster.yaml\n" + corefile[loc[1]:]
	// A file source is its own last-known-good: `snapshot` is an API
	// option, refused beside `source file`.
	corefile = regexp.MustCompile(`(?m)^\s*snapshot .*\n`).ReplaceAllString(corefile, "")
	return startCorefile(t, corefile, upstream)
}

// shippedCorefile is corefiles/Corefile, the Corefile clusterdns ships.
func shippedCorefile(t *testing.T) string {
	t.Helper()
	return testkit.RepoFile(t, "corefiles/Corefile")
}

func startCorefile(t *testing.T, corefile, upstream string) (*server, testkit.Local) {
	t.Helper()
	l := newLocal(t)
	l.Upstream = upstream
	// The API source uses the in-cluster config, which falls back to
	// $KUBECONFIG outside a cluster: the unreachable API server.
	s := startServer(t, localize(t, corefile, l), withEnv("KUBECONFIG="+l.Kubeconfig))
	t.Logf("server answered %s after start", s.Startup.Round(time.Millisecond))
	return s, l
}

// logQuery is how the upstream's log plugin writes an A query for name.
func logQuery(name string) string {
	return `"A IN ` + name + ` `
}

// timedQuery asks addr for the A records of name over network, and returns
// the reply and how long it took. No reply within limit fails the test.
func timedQuery(t *testing.T, addr, network, name string, limit time.Duration) (*dns.Msg, time.Duration) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	c := &dns.Client{Net: network, Timeout: limit}
	start := time.Now()
	r, _, err := c.Exchange(m, addr)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("%s %s A to %s: no answer after %s: %v", network, name, addr, took, err)
	}
	return r, took
}

type queryResult struct {
	reply *dns.Msg
	took  time.Duration
	err   error
}

// asyncQuery asks addr over UDP for the A records of name in the
// background; the channel gets the result.
func asyncQuery(addr, name string, limit time.Duration) <-chan queryResult {
	res := make(chan queryResult, 1)
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	c := &dns.Client{Net: "udp", Timeout: limit}
	start := time.Now()
	go func() {
		r, _, err := c.Exchange(m, addr)
		res <- queryResult{reply: r, took: time.Since(start), err: err}
	}()
	return res
}

// wantAnswer checks a reply's rcode, its A records (sorted) and that it came
// within bound.
func wantAnswer(t *testing.T, r *dns.Msg, took time.Duration, rcode int, addrs []string, bound time.Duration) {
	t.Helper()
	q := r.Question[0].Name
	if r.Rcode != rcode {
		t.Errorf("%s A: rcode %s, want %s\n%v", q, dns.RcodeToString[r.Rcode], dns.RcodeToString[rcode], r)
	}
	if got := answerValues(r, dns.TypeA); !slices.Equal(got, addrs) {
		t.Errorf("%s A: %v, want %v\n%v", q, got, addrs, r)
	}
	if took > bound {
		t.Errorf("%s A: answered after %s, want within %s", q, took, bound)
	}
}

// digA matches an A record of dig's answer section.
var digA = regexp.MustCompile(`(?m)^\S+\s+\d+\s+IN\s+A\s+(\S+)$`)

// timedDig asks 127.0.0.1:port with dig for the A records of name, one try
// with a timeout just above limit, and returns the status, the addresses
// (sorted) and how long dig ran.
func timedDig(t *testing.T, port int, limit time.Duration, name string) (status string, addrs []string, took time.Duration) {
	t.Helper()
	secs := int(limit/time.Second) + 1
	start := time.Now()
	out := runClient(t, "dig", "-r", "@127.0.0.1", "-p", strconv.Itoa(port),
		"+tries=1", "+time="+strconv.Itoa(secs), name, "A")
	took = time.Since(start)
	m := digStatus.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("dig %s: no status line after %s:\n%s", name, took, out)
	}
	for _, a := range digA.FindAllStringSubmatch(out, -1) {
		addrs = append(addrs, a[1])
	}
	slices.Sort(addrs)
	return m[1], addrs, took
}

func wantDig(t *testing.T, status string, addrs []string, took time.Duration, wantStatus string, wantAddrs []string, bound time.Duration) {
	t.Helper()
	if status != wantStatus || !slices.Equal(addrs, wantAddrs) {
		t.Errorf("dig: status %s, A %v; want %s %v", status, addrs, wantStatus, wantAddrs)
	}
	if took > bound {
		t.Errorf("dig: answered after %s, want within %s", took, bound)
	}
}

// metricSum returns the sum of the samples of metric whose labels contain
// label (`name="value"`), from the server's prometheus endpoint.
func metricSum(t *testing.T, l testkit.Local, metric, label string) float64 {
	t.Helper()
	code, body := httpGet(t, fmt.Sprintf("http://%s/metrics", testkit.Loopback(l.Metrics)))
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	var sum float64
	for _, line := range metricLines(body, metric) {
		if !strings.Contains(line, label) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}
