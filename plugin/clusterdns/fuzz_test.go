package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// FuzzServeDNS feeds arbitrary wire messages to the handler: it must never
// panic, and when it says it answered, the answer must pack.
func FuzzServeDNS(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"web.prod.svc.cluster.local.", dns.TypeA},
		{"_http._tcp.web.prod.svc.cluster.local.", dns.TypeSRV},
		{"search.prod.svc.cluster.local.", dns.TypeCNAME},
		{"7.1.244.10.in-addr.arpa.", dns.TypePTR},
		{"10-244-1-7.prod.pod.cluster.local.", dns.TypeANY},
		{"cluster.local.", dns.TypeNS},
	} {
		m := new(dns.Msg).SetQuestion(q.name, q.qtype)
		m.SetEdns0(4096, true)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	cd := newTestPlugin(f, true, "in-addr.arpa.")
	f.Fuzz(func(t *testing.T, wire []byte) {
		m := new(dns.Msg)
		if err := m.Unpack(wire); err != nil || len(m.Question) == 0 {
			return // the server answers FORMERR before any plugin runs
		}
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		rcode, _ := cd.ServeDNS(context.Background(), rec, m)
		if rcode != dns.RcodeSuccess || rec.Msg == nil {
			return
		}
		if _, err := rec.Msg.Pack(); err != nil {
			t.Fatalf("reply to %v does not pack: %v", m.Question, err)
		}
	})
}
