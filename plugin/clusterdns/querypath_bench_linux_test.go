package clusterdns

import (
	"context"
	"net"
	"testing"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// BenchmarkQueryPathAllOn is what clusterdns does for one query with every
// option that reads the client on (pods verified, visibility, search_path,
// autopath in the chain, the metadata plugin), at 10k services and 150k
// pods: Metadata, then AutoPath (the autopath plugin asks it of every
// query in its zones), then ServeDNS, as the server calls them.
func BenchmarkQueryPathAllOn(b *testing.B) {
	cd := New([]string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."})
	cd.cfg.Pods = resolver.PodsVerified
	cd.cfg.index = index.Options{Pods: true, Visibility: &index.Visibility{}}
	c := newController("clusterdns {\n search_path {\n resolv_conf " + writeResolvConf(b, "search example.internal\n") + "\n }\n}")
	parsed, err := parse(c)
	if err != nil {
		b.Fatal(err)
	}
	cd.cfg.search = parsed.cfg.search
	cd.cfg.autoPath = newAutoPathWalks(cd.Zones, []string{"example.internal."})
	cd.autopathInChain = true
	cd.index = index.New(cd.cfg.index)
	cd.index.Replace(scaleChanges())
	cd.resolver = resolver.New(cd.cfg.Config)
	cd.Next = test.NextHandler(nextRcode, nil)

	pod := &fixedAddrWriter{addr: (&test.ResponseWriter{}).RemoteAddr()} // ns-42's client pod
	nonPod := &fixedAddrWriter{addr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}}
	for _, bc := range []struct {
		name  string
		w     dns.ResponseWriter
		qname string
		rcode int
	}{
		{name: "pod, own A", w: pod, qname: "svc-55.ns-42.svc.cluster.local.", rcode: dns.RcodeSuccess},
		// The first step of a walk autopath takes: search_path steps aside.
		{name: "pod, first step", w: pod, qname: "www.example.ns-42.svc.cluster.local.", rcode: dns.RcodeNameError},
		{name: "non-pod, exported A", w: nonPod, qname: "svc-55.ns-30.svc.cluster.local.", rcode: dns.RcodeNameError},
	} {
		m := new(dns.Msg).SetQuestion(bc.qname, dns.TypeA)
		state := request.Request{W: bc.w, Req: m}
		query := func(w dns.ResponseWriter) {
			ctx := cd.Metadata(metadata.ContextWithMetadata(context.Background()), state)
			cd.AutoPath(state)
			cd.ServeDNS(ctx, w, m)
		}
		rec := dnstest.NewRecorder(bc.w)
		query(rec)
		if rec.Msg == nil || rec.Msg.Rcode != bc.rcode {
			b.Fatalf("%s: reply %v, want rcode %s", bc.name, rec.Msg, dns.RcodeToString[bc.rcode])
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				query(bc.w)
			}
		})
	}
}
