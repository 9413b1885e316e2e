package clusterdns

import (
	"errors"
	"testing"

	"github.com/coredns/coredns/plugin/transfer"
	"github.com/miekg/dns"
)

// TestTransferQueriesRefused checks what the handler does with AXFR and
// IXFR, which reach it only when the transfer plugin is absent or declined
// them: REFUSED in our zones, synced or not, as stock; passed on outside.
func TestTransferQueriesRefused(t *testing.T) {
	for _, synced := range []bool{true, false} {
		cd := newTestPlugin(t, synced)
		for _, tc := range []struct {
			qname string
			want  int
		}{
			{"cluster.local.", dns.RcodeRefused},
			{"Cluster.Local.", dns.RcodeRefused},
			{"web.prod.svc.cluster.local.", dns.RcodeRefused},
			{"in-addr.arpa.", dns.RcodeRefused},
			{"example.org.", nextRcode},
		} {
			for _, qtype := range []uint16{dns.TypeAXFR, dns.TypeIXFR} {
				m := new(dns.Msg)
				m.SetQuestion(tc.qname, qtype)
				rcode, reply, err := serve(t, cd, m)
				if err != nil || rcode != tc.want || (tc.want == dns.RcodeRefused && reply != nil) {
					t.Errorf("synced %v, %s %s: rcode %d, err %v, wrote %v; want rcode %d",
						synced, dns.TypeToString[qtype], tc.qname, rcode, err, reply, tc.want)
				}
			}
		}
	}
}

func TestTransferer(t *testing.T) {
	var _ transfer.Transferer = (*ClusterDNS)(nil)
	cd := newTestPlugin(t, false)
	if _, err := cd.Transfer("cluster.local.", 0); !errors.Is(err, errNotSynced) {
		t.Errorf("transfer before the first sync: %v, want %v (SERVFAIL, not an empty zone)", err, errNotSynced)
	}
	cd = newTestPlugin(t, true)
	for _, zone := range []string{"in-addr.arpa.", "ip6.arpa.", "svc.cluster.local.", "example.org."} {
		if _, err := cd.Transfer(zone, 0); !errors.Is(err, transfer.ErrNotAuthoritative) {
			t.Errorf("transfer of %s: %v, want %v", zone, err, transfer.ErrNotAuthoritative)
		}
	}
	serial := cd.index.View().Serial()
	for _, tc := range []struct {
		name   string
		serial uint32
		whole  bool
	}{
		{"AXFR", 0, true},
		{"IXFR from an older serial", serial - 1, true},
		{"IXFR up to date", serial, false},
		{"IXFR from a newer serial", serial + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := cd.Transfer("cluster.local.", tc.serial)
			if err != nil {
				t.Fatal(err)
			}
			var rrs []dns.RR
			for chunk := range ch {
				rrs = append(rrs, chunk...)
			}
			if soa, ok := rrs[0].(*dns.SOA); !ok || soa.Serial != serial {
				t.Fatalf("transfer starts with %v, want the SOA at serial %d", rrs[0], serial)
			}
			if whole := len(rrs) > 1; whole != tc.whole {
				t.Fatalf("%d records; want the whole zone: %v", len(rrs), tc.whole)
			}
		})
	}
}
