package differential

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// stockBinary is stock CoreDNS v1.15.0 with every plugin, as `make test`
// builds it ($(STOCK_COREDNS), exported as CLUSTERDNS_COREDNS). Missing, the
// test fails: without it nothing is compared.
func stockBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CLUSTERDNS_COREDNS")
	if path == "" {
		dir, err := testkit.BinDir()
		if err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(dir, "coredns")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stock CoreDNS: %v (`make test` builds it; or set CLUSTERDNS_COREDNS)", err)
	}
	return path
}

// dnsServer is a running CoreDNS build, stock or ours.
type dnsServer struct {
	name string // "stock" or "clusterdns"
	addr string // 127.0.0.1:port
	*testkit.Process
}

// startDNS runs bin on corefile and waits for its listen line. Whether it
// has synced with the API server is the caller's to wait for.
func startDNS(t *testing.T, name, bin, corefile string, port int) *dnsServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Corefile")
	if err := os.WriteFile(path, []byte(corefile), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-conf", path)
	// Nothing of the test's environment may point either server elsewhere:
	// both read the test bed's kubeconfig named in the Corefile.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	p, err := testkit.Start(name, cmd)
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{name: name, addr: testkit.Loopback(port), Process: p}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("%s (Corefile %s):\n%s\nlog:\n%s", name, path, corefile, s.Log().Tail(60))
		}
	})
	listening := fmt.Sprintf(":%d on ", port)
	if err := s.Await(testkit.StartTimeout, testkit.PollInterval, func() bool {
		return strings.Contains(s.Log().String(), listening)
	}); err != nil {
		t.Fatalf("%v; log:\n%s", err, s.Log().Tail(30))
	}
	return s
}

// upstream is the outside world of the test: a DNS server on loopback that
// the Corefiles forward to. It answers www.example.test and every name the
// fallthrough mode hands on, fails servfail.example.test, and has nothing
// else.
func startUpstream(t *testing.T) string {
	t.Helper()
	addr := testkit.Loopback(testkit.FreePort(t))
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(upstreamAnswer)
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	for _, s := range []*dns.Server{udp, tcp} {
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	return addr
}

func upstreamAnswer(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	switch {
	case name == "servfail."+upstreamZone:
		m.Rcode = dns.RcodeServerFailure
	case name == "nx."+upstreamZone:
		m.Rcode = dns.RcodeNameError
	default:
		// Every other name exists with an A, an AAAA and a TXT: the
		// answers are what the next plugin after a fallthrough gives.
		var rr dns.RR
		switch q.Qtype {
		case dns.TypeA:
			rr, _ = dns.NewRR(q.Name + " 60 IN A 192.0.2.53")
		case dns.TypeAAAA:
			rr, _ = dns.NewRR(q.Name + " 60 IN AAAA 2001:db8::53")
		case dns.TypeTXT:
			rr, _ = dns.NewRR(q.Name + ` 60 IN TXT "upstream"`)
		}
		if rr != nil {
			m.Answer = append(m.Answer, rr)
		} else {
			soa, _ := dns.NewRR(upstreamZone + " 60 IN SOA ns." + upstreamZone + " hostmaster." + upstreamZone + " 1 60 60 60 60")
			m.Ns = append(m.Ns, soa)
		}
	}
	w.WriteMsg(m)
}

// binaries are the two servers compared, started on the same Corefile but for
// the directive's name.
type binaries struct {
	stock, ours string
}

// pair starts stock and clusterdns on corefile (written with the directive
// `kubernetes`; ours gets `clusterdns`, and `@kubernetes` references become
// `@clusterdns`) and waits until both have synced: each answers probe as
// the cluster says it should.
func (b binaries) pair(t *testing.T, corefile string, probe func(s *dnsServer) error) (stock, ours *dnsServer) {
	t.Helper()
	sp, op := testkit.FreePort(t), testkit.FreePort(t)
	stock = startDNS(t, "stock", b.stock, strings.ReplaceAll(corefile, "PORT", strconv.Itoa(sp)), sp)
	ours = startDNS(t, "clusterdns", b.ours, oursCorefile(strings.ReplaceAll(corefile, "PORT", strconv.Itoa(op))), op)
	deadline := time.Now().Add(60 * time.Second)
	for _, s := range []*dnsServer{stock, ours} {
		for {
			err := probe(s)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not synced: %v", s.name, err)
			}
			if done, status := s.Exited(); done {
				t.Fatalf("%s exited (%v)", s.name, status)
			}
			time.Sleep(testkit.PollInterval)
		}
	}
	return stock, ours
}

// oursCorefile is stock's Corefile for clusterdns: the directive renamed,
// nothing else.
func oursCorefile(stock string) string {
	lines := strings.Split(stock, "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "kubernetes" {
			lines[i] = strings.Replace(l, "kubernetes", "clusterdns", 1)
		}
		lines[i] = strings.ReplaceAll(lines[i], "@kubernetes", "@clusterdns")
	}
	return strings.Join(lines, "\n")
}
