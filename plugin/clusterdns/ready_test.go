package clusterdns

import (
	"net"
	"sync/atomic"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/miekg/dns"
)

// Ready waits for the server's own port to answer, then latches: one probe
// per /ready until the first answer, none after.
func TestReadySelfProbe(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	cd := newTestPlugin(t, true)
	cd.selfProbe = addr

	// Bound but not answering (a listener not yet serving): not ready.
	if cd.Ready() {
		t.Fatal("ready while the server's port does not answer")
	}

	var probes atomic.Int32
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		probes.Add(1)
		if r.Question[0].Qtype != dns.TypeSOA || r.Question[0].Name != cd.Zones[0] {
			t.Errorf("probe asked %v, want SOA %s", r.Question[0], cd.Zones[0])
		}
		w.WriteMsg(new(dns.Msg).SetRcode(r, dns.RcodeRefused)) // any answer will do
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()

	if !cd.Ready() {
		t.Fatal("not ready once the port answers")
	}
	before := probes.Load()
	for range 3 {
		if !cd.Ready() {
			t.Fatal("readiness not latched")
		}
	}
	if probes.Load() != before {
		t.Errorf("%d more probes after the first answer, want none", probes.Load()-before)
	}
}

func TestSelfProbeAddr(t *testing.T) {
	for _, tt := range []struct {
		transport, port string
		hosts           []string
		want            string
	}{
		{"dns", "53", nil, "127.0.0.1:53"},
		{"dns", "1053", []string{"10.0.0.5"}, "10.0.0.5:1053"},
		{"dns", "53", []string{"::"}, "[::1]:53"},
		{"dns", "53", []string{"0.0.0.0"}, "127.0.0.1:53"},
		{"dns", "53", []string{"fe80::1%eth0"}, "[fe80::1%eth0]:53"},
		{"tls", "853", nil, ""},
		{"https", "443", nil, ""},
	} {
		conf := &dnsserver.Config{Transport: tt.transport, Port: tt.port, ListenHosts: tt.hosts}
		if got := selfProbeAddr(conf); got != tt.want {
			t.Errorf("selfProbeAddr(%s %v :%s) = %q, want %q", tt.transport, tt.hosts, tt.port, got, tt.want)
		}
	}
}
