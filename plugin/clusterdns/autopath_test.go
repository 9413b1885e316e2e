package clusterdns

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/coredns/coredns/plugin/autopath"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// newAutoPathPlugin serves the test cluster with pods verified (pod
// prod/web-a is 10.244.1.7) and the server search domain example.org.
func newAutoPathPlugin(t *testing.T, pods resolver.PodMode) *ClusterDNS {
	t.Helper()
	cd := newTestPlugin(t, true)
	cd.cfg.Pods = pods
	cd.cfg.autoPath = newAutoPathWalks(cd.Zones, []string{"example.org."})
	cd.index = indextest.Index(index.Options{Pods: pods == resolver.PodsVerified})
	return cd
}

func TestAutoPath(t *testing.T) {
	var _ autopath.AutoPather = (*ClusterDNS)(nil)
	var _ autopath.AutoPather = (*stockAlias)(nil)
	stock := []string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", "example.org.", ""}
	for _, tc := range []struct {
		name   string
		pods   resolver.PodMode
		client string
		qname  string
		want   []string
	}{
		{name: "pod of prod", pods: resolver.PodsVerified, client: "10.244.1.7", qname: "web.staging.prod.svc.cluster.local.", want: stock},
		{name: "any name in the zone", pods: resolver.PodsVerified, client: "10.244.1.7", qname: "Example.Com.Cluster.Local.", want: stock},
		{name: "IPv6 pod", pods: resolver.PodsVerified, client: "fd00:244::5", qname: "a.cluster.local.", want: stock},
		{name: "client that is no pod", pods: resolver.PodsVerified, client: "10.240.0.1", qname: "web.prod.svc.cluster.local."},
		{name: "name outside the zones", pods: resolver.PodsVerified, client: "10.244.1.7", qname: "example.com."},
		{name: "pods insecure", pods: resolver.PodsInsecure, client: "10.244.1.7", qname: "web.prod.svc.cluster.local."},
		{name: "pods disabled", pods: resolver.PodsDisabled, client: "10.244.1.7", qname: "web.prod.svc.cluster.local."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cd := newAutoPathPlugin(t, tc.pods)
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, dns.TypeA)
			state := request.Request{W: &test.ResponseWriter{RemoteIP: tc.client}, Req: m}
			if got := cd.AutoPath(state); !slices.Equal(got, tc.want) {
				t.Errorf("AutoPath = %q, want %q", got, tc.want)
			}
			alias := &stockAlias{cd: cd}
			if got := alias.AutoPath(state); !slices.Equal(got, tc.want) {
				t.Errorf("AutoPath under the stock name = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAutoPathAllocs: the autopath plugin asks AutoPath on every query in
// its zones; for a pod it builds the pod's first name and the list, and
// nothing more (not svc.<zone>, nor a lower-case copy of the name).
func TestAutoPathAllocs(t *testing.T) {
	cd := newAutoPathPlugin(t, resolver.PodsVerified)
	w := &remoteWriter{ResponseWriter: &test.ResponseWriter{}, remote: &net.UDPAddr{IP: net.IPv4(10, 244, 1, 7), Port: 40000}}
	state := request.Request{W: w, Req: new(dns.Msg).SetQuestion("Web.Prod.Svc.Cluster.Local.", dns.TypeA)}
	if got := cd.AutoPath(state); len(got) == 0 {
		t.Fatal("no search list for the pod")
	}
	if n := testing.AllocsPerRun(100, func() { cd.AutoPath(state) }); n != 2 {
		t.Errorf("AutoPath allocates %v times per query, want 2", n)
	}
}

func TestAutoPathNotSynced(t *testing.T) {
	cd := newAutoPathPlugin(t, resolver.PodsVerified)
	cd.index = index.New(index.Options{Pods: true})
	m := new(dns.Msg)
	m.SetQuestion("web.prod.svc.cluster.local.", dns.TypeA)
	if got := cd.AutoPath(request.Request{W: &test.ResponseWriter{RemoteIP: "10.244.1.7"}, Req: m}); got != nil {
		t.Errorf("AutoPath before the first sync = %q, want nil", got)
	}
}

func TestAutopathWalks(t *testing.T) {
	cd := newAutoPathPlugin(t, resolver.PodsVerified)
	view := cd.index.View()
	for _, tc := range []struct {
		name      string
		inChain   bool
		client    string
		qname     string
		wantWalks bool
	}{
		{name: "pod's own namespace", inChain: true, client: "10.244.1.7", qname: "web.Staging.Prod.Svc.Cluster.Local.", wantWalks: true},
		{name: "no autopath in the server block", client: "10.244.1.7", qname: "web.staging.prod.svc.cluster.local."},
		{name: "another namespace than the pod's", inChain: true, client: "10.244.1.7", qname: "web.prod.staging.svc.cluster.local."},
		{name: "client that is no pod", inChain: true, client: "10.240.0.1", qname: "web.staging.prod.svc.cluster.local."},
		{name: "the namespace's own name", inChain: true, client: "10.244.1.7", qname: "prod.svc.cluster.local."},
		{name: "a namespace ending in the pod's", inChain: true, client: "10.244.1.7", qname: "web.preprod.svc.cluster.local."},
		{name: "another zone", inChain: true, client: "10.244.1.7", qname: "web.prod.svc.example.org."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cd.autopathInChain = tc.inChain
			if got := cd.autopathWalks(view, netip.MustParseAddr(tc.client), tc.qname, "cluster.local."); got != tc.wantWalks {
				t.Errorf("autopathWalks = %v, want %v", got, tc.wantWalks)
			}
			// Asked of every NXDOMAIN first step: it builds no string.
			if n := testing.AllocsPerRun(100, func() { cd.autopathWalks(view, netip.MustParseAddr(tc.client), tc.qname, "cluster.local.") }); n != 0 {
				t.Errorf("autopathWalks allocates %v times", n)
			}
		})
	}
}

// TestSearchPathLeavesSharedAddressToAutopath: an address that pods of two
// namespaces claim is no pod's to visibility (View.ClientAt) but the first
// pod's to AutoPath (View.PodAt), and search_path must step aside where
// AutoPath's list makes the autopath plugin walk, so autopathWalks finds
// the pod as AutoPath does, not as visibility does. (Sharing one lookup of
// the client between them would lose this.) Without autopath in the chain
// the same question from the same client is completed: nonpod all lets the
// non-pod client see prod.
func TestSearchPathLeavesSharedAddressToAutopath(t *testing.T) {
	const qname = "web.staging.prod.svc.cluster.local."
	prodList := []string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", "example.internal.", ""}
	for _, tc := range []struct {
		name     string
		shared   bool // staging/intruder claims prod/web-a's address too
		inChain  bool
		wantList []string
		wantWalk bool // search_path answers with a CNAME
	}{
		{name: "pod, autopath in the chain", inChain: true, wantList: prodList},
		{name: "shared address, autopath in the chain", shared: true, inChain: true, wantList: prodList},
		{name: "shared address, no autopath", shared: true, wantList: prodList, wantWalk: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSearchServer(t, "", "")
			cd := s.cd
			cd.cfg.Pods = resolver.PodsVerified
			cd.cfg.index = index.Options{Pods: true, Visibility: &index.Visibility{NonPodAll: true}}
			cd.cfg.autoPath = newAutoPathWalks(cd.Zones, []string{"example.internal."})
			cd.autopathInChain = tc.inChain
			cd.index = indextest.Index(cd.cfg.index)
			cd.resolver = resolver.New(cd.cfg.Config)
			if tc.shared {
				cd.index.Apply(index.Change{Kind: object.KindPod, Namespace: "staging", Name: "intruder",
					Object: &object.Pod{Meta: object.Meta{Name: "intruder", Namespace: "staging"}, IPs: indextest.Addrs("10.244.1.7")}})
			}
			m := new(dns.Msg).SetQuestion(qname, dns.TypeA)
			if got := cd.AutoPath(request.Request{W: &test.ResponseWriter{RemoteIP: "10.244.1.7"}, Req: m}); !slices.Equal(got, tc.wantList) {
				t.Errorf("AutoPath = %q, want %q", got, tc.wantList)
			}
			r := s.ask(t, m, "10.244.1.7")
			walked := r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 && r.Answer[0].Header().Rrtype == dns.TypeCNAME
			if walked != tc.wantWalk || !walked && r.Rcode != dns.RcodeNameError {
				t.Errorf("got %s with %v; want search_path's CNAME %v, else NXDOMAIN", dns.RcodeToString[r.Rcode], r.Answer, tc.wantWalk)
			}
		})
	}
}
