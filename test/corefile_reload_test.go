package test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/testkit"

	"github.com/miekg/dns"
)

// reloadCorefile is the Corefile the reload tests edit: the demo cluster's
// manifest served on port, the reload plugin checking every 2 s, and
// clusterdns with TTL ttl and the option lines given.
func reloadCorefile(t *testing.T, port int, ttl string, options ...string) string {
	t.Helper()
	return fmt.Sprintf(`cluster.local:%d {
    bind 127.0.0.1
    errors
    reload 2s 1s
    clusterdns {
        source file %s
        ttl %s
        %s
    }
}
`, port, testkit.RepoPath(t, "corefiles/demo-cluster.yaml"), ttl, strings.Join(options, "\n        "))
}

// TestCorefileReload changes a running server's Corefile as an edit of its
// ConfigMap does: a good change is picked up by the reload plugin while
// queries keep being answered, and a bad one is refused, the old
// configuration serving on and the log saying why.
func TestCorefileReload(t *testing.T) {
	t.Parallel()
	port := testkit.FreePort(t)
	corefile := func(ttl string, options ...string) string { return reloadCorefile(t, port, ttl, options...) }
	s := startServer(t, corefile("10"))
	const name = "web.prod.svc.cluster.local."
	ttlNow := func() uint32 {
		r := query(t, s.Addr, "udp", name, dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("%s: %s %v", name, dns.RcodeToString[r.Rcode], r.Answer)
		}
		return r.Answer[0].Header().Ttl
	}
	if got := ttlNow(); got != 10 {
		t.Fatalf("TTL %d, want 10", got)
	}

	// Queries run all along; none may fail or go unanswered.
	var (
		sent, failed atomic.Int64
		stop         = make(chan struct{})
		wg           sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		m := new(dns.Msg).SetQuestion(name, dns.TypeA)
		for {
			select {
			case <-stop:
				return
			default:
			}
			sent.Add(1)
			if r, _, err := c.Exchange(m, s.Addr); err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
				failed.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	if err := os.WriteFile(s.Corefile, []byte(corefile("20")), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for ttlNow() != 20 {
		if time.Now().After(deadline) {
			t.Fatal("the changed Corefile was never loaded")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A typo: the running server keeps its configuration and says why.
	offset := len(s.Log())
	if err := os.WriteFile(s.Corefile, []byte(corefile("30", "podz verified")), 0o644); err != nil {
		t.Fatal(err)
	}
	// The error names the file and line of the typo.
	s.waitLog(t, offset, 20*time.Second, `Corefile:8 - Error during parsing: unknown property "podz"`)
	if got := ttlNow(); got != 20 {
		t.Errorf("after a bad Corefile the TTL is %d, want the old configuration's 20", got)
	}

	// autopath naming a plugin the block does not have: stock would load
	// it and walk nothing; it is refused the same way, at its line.
	offset = len(s.Log())
	typo := strings.Replace(corefile("30", ""), "    clusterdns {", "    autopath @kubernets\n    clusterdns {", 1)
	if err := os.WriteFile(s.Corefile, []byte(typo), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, offset, 20*time.Second, `Corefile:5 - Error during parsing: autopath @kubernets: this server block has no plugin "kubernets"`)
	if got := ttlNow(); got != 20 {
		t.Errorf("after an autopath typo the TTL is %d, want the old configuration's 20", got)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d queries during two reloads, %d failed", sent.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d queries failed during the reloads", failed.Load(), sent.Load())
	}
}
