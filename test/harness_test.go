// Package test holds the end-to-end tests of the clusterdns binary: each test
// starts the real server (and, for forwarding, a second one as its upstream)
// from a Corefile on free loopback ports and queries it over the wire with
// miekg/dns, dig and nslookup.
//
// Every address the tests use is on 127.0.0.1: the shipped Corefiles are
// rewritten by localize before they start, and the Kubernetes API they point
// at is a closed loopback port.
package test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/testbin"
	"github.com/clusterdns/clusterdns/test/testkit"
)

// queryTimeout bounds one DNS exchange on loopback.
const queryTimeout = 3 * time.Second

func TestMain(m *testing.M) { testkit.Main(m) }

// server is a running clusterdns process.
type server struct {
	// Addr is the DNS address, 127.0.0.1:port.
	Addr string
	// Startup is how long the server took to answer its first query.
	Startup time.Duration
	// Corefile is the path of the Corefile the server runs; writing it
	// changes the server's configuration if it has the reload plugin.
	Corefile string
	// Metrics is the URL of the prometheus endpoint, when the test set one.
	Metrics string

	*testkit.Process
}

// Log returns what the server has written to stdout and stderr so far.
func (s *server) Log() string { return s.Process.Log().String() }

type serverConfig struct {
	dir string
	env []string
	// wrap, when set, is a command that runs the server: the binary and
	// its arguments are appended to it.
	wrap []string
	// bin, when set, is the binary to run instead of clusterdns.
	bin string
	// listenOnly waits for the listen line alone, not for an answer: a
	// silent server never gives one.
	listenOnly bool
}

// serverOption configures startServer.
type serverOption func(*serverConfig)

// withDir runs the server in dir instead of the repository root, with its
// Corefile there: `source file` resolves a relative path against the
// Corefile's directory, other relative paths against the working one.
func withDir(dir string) serverOption {
	return func(c *serverConfig) { c.dir = dir }
}

// withWrapper runs the server through a command (unshare, say), which
// gets the binary and its arguments as its last arguments.
func withWrapper(argv ...string) serverOption {
	return func(c *serverConfig) { c.wrap = argv }
}

// withBinary runs another CoreDNS build (test/upstream) on the Corefile.
func withBinary(bin string) serverOption {
	return func(c *serverConfig) { c.bin = bin }
}

// waitListening starts the server without waiting for an answer, only for
// CoreDNS's listen line.
func waitListening() serverOption {
	return func(c *serverConfig) { c.listenOnly = true }
}

// withEnv adds environment variables ("NAME=value") to the server's.
func withEnv(kv ...string) serverOption {
	return func(c *serverConfig) { c.env = append(c.env, kv...) }
}

// inheritedEnvBlocked are the variables of the test's environment that the
// server does not get: run inside a pod, the API source would otherwise use
// the in-cluster config and reach a real API server, and a proxy could take
// traffic off loopback.
var inheritedEnvBlocked = []string{
	"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG",
	"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
}

func serverEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !slices.Contains(inheritedEnvBlocked, name) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// startServer writes corefile to a temporary directory, starts the binary on
// it and waits until its DNS port (the port of the first server block, which
// must be given) answers a query over UDP. The server is stopped when the
// test ends; its log is printed if the test failed.
func startServer(t *testing.T, corefile string, opts ...serverOption) *server {
	t.Helper()
	cfg := serverConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	// The Corefile goes to the directory withDir named, else to one of
	// the test's: never into the repository.
	corefileDir := cfg.dir
	if corefileDir == "" {
		corefileDir = t.TempDir()
		cfg.dir = testkit.RepoRoot(t)
	}
	port, err := testkit.ListenPort(corefile)
	if err != nil {
		t.Fatalf("startServer: %v\n%s", err, corefile)
	}
	bin := cfg.bin
	if bin == "" {
		bin = testbin.Clusterdns(t)
	}

	path := filepath.Join(corefileDir, "Corefile")
	if err := os.WriteFile(path, []byte(corefile), 0o644); err != nil {
		t.Fatal(err)
	}
	argv := append(slices.Clone(cfg.wrap), bin, "-conf", path)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = cfg.dir
	cmd.Env = serverEnv(cfg.env)
	start := time.Now()
	proc, err := testkit.Start(bin, cmd)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{Addr: testkit.Loopback(port), Corefile: path, Process: proc}
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("server %s (Corefile %s):\n%s\nlog:\n%s", s.Addr, path, corefile, s.Log())
		}
	})

	probe := new(dns.Msg)
	probe.SetQuestion("startup-probe.clusterdns.invalid.", dns.TypeA)
	client := &dns.Client{Net: "udp", Timeout: 250 * time.Millisecond}
	// The listen line CoreDNS prints once its servers run ("zone.:port on
	// 127.0.0.1"): an answer alone could come from another process that
	// picked the same free port (CoreDNS listens with SO_REUSEPORT).
	listening := fmt.Sprintf(":%d on ", port)
	err = s.Await(testkit.StartTimeout, testkit.PollInterval, func() bool {
		answered := cfg.listenOnly
		if !answered {
			_, _, err := client.Exchange(probe, s.Addr)
			answered = err == nil
		}
		return answered && strings.Contains(s.Log(), listening)
	})
	if err != nil {
		t.Fatal(err) // the cleanup prints its log
	}
	s.Startup = time.Since(start)
	return s
}

// stop ends the server (testkit's Process.Stop) and reports how long it
// took to exit, or that it had to be killed.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if done, _ := s.Exited(); done {
		return
	}
	start := time.Now()
	if err := s.Stop(); err != nil {
		t.Error(err)
		return
	}
	_, status := s.Exited()
	t.Logf("server %s exited %s after SIGTERM (%v)", s.Addr, time.Since(start).Round(time.Millisecond), status)
}

// waitLog waits until the server's log, from offset on, contains every one
// of want, and returns that part of the log.
func (s *server) waitLog(t *testing.T, offset int, timeout time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		tail := s.Process.Log().Since(offset)
		missing := ""
		for _, w := range want {
			if !strings.Contains(tail, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return tail
		}
		if time.Now().After(deadline) {
			t.Fatalf("server log has no %q within %s; log since offset %d:\n%s", missing, timeout, offset, tail)
		}
		time.Sleep(testkit.PollInterval)
	}
}

// exchange sends m to addr over network ("udp" or "tcp") and returns the
// reply. A truncated UDP reply is returned, not an error.
func exchange(t *testing.T, addr, network string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: queryTimeout}
	r, _, err := c.Exchange(m, addr)
	if err != nil && !(r != nil && r.Truncated) {
		t.Fatalf("%s %s %s to %s: %v", network, m.Question[0].Name, dns.TypeToString[m.Question[0].Qtype], addr, err)
	}
	return r
}

// query asks addr for name and type over network, without EDNS.
func query(t *testing.T, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	return exchange(t, addr, network, m)
}

// httpGet polls url until it answers (the HTTP listeners of health, ready
// and prometheus may open after the DNS port), and returns the status and
// body. The client never uses a proxy.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{
		Timeout:   queryTimeout,
		Transport: &http.Transport{Proxy: nil},
	}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body := new(bytes.Buffer)
			_, err = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if err == nil {
				return resp.StatusCode, body.String()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(testkit.PollInterval)
	}
}

// runClient runs a DNS client binary (dig, nslookup) found on PATH and
// returns its stdout. A missing binary fails the test: CI installs them.
func runClient(t *testing.T, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (Debian package bind9-dnsutils): %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// upstreamA is the address upstreamHealthyCorefile answers for names in
// example.org.
const upstreamA = "192.0.2.10"

// startUpstream starts a second clusterdns as the upstream of forwarding
// tests and returns its address.
func startUpstream(t *testing.T) string {
	t.Helper()
	return startServer(t, fmt.Sprintf(upstreamHealthyCorefile, testkit.FreePort(t))).Addr
}
