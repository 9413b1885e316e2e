package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Query files: dnsperf reads "name type" lines and loops over the file for
// the whole run, so a file's mix is the run's mix.
const (
	queryLines = 50_000
	// externalNames are the distinct external names of the search-walk mix:
	// few enough to be cached, as a cluster's popular external names are.
	externalNames = 1_000
)

// clusterQueries is the cluster-name mix, drawn with a fixed seed from
// Services [0, services) and, when pods > 0, the pods that exist (under
// `pods verified` a dashed name answers only for a pod's IP): out of
// every 20 queries, 8 A of a ClusterIP Service, 2 AAAA of one (NODATA:
// the Services are single-stack IPv4), 2 SRV, 3 A of a headless Service
// (10 endpoints), 2 A of a pod's dashed name and 3 names that do not exist
// (NXDOMAIN).
func clusterQueries(services, pods int) []string {
	rng := rand.New(rand.NewPCG(1, uint64(services)))
	clusterIP := func() int {
		for {
			if i := rng.IntN(services); !isHeadless(i) {
				return i
			}
		}
	}
	headless := func() int { return rng.IntN(services/headlessEvery)*headlessEvery + headlessEvery - 1 }
	svc := func(i int) string { return serviceName(i) + "." + namespaceOf(i) + ".svc.cluster.local" }
	return drawMix(
		share{8, func() string { return svc(clusterIP()) + " A" }},
		share{2, func() string { return svc(clusterIP()) + " AAAA" }},
		share{2, func() string { return "_http._tcp." + svc(clusterIP()) + " SRV" }},
		share{3, func() string { return svc(headless()) + " A" }},
		share{2, func() string {
			p := rng.IntN(max(pods, 1_000_000))
			if pods > 0 {
				p = rng.IntN(pods)
			}
			return strings.ReplaceAll(podAddr(p).String(), ".", "-") + "." + namespaceOf(p) + ".pod.cluster.local A"
		}},
		share{3, func() string {
			i := rng.IntN(services)
			return "missing-" + serviceName(i) + "." + namespaceOf(i) + ".svc.cluster.local A"
		}},
	)
}

// share is one kind of query in a mix: n lines in a row, each drawn by line.
type share struct {
	n    int
	line func() string
}

// drawMix repeats the shares, in order, until it has queryLines lines: the
// mix of every part of a query file is the file's.
func drawMix(shares ...share) []string {
	lines := make([]string, 0, queryLines)
	for len(lines) < queryLines {
		for _, s := range shares {
			for range s.n {
				lines = append(lines, s.line())
			}
		}
	}
	return lines
}

// searchWalkQueries is what a pod's resolver sends for external names with
// Kubernetes' ndots:5 search path (namespace.svc.cluster.local,
// svc.cluster.local, cluster.local): A and AAAA for each step, the first
// three NXDOMAIN from the cluster plugin, the last forwarded to the
// upstream.
func searchWalkQueries() []string {
	rng := rand.New(rand.NewPCG(2, externalNames))
	lines := make([]string, 0, queryLines)
	for len(lines) < queryLines {
		k := rng.IntN(externalNames)
		name := fmt.Sprintf("host-%d.example.com", k)
		ns := fmt.Sprintf("bench-%d", k%namespaces)
		for _, suffix := range []string{"." + ns + ".svc.cluster.local", ".svc.cluster.local", ".cluster.local", ""} {
			lines = append(lines, name+suffix+" A", name+suffix+" AAAA")
		}
	}
	return lines
}

func writeQueryFile(path string, lines []string) error {
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// perf is what one dnsperf run reported.
type perf struct {
	sent, completed, lost int
	qps                   float64
	rcodes                map[string]int
	// latencies of every response, from a verbose run only.
	latencies []time.Duration
	// cpu is dnsperf's own CPU time.
	cpu time.Duration
}

// dnsperfRun runs dnsperf against server with file for the given time. With
// rate > 0 it sends at that rate with -v and records each response's
// latency; otherwise it sends as fast as the server answers, with at most
// 100 queries outstanding (dnsperf's default) from 4 clients. With a
// source address, queries are sent from it (dnsperf -a).
func dnsperfRun(ctx context.Context, server, file string, seconds, rate int, source ...string) (perf, []string, error) {
	host, port, _ := strings.Cut(server, ":")
	args := []string{"-s", host, "-p", port, "-d", file, "-l", strconv.Itoa(seconds), "-c", "4", "-T", "1", "-t", "2"}
	for _, a := range source {
		args = append(args, "-a", a)
	}
	if rate > 0 {
		args = append(args, "-Q", strconv.Itoa(rate), "-v")
	}
	cmd := exec.CommandContext(ctx, "dnsperf", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return perf{}, nil, err
	}
	argv := append([]string{"dnsperf"}, args...)
	if err := cmd.Start(); err != nil {
		return perf{}, argv, fmt.Errorf("dnsperf: %w (apt-get install dnsperf)", err)
	}
	p, perr := parseDNSPerf(out)
	if err := cmd.Wait(); err != nil {
		return perf{}, argv, fmt.Errorf("dnsperf %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	if perr != nil {
		return perf{}, argv, perr
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		p.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return p, argv, nil
}

// parseDNSPerf reads dnsperf's output: "> RCODE name type seconds" for each
// response in verbose mode, then the statistics block.
func parseDNSPerf(r io.Reader) (perf, error) {
	p := perf{rcodes: map[string]int{}}
	sc := bufio.NewScanner(r)
	seen := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "> ") {
			f := strings.Fields(line)
			if len(f) == 5 {
				if s, err := strconv.ParseFloat(f[4], 64); err == nil {
					p.latencies = append(p.latencies, time.Duration(s*float64(time.Second)))
				}
			}
			continue
		}
		key, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		first, _, _ := strings.Cut(val, " ")
		var err error
		switch key {
		case "Queries sent":
			p.sent, err = strconv.Atoi(first)
			seen++
		case "Queries completed":
			p.completed, err = strconv.Atoi(first)
			seen++
		case "Queries lost":
			p.lost, err = strconv.Atoi(first)
			seen++
		case "Queries per second":
			p.qps, err = strconv.ParseFloat(first, 64)
			seen++
		case "Response codes":
			// NOERROR 39062 (50.00%), NXDOMAIN 39062 (50.00%)
			for part := range strings.SplitSeq(val, ",") {
				f := strings.Fields(part)
				if len(f) >= 2 {
					n, _ := strconv.Atoi(f[1])
					p.rcodes[f[0]] = n
				}
			}
		}
		if err != nil {
			return p, fmt.Errorf("dnsperf output %q: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return p, err
	}
	if seen < 4 {
		return p, fmt.Errorf("dnsperf printed no statistics")
	}
	return p, nil
}

// summarize computes the latency figures of a verbose run.
func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	q := func(f float64) time.Duration { return s[min(len(s)-1, int(f*float64(len(s))))] }
	return Latency{Mean: sum / time.Duration(len(s)), P50: q(0.50), P90: q(0.90), P99: q(0.99), P999: q(0.999), Max: s[len(s)-1]}
}
