package resolver

import (
	"testing"

	"github.com/miekg/dns"
)

// BenchmarkTransfer walks the 10k-service zone and packs it into messages
// as the transfer plugin does (up to 63000 bytes of records each, not
// compressed), reporting what goes on the wire per AXFR.
func BenchmarkTransfer(b *testing.B) {
	snap := benchIndex(b)
	r := New(Config{Zones: zones, TTL: 5})
	req := new(dns.Msg)
	req.SetAxfr("cluster.local.")
	var records, bytes, msgs int
	b.ReportAllocs()
	for b.Loop() {
		records, bytes, msgs = 0, 0, 0
		var batch []dns.RR
		size := 0
		flush := func() {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Answer = batch
			wire, err := m.Pack()
			if err != nil {
				b.Fatal(err)
			}
			bytes += len(wire)
			msgs++
			batch, size = nil, 0
		}
		r.Transfer(snap, "cluster.local.", func(rrs []dns.RR) {
			for _, rr := range rrs {
				n := dns.Len(rr)
				if len(batch) > 0 && size+n > 63000 {
					flush()
				}
				batch = append(batch, rr)
				size += n
				records++
			}
		})
		flush()
	}
	b.ReportMetric(float64(records), "records/op")
	b.ReportMetric(float64(bytes), "wire-bytes/op")
	b.ReportMetric(float64(msgs), "messages/op")
}
