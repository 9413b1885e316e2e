package clusterdns_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/build/buildtest"
)

// startServer starts a server from a Corefile string, as the binary builds
// it.
var startServer = buildtest.StartServer

// transferCorefile serves the manifests file path in cluster.local and
// in-addr.arpa with zone transfers to the hosts in to.
func transferCorefile(path, to string) string {
	return `cluster.local:0 in-addr.arpa:0 {
    bind 127.0.0.1
    clusterdns {
        source file ` + path + `
    }
    transfer {
        to ` + to + `
    }
}`
}

// manifests writes a cluster of n ClusterIP services web-0...web-<n-1> in
// namespace prod (10.96.x.y, a port http/80/tcp) to path.
func manifests(t testing.TB, path string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n")
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web-%d\n  namespace: prod\nspec:\n  clusterIP: 10.96.%d.%d\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n", i, i>>8, i&255)
	}
	// Write and rename, so the source never reads half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// axfr transfers zone from addr over TCP and returns its messages.
func axfr(t testing.TB, addr, zone string, ixfrSerial uint32) [][]dns.RR {
	t.Helper()
	m := new(dns.Msg)
	if ixfrSerial != 0 {
		m.SetIxfr(zone, ixfrSerial, "ns.dns."+zone, "hostmaster."+zone)
	} else {
		m.SetAxfr(zone)
	}
	tr := &dns.Transfer{ReadTimeout: 10 * time.Second}
	envs, err := tr.In(m, addr)
	if err != nil {
		t.Fatalf("transfer %s: %v", zone, err)
	}
	var msgs [][]dns.RR
	for e := range envs {
		if e.Error != nil {
			t.Fatalf("transfer %s: %v", zone, e.Error)
		}
		msgs = append(msgs, e.RR)
	}
	return msgs
}

func flatten(msgs [][]dns.RR) []dns.RR {
	var out []dns.RR
	for _, m := range msgs {
		out = append(out, m...)
	}
	return out
}

func serialOf(t *testing.T, rrs []dns.RR) uint32 {
	t.Helper()
	if len(rrs) == 0 {
		t.Fatal("empty transfer")
	}
	soa, ok := rrs[0].(*dns.SOA)
	if !ok {
		t.Fatalf("transfer starts with %v, want the SOA", rrs[0])
	}
	return soa.Serial
}

func TestTransferFromCorefile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	// 2000 services, about 200 KB: more than one 64 KiB message.
	const n = 2000
	manifests(t, path, n)
	addr, _ := startServer(t, transferCorefile(path, "*"))

	msgs := axfr(t, addr, "cluster.local.", 0)
	rrs := flatten(msgs)
	serial := serialOf(t, rrs)
	// SOA, NS, its glue (the server's own address: it binds 127.0.0.1),
	// then per service its A, its SRV and its named port's SRV, then SOA.
	want := []string{
		fmt.Sprintf("cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. %d 7200 1800 86400 5", serial),
		"cluster.local.\t5\tIN\tNS\tns.dns.cluster.local.",
		"ns.dns.cluster.local.\t5\tIN\tA\t127.0.0.1",
		"web-0.prod.svc.cluster.local.\t5\tIN\tA\t10.96.0.0",
		"web-0.prod.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 web-0.prod.svc.cluster.local.",
		"_http._tcp.web-0.prod.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 web-0.prod.svc.cluster.local.",
		"web-1.prod.svc.cluster.local.\t5\tIN\tA\t10.96.0.1",
	}
	for i, w := range want {
		if got := rrs[i].String(); got != w {
			t.Errorf("record %d = %s, want %s", i, got, w)
		}
	}
	if len(rrs) != 3+3*n+1 {
		t.Errorf("%d records, want %d", len(rrs), 3+3*n+1)
	}
	if last := rrs[len(rrs)-1].String(); last != want[0] {
		t.Errorf("last record %s, want the SOA", last)
	}
	if len(msgs) < 2 {
		t.Errorf("the zone came in %d message(s), want it streamed in several", len(msgs))
	}

	t.Run("same serial while nothing changes", func(t *testing.T) {
		if again := serialOf(t, flatten(axfr(t, addr, "cluster.local.", 0))); again != serial {
			t.Fatalf("serial %d, then %d without a change", serial, again)
		}
	})
	t.Run("IXFR up to date", func(t *testing.T) {
		got := flatten(axfr(t, addr, "cluster.local.", serial))
		if len(got) != 1 || serialOf(t, got) != serial {
			t.Fatalf("IXFR at the current serial = %v, want the SOA alone", got)
		}
	})
	t.Run("IXFR falls back to AXFR", func(t *testing.T) {
		if got := flatten(axfr(t, addr, "cluster.local.", serial-1)); len(got) != len(rrs) {
			t.Fatalf("IXFR from an older serial: %d records, want the whole zone's %d", len(got), len(rrs))
		}
	})
	for _, tc := range []struct{ name, zone string }{
		{"reverse zone", "in-addr.arpa."},
		{"name below the zone", "web-0.prod.svc.cluster.local."},
	} {
		t.Run(tc.name+" refused", func(t *testing.T) {
			m := new(dns.Msg)
			m.SetAxfr(tc.zone)
			c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
			r, _, err := c.Exchange(m, addr)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rcode != dns.RcodeRefused {
				t.Fatalf("AXFR %s: rcode %s, want REFUSED", tc.zone, dns.RcodeToString[r.Rcode])
			}
		})
	}
}

