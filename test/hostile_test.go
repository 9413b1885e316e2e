package test

import (
	be "encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/testkit"

	"github.com/miekg/dns"
)

// TestHostileQueries sends the demo server malformed and unusual packets
// over UDP, each answered with the right error rcode (or, for what cannot
// be a DNS message, dropped), and checks after each that the server still
// answers a cluster name: never a crash, never a hang.
func TestHostileQueries(t *testing.T) {
	t.Parallel()
	s, l := startDemo(t, "")
	addr := testkit.Loopback(l.DNS)

	query := func(name string, qtype, class uint16) *dns.Msg {
		m := new(dns.Msg)
		m.Id = dns.Id()
		m.RecursionDesired = true
		m.Question = []dns.Question{{Name: name, Qtype: qtype, Qclass: class}}
		return m
	}
	pack := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withEDNS := func(m *dns.Msg, version uint8, size uint16, opts ...dns.EDNS0) *dns.Msg {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		o.SetUDPSize(size)
		o.SetVersion(version)
		o.Option = opts
		m.Extra = append(m.Extra, o)
		return m
	}
	web := "web.prod.svc.cluster.local."
	// header builds a raw header with the given opcode and counts.
	header := func(opcode int, qd, an, ns, ar uint16) []byte {
		h := make([]byte, 12)
		be.BigEndian.PutUint16(h[0:], 0x4242)
		be.BigEndian.PutUint16(h[2:], uint16(opcode)<<11|1<<8) // RD
		be.BigEndian.PutUint16(h[4:], qd)
		be.BigEndian.PutUint16(h[6:], an)
		be.BigEndian.PutUint16(h[8:], ns)
		be.BigEndian.PutUint16(h[10:], ar)
		return h
	}
	question := pack(query(web, dns.TypeA, dns.ClassINET))[12:]
	longName := make([]byte, 0, 400) // 6 labels of 60 octets: 366 octets, over 255
	for range 6 {
		longName = append(longName, 60)
		for range 60 {
			longName = append(longName, 'a')
		}
	}
	longName = append(longName, 0, 0, 1, 0, 1)

	tests := []struct {
		name   string
		packet []byte
		// rcode is the expected (extended) rcode; -1 means no reply.
		rcode int
	}{
		{"shorter than a header", []byte{0x42, 0x42, 1, 0, 0}, -1},
		// miekg/dns takes a question count larger than the message as a
		// lie and parses no question; CoreDNS's server answers a message
		// without a question SERVFAIL (before any plugin runs; stock too).
		{"header claims a question it lacks", header(dns.OpcodeQuery, 1, 0, 0, 0), dns.RcodeServerFailure},
		{"no question", header(dns.OpcodeQuery, 0, 0, 0, 0), dns.RcodeFormatError},
		{"two questions", append(append(header(dns.OpcodeQuery, 2, 0, 0, 0), question...), question...), dns.RcodeFormatError},
		{"question cut short", append(header(dns.OpcodeQuery, 1, 0, 0, 0), question[:len(question)-3]...), dns.RcodeFormatError},
		{"name over 255 octets", append(header(dns.OpcodeQuery, 1, 0, 0, 0), longName...), dns.RcodeFormatError},
		{"label over 63 octets", append(header(dns.OpcodeQuery, 1, 0, 0, 0), append([]byte{64}, append(make([]byte, 64), 0, 0, 1, 0, 1)...)...), dns.RcodeFormatError},
		{"compression pointer loop", append(header(dns.OpcodeQuery, 1, 0, 0, 0), 0xc0, 12, 0, 1, 0, 1), dns.RcodeFormatError},
		{"opcode UPDATE", append(header(dns.OpcodeUpdate, 1, 0, 0, 0), question...), dns.RcodeNotImplemented},
		{"opcode STATUS", append(header(dns.OpcodeStatus, 1, 0, 0, 0), question...), dns.RcodeNotImplemented},
		{"unknown class", pack(query(web, dns.TypeA, 42)), dns.RcodeRefused},
		{"EDNS version 1", pack(withEDNS(query(web, dns.TypeA, dns.ClassINET), 1, 1232)), dns.RcodeBadVers},
		{"EDNS buffer 65535", pack(withEDNS(query(web, dns.TypeA, dns.ClassINET), 0, 65535)), dns.RcodeSuccess},
		{"EDNS buffer below 512", pack(withEDNS(query(web, dns.TypeA, dns.ClassINET), 0, 100)), dns.RcodeSuccess},
		{"EDNS client cookie", pack(withEDNS(query(web, dns.TypeA, dns.ClassINET), 0, 1232, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})), dns.RcodeSuccess},
		{"EDNS unknown option", pack(withEDNS(query(web, dns.TypeA, dns.ClassINET), 0, 1232, &dns.EDNS0_LOCAL{Code: 65001, Data: []byte("x")})), dns.RcodeSuccess},
		{"two OPT records", pack(withEDNS(withEDNS(query(web, dns.TypeA, dns.ClassINET), 0, 1232), 0, 1232)), dns.RcodeFormatError},
		{"0x20 case mix", pack(query("wEb.PRoD.SvC.ClUsTeR.LoCaL.", dns.TypeA, dns.ClassINET)), dns.RcodeSuccess},
		{"type ANY", pack(query(web, dns.TypeANY, dns.ClassINET)), dns.RcodeSuccess},
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := conn.Write(tt.packet); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 65535)
			conn.SetReadDeadline(time.Now().Add(time.Second))
			n, err := conn.Read(buf)
			switch {
			case tt.rcode < 0 && err == nil:
				t.Errorf("got a %d-byte reply, want none", n)
			case tt.rcode >= 0 && err != nil:
				t.Errorf("no reply: %v", err)
			case tt.rcode >= 0:
				r := new(dns.Msg)
				if err := r.Unpack(buf[:n]); err != nil {
					// A FORMERR reply to what does not parse may echo the
					// broken counts: read its header by hand.
					if n < 12 {
						t.Fatalf("reply does not unpack: %v", err)
					}
					r.Id, r.Rcode = be.BigEndian.Uint16(buf), int(buf[3]&0xf)
				}
				rcode := r.Rcode
				if opt := r.IsEdns0(); opt != nil {
					rcode = int(opt.ExtendedRcode()) | r.Rcode&0xf
				}
				if rcode != tt.rcode {
					t.Errorf("rcode %s, want %s\n%v", dns.RcodeToString[rcode], dns.RcodeToString[tt.rcode], r)
				}
				if r.Id != be.BigEndian.Uint16(tt.packet) {
					t.Errorf("reply id %#x, query id %#x", r.Id, be.BigEndian.Uint16(tt.packet))
				}
			}
			// Whatever came before, the next query is answered.
			if a := exchange(t, addr, "udp", new(dns.Msg).SetQuestion(web, dns.TypeA)); a.Rcode != dns.RcodeSuccess || len(a.Answer) != 1 {
				t.Fatalf("after %s: the server answers %v", tt.name, a)
			}
		})
	}
	if log := s.Log(); strings.Contains(strings.ToLower(log), "panic") {
		t.Fatalf("the server logged a panic:\n%s", log)
	}
}
