package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/ready"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/miekg/dns"
)

// TestStockAliasOffersOnlyLookups checks that the element named kubernetes
// is found by name only: what the server and the transfer, metadata and
// ready plugins find by scanning the chain is the plugin's alone.
func TestStockAliasOffersOnlyLookups(t *testing.T) {
	var alias plugin.Handler = &stockAlias{}
	if alias.Name() != "kubernetes" {
		t.Errorf("alias is named %q, want kubernetes (the name k8s_external and autopath @kubernetes ask for)", alias.Name())
	}
	if _, ok := alias.(transfer.Transferer); ok {
		t.Error("the alias is a Transferer: the transfer plugin would ask it too")
	}
	if _, ok := alias.(metadata.Provider); ok {
		t.Error("the alias is a metadata Provider: its keys would be set twice")
	}
	if _, ok := alias.(ready.Readiness); ok {
		t.Error("the alias reports readiness: ready would list it")
	}
}

func TestStockAliasPassesOn(t *testing.T) {
	alias := &stockAlias{cd: newTestPlugin(t, true), Next: test.NextHandler(dns.RcodeBadCookie, nil)}
	m := new(dns.Msg)
	m.SetQuestion("web.prod.svc.cluster.local.", dns.TypeA) // ours, but the plugin answers it before
	if rcode, err := alias.ServeDNS(context.Background(), dnstest.NewRecorder(&test.ResponseWriter{}), m); rcode != dns.RcodeBadCookie || err != nil {
		t.Errorf("alias ServeDNS = %d, %v; want the next plugin's %d", rcode, err, dns.RcodeBadCookie)
	}
}

// BenchmarkStockAlias measures what the alias costs a query the plugin
// passes on: one more call before the next plugin.
func BenchmarkStockAlias(b *testing.B) {
	next := test.NextHandler(dns.RcodeSuccess, nil)
	m := new(dns.Msg)
	m.SetQuestion("www.example.org.", dns.TypeA)
	w := &test.ResponseWriter{}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		h    plugin.Handler
	}{
		{"next directly", next},
		{"through the alias", &stockAlias{Next: next}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeDNS(ctx, w, m)
			}
		})
	}
}