func TestTransferRefusedWithoutTransferPlugin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	manifests(t, path, 1)
	tcp, udp := startServer(t, `cluster.local:0 {
    bind 127.0.0.1
    clusterdns {
        source file `+path+`
    }
}`)
	for _, qtype := range []uint16{dns.TypeAXFR, dns.TypeIXFR} {
		for proto, addr := range map[string]string{"tcp": tcp, "udp": udp} {
			m := new(dns.Msg)
			m.SetAxfr("cluster.local.")
			if qtype == dns.TypeIXFR {
				m.SetIxfr("cluster.local.", 1, "ns.dns.cluster.local.", "hostmaster.cluster.local.")
			}
			c := &dns.Client{Net: proto, Timeout: 5 * time.Second}
			r, _, err := c.Exchange(m, addr)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
				t.Errorf("%s over %s: rcode %s with %d answers, want REFUSED", dns.TypeToString[qtype], proto, dns.RcodeToString[r.Rcode], len(r.Answer))
			}
		}
	}
}

// notifyListener answers NOTIFY messages on a loopback UDP port and hands
// their zones to the test.
func notifyListener(t *testing.T) (string, <-chan string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	zones := make(chan string, 16)
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		if r.Opcode == dns.OpcodeNotify && len(r.Question) == 1 {
			select {
			case zones <- r.Question[0].Name:
			default:
			}
		}
		m := new(dns.Msg)
		m.SetReply(r)
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String(), zones
}

func waitNotify(t *testing.T, zones <-chan string, what string) {
	t.Helper()
	select {
	case z := <-zones:
		if z != "cluster.local." {
			t.Fatalf("NOTIFY for %s, want cluster.local.", z)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no NOTIFY %s", what)
	}
}

func TestNotifyWhenTheViewChanges(t *testing.T) {
	notifyAddr, notified := notifyListener(t)
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	manifests(t, path, 1)
	addr, _ := startServer(t, transferCorefile(path, "* "+notifyAddr))
	waitNotify(t, notified, "once the zone is served")
	before := serialOf(t, flatten(axfr(t, addr, "cluster.local.", 0)))

	manifests(t, path, 2)
	waitNotify(t, notified, "after a service was added")
	rrs := flatten(axfr(t, addr, "cluster.local.", 0))
	if after := serialOf(t, rrs); int32(after-before) <= 0 {
		t.Fatalf("serial %d after a change, was %d: want it to move forward", after, before)
	}
	found := false
	for _, rr := range rrs {
		found = found || rr.Header().Name == "web-1.prod.svc.cluster.local."
	}
	if !found {
		t.Fatal("the transfer after the NOTIFY lacks the new service")
	}
}

// BenchmarkAXFR transfers a zone of 10k ClusterIP Services from a server
// started from a Corefile, over TCP on loopback: the whole path, the
// transfer plugin and the client included.
func BenchmarkAXFR(b *testing.B) {
	path := filepath.Join(b.TempDir(), "cluster.yaml")
	manifests(b, path, 10000)
	addr, _ := startServer(b, transferCorefile(path, "*"))
	var records, bytes, msgs int
	for b.Loop() {
		got := axfr(b, addr, "cluster.local.", 0)
		records, bytes, msgs = 0, 0, len(got)
		for _, m := range got {
			records += len(m)
			for _, rr := range m {
				bytes += dns.Len(rr)
			}
		}
	}
	b.ReportMetric(float64(records), "records/op")
	b.ReportMetric(float64(bytes), "record-bytes/op")
	b.ReportMetric(float64(msgs), "messages/op")
}
