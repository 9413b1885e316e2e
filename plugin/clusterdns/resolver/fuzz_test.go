package resolver

import (
	"reflect"
	"testing"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
)

// FuzzResolve feeds arbitrary names and types to the name grammar: it must
// never panic, must answer every name in a zone with NOERROR or NXDOMAIN
// and an SOA when there is no answer, and Explain must give the same
// answer with a reason for it.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"web.prod.svc.cluster.local.", "_http._tcp.web.prod.svc.cluster.local.", "db-0.db.prod.svc.cluster.local.",
		"10-244-1-7.prod.pod.cluster.local.", "fd00-244--5.prod.pod.cluster.local.", "7.1.244.10.in-addr.arpa.",
		"0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.", "..svc.cluster.local.",
		"a..b.cluster.local.", "_._.x.y.svc.cluster.local.", "-.-.pod.cluster.local.", "\\046.svc.cluster.local.",
		"alias.prod.svc.cluster.local.", "loop-a.prod.svc.cluster.local.", "cluster.local.",
		"zone-a.pin._zone.db.prod.svc.cluster.local.", "x.y.prefer._zone.db.prod.svc.cluster.local.", `\\.pin._zone.db.prod.svc.cluster.local.`,
		"db-0.cluster-a.db.prod.svc.clusterset.local.", "_postgres._tcp.db.prod.svc.clusterset.local.",
		"cluster-a.db.prod.svc.clusterset.local.", "_x.y.db.prod.svc.clusterset.local.", "1.0.2.10.in-addr.arpa.",
	} {
		f.Add(s, uint16(dns.TypeA))
		f.Add(s, uint16(dns.TypeSRV))
	}
	f.Add(escapedName(), uint16(dns.TypeA))
	f.Add(`a\.cluster.local.`, uint16(dns.TypeA))
	r := New(Config{Zones: append(zones, "clusterset.local."), MulticlusterZones: []string{"clusterset.local."}, TTL: 5, Pods: PodsVerified, Zonal: true})
	snap := indextest.Index(index.Options{Pods: true, Zonal: true, Multicluster: true}).View()
	f.Fuzz(func(t *testing.T, name string, qtype uint16) {
		res, ok := r.Resolve(snap, index.Client{}, name, qtype)
		if !ok {
			return
		}
		if res.Rcode != dns.RcodeSuccess && res.Rcode != dns.RcodeNameError {
			t.Fatalf("%q %d: rcode %d", name, qtype, res.Rcode)
		}
		if len(res.Answer) == 0 && len(res.Ns) == 0 {
			t.Fatalf("%q %d: a negative answer without SOA", name, qtype)
		}
		var tr Trace
		if explained, _ := r.Explain(snap, index.Client{}, name, qtype, &tr); !reflect.DeepEqual(explained, res) || len(tr.Steps) == 0 {
			t.Fatalf("%q %d: Explain answers %v with %d steps, Resolve %v", name, qtype, explained, len(tr.Steps), res)
		}
		// Every record must pack: no invalid names or data.
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn("x."), qtype)
		m.Answer, m.Ns, m.Extra = res.Answer, res.Ns, res.Extra
		if _, ok := dns.IsDomainName(name); ok {
			if _, err := m.Pack(); err != nil {
				t.Fatalf("%q %d: answer does not pack: %v", name, qtype, err)
			}
		}
	})
}
