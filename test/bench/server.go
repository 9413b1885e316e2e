package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/testkit"

	"github.com/miekg/dns"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go runs on.
const clockTicks = 100

// server is one running DNS server under measurement.
type server struct {
	*testkit.Process
	name    string
	dns     string // 127.0.0.1:PORT
	ready   string // URL of /ready
	started time.Time
	logPath string
}

// startServer runs bin with corefile, written to dir, and its output in
// dir/<name>.log. The process is stopped when the benchmark ends at the
// latest.
func startServer(tb testing.TB, dir, name, bin, corefile string, p ports) *server {
	tb.Helper()
	conf := filepath.Join(dir, name+".Corefile")
	if err := os.WriteFile(conf, []byte(corefile), 0o644); err != nil {
		tb.Fatal(err)
	}
	logPath := filepath.Join(dir, name+".log")
	log, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-conf", conf)
	cmd.Stdout, cmd.Stderr = log, log
	s := &server{
		name:    name,
		dns:     testkit.Loopback(p.dns),
		ready:   fmt.Sprintf("http://127.0.0.1:%d/ready", p.ready),
		logPath: logPath,
	}
	s.started = time.Now()
	if s.Process, err = testkit.Start(name, cmd); err != nil {
		log.Close()
		tb.Fatal(err)
	}
	go func() {
		<-s.Done()
		log.Close()
	}()
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Log(err)
		}
	})
	return s
}

// waitReady polls /ready every 5 ms and returns the time from exec to the
// first 200. A server that exits or is not ready within timeout fails the
// benchmark: without a ready server there is nothing to measure.
func (s *server) waitReady(tb testing.TB, timeout time.Duration) time.Duration {
	tb.Helper()
	client := &http.Client{Timeout: time.Second}
	err := s.Await(timeout, 5*time.Millisecond, func() bool {
		resp, err := client.Get(s.ready)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if err != nil {
		tb.Fatalf("%v; log %s:\n%s", err, s.logPath, s.Log().Tail(20))
	}
	return time.Since(s.started)
}

// waitAnswering polls the DNS port until any reply comes back: /ready
// can say 200 before the listener is up (stock does, by tens of
// milliseconds), and a query sent then is refused.
func (s *server) waitAnswering(tb testing.TB) {
	tb.Helper()
	c := &dns.Client{Timeout: 100 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("answering.probe.", dns.TypeA)
	err := s.Await(10*time.Second, 5*time.Millisecond, func() bool {
		_, _, err := c.Exchange(m, s.dns)
		return err == nil
	})
	if err != nil {
		tb.Fatalf("%s ready but not answering on %s: %v; log %s:\n%s", s.name, s.dns, err, s.logPath, s.Log().Tail(20))
	}
}

// waitServed polls the DNS port until qname gets NOERROR and returns the
// time from exec. clusterdns says Ready before its pods are listed (pod
// names SERVFAIL until then): its RSS after sync is read once a pod
// answers, not at Ready.
func (s *server) waitServed(tb testing.TB, qname string, timeout time.Duration) time.Duration {
	tb.Helper()
	c := &dns.Client{Timeout: 100 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion(qname, dns.TypeA)
	err := s.Await(timeout, 20*time.Millisecond, func() bool {
		r, _, err := c.Exchange(m, s.dns)
		return err == nil && r.Rcode == dns.RcodeSuccess
	})
	if err != nil {
		tb.Fatalf("%s does not answer %s: %v; log %s:\n%s", s.name, qname, err, s.logPath, s.Log().Tail(20))
	}
	return time.Since(s.started)
}

// cpu is the CPU time (user+system) the server has used so far.
func (s *server) cpu() (time.Duration, error) { return processCPU(s.Pid()) }

// processCPU reads utime+stime, all threads, from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("pid %d: malformed stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("pid %d: short stat", pid)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("pid %d: stat fields %q %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// machineBusy is the CPU time all cores spent outside idle and iowait so
// far, from /proc/stat.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy uint64
	// user nice system idle iowait irq softirq steal
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, err
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks, nil
}

// sampleRSS samples the RSS of pid every interval until ctx ends, and
// returns the highest value seen.
func sampleRSS(ctx context.Context, pid int, interval time.Duration) uint64 {
	var peak uint64
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if v, err := testkit.RSS(pid); err == nil && v > peak {
			peak = v
		}
		select {
		case <-ctx.Done():
			return peak
		case <-tick.C:
		}
	}
}
