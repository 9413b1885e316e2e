package clusterdns

import (
	"context"
	"maps"
	"net"
	"testing"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// collectMetadata runs the plugin's Metadata as the metadata plugin does
// and returns every label it set with its value.
func collectMetadata(ctx context.Context, cd *ClusterDNS, state request.Request) map[string]string {
	ctx = metadata.ContextWithMetadata(ctx)
	ctx = cd.Metadata(ctx, state)
	got := map[string]string{}
	for _, l := range metadata.Labels(ctx) {
		got[l] = metadata.ValueFunc(ctx, l)()
	}
	return got
}

// nameLabels are the kubernetes/* labels stock publishes for a name it
// parses, then extra label and value pairs (the zone, the cluster).
func nameLabels(kind, namespace, service, endpoint, port, protocol string, extra ...string) map[string]string {
	m := map[string]string{metaKind: kind, metaNamespace: namespace, metaService: service,
		metaEndpoint: endpoint, metaPortName: port, metaProtocol: protocol}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// parseError is what a name in the zone that stock does not parse gets.
var parseError = map[string]string{metaParseError: "invalid query name"}

// checkNameMetadata checks the labels cd publishes for a client's
// question of qname and qtype.
func checkNameMetadata(t *testing.T, cd *ClusterDNS, qname string, qtype uint16, want map[string]string) {
	t.Helper()
	state := request.Request{W: &test.ResponseWriter{}, Req: new(dns.Msg).SetQuestion(qname, qtype)}
	if got := collectMetadata(context.Background(), cd, state); !maps.Equal(got, want) {
		t.Errorf("metadata of %s\n got %v\nwant %v", qname, got, want)
	}
}

// The plugin's own lookups carry the name the client asked; the clients'
// queries carry no label.
func TestMetadataLookupFor(t *testing.T) {
	cd := newTestPlugin(t, true)
	state := request.Request{W: &test.ResponseWriter{}, Req: new(dns.Msg).SetQuestion("www.example.org.", dns.TypeA)}
	for _, tt := range []struct {
		name  string
		asked string // the lookup-for value in the context, "" for none
		want  map[string]string
	}{
		{name: "a lookup of ours", asked: "www.example.org.prod.svc.cluster.local.",
			want: map[string]string{metaLookupFor: "www.example.org.prod.svc.cluster.local."}},
		{name: "a client's query", want: map[string]string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.asked != "" {
				ctx = context.WithValue(ctx, lookupForKey{}, tt.asked)
			}
			if got := collectMetadata(ctx, cd, state); !maps.Equal(got, tt.want) {
				t.Errorf("metadata %v, want %v", got, tt.want)
			}
		})
	}
}

// The kubernetes/* labels are the stock kubernetes plugin's, with its
// values, for every form of name (plugin/kubernetes/metadata_test.go).
func TestMetadataName(t *testing.T) {
	cd := newTestPlugin(t, true)
	for _, tt := range []struct {
		name  string
		qname string
		qtype uint16
		want  map[string]string
	}{
		{name: "service", qname: "web.prod.svc.cluster.local.", qtype: dns.TypeA,
			want: nameLabels("svc", "prod", "web", "", "", "")},
		{name: "service that does not exist", qname: "nope.prod.svc.cluster.local.", qtype: dns.TypeA,
			want: nameLabels("svc", "prod", "nope", "", "", "")},
		{name: "endpoint", qname: "db-0.db.prod.svc.cluster.local.", qtype: dns.TypeA,
			want: nameLabels("svc", "prod", "db", "db-0", "", "")},
		{name: "SRV of a named port", qname: "_http._tcp.web.prod.svc.cluster.local.", qtype: dns.TypeSRV,
			want: nameLabels("svc", "prod", "web", "", "http", "tcp")},
		{name: "port and protocol without underscores", qname: "http.tcp.web.prod.svc.cluster.local.", qtype: dns.TypeSRV,
			want: nameLabels("svc", "prod", "web", "", "http", "tcp")},
		{name: "pod", qname: "10-244-1-7.prod.pod.cluster.local.", qtype: dns.TypeA,
			want: nameLabels("pod", "prod", "10-244-1-7", "", "", "")},
		{name: "namespace", qname: "prod.svc.cluster.local.", qtype: dns.TypeA,
			want: nameLabels("svc", "prod", "", "", "", "")},
		{name: "kind alone", qname: "svc.cluster.local.", qtype: dns.TypeA,
			want: nameLabels("", "", "", "", "", "")},
		{name: "apex", qname: "cluster.local.", qtype: dns.TypeSOA,
			want: nameLabels("", "", "", "", "", "")},
		{name: "upper case is lowered", qname: "_HTTP._Tcp.Web.PROD.Svc.Cluster.Local.", qtype: dns.TypeSRV,
			want: nameLabels("svc", "prod", "web", "", "http", "tcp")},
		{name: "escaped dot in a label", qname: `a\.b.prod.svc.cluster.local.`, qtype: dns.TypeA,
			want: nameLabels("svc", "prod", `a\.b`, "", "", "")},
		{name: "too many labels", qname: "a.b.c.web.prod.svc.cluster.local.", qtype: dns.TypeA, want: parseError},
		{name: "neither svc nor pod", qname: "foo.bar.notapod.cluster.local.", qtype: dns.TypeA, want: parseError},
		{name: "dns-version", qname: "dns-version.cluster.local.", qtype: dns.TypeTXT, want: parseError},
		{name: "reverse", qname: "10.0.96.10.in-addr.arpa.", qtype: dns.TypePTR, want: parseError},
		{name: "outside the zones", qname: "example.com.", qtype: dns.TypeA, want: map[string]string{}},
	} {
		t.Run(tt.name, func(t *testing.T) { checkNameMetadata(t, cd, tt.qname, tt.qtype, tt.want) })
	}
}

// With zonal, kubernetes/zone is published too: the topology zone of a
// zone-scoped name, empty for every other name stock parses; a zone-scoped
// shape with an unknown directive, or under pod, is still a parse error.
// Without zonal the label is not there and zone-scoped names are too long.
func TestMetadataZonal(t *testing.T) {
	parts := func(kind, namespace, service, endpoint, port, protocol, zone string) map[string]string {
		return nameLabels(kind, namespace, service, endpoint, port, protocol, metaZone, zone)
	}
	for _, tt := range []struct {
		name  string
		zonal bool
		qname string
		want  map[string]string
	}{
		{name: "pin", zonal: true, qname: "us-west-2a.pin._zone.db.prod.svc.cluster.local.",
			want: parts("svc", "prod", "db", "", "", "", "us-west-2a")},
		{name: "prefer, a zone with dots, upper case", zonal: true, qname: "Corp.Example.com.PREFER._zone.db.prod.svc.cluster.local.",
			want: parts("svc", "prod", "db", "", "", "", "corp.example.com")},
		{name: "a service name", zonal: true, qname: "db.prod.svc.cluster.local.",
			want: parts("svc", "prod", "db", "", "", "", "")},
		{name: "an SRV name", zonal: true, qname: "_http._tcp.web.prod.svc.cluster.local.",
			want: parts("svc", "prod", "web", "", "http", "tcp", "")},
		{name: "unknown directive", zonal: true, qname: "us-west-2a.florp._zone.db.prod.svc.cluster.local.", want: parseError},
		{name: "no anchor", zonal: true, qname: "us-west-2a.pin.zone.db.prod.svc.cluster.local.", want: parseError},
		{name: "under pod", zonal: true, qname: "us-west-2a.pin._zone.db.prod.pod.cluster.local.", want: parseError},
		{name: "without zonal", qname: "us-west-2a.pin._zone.db.prod.svc.cluster.local.", want: parseError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cd := newTestPlugin(t, true)
			cd.cfg.Zonal = tt.zonal
			checkNameMetadata(t, cd, tt.qname, dns.TypeA, tt.want)
		})
	}
}

// In a multicluster zone, kubernetes/cluster is published too, and
// <hostname>.<clusterid>.<svc>... cuts into endpoint and cluster, as in
// stock; the cluster zone's names publish no cluster.
func TestMetadataMulticluster(t *testing.T) {
	cd := New([]string{"cluster.local.", "clusterset.local."})
	cd.cfg.MulticlusterZones = []string{"clusterset.local."}
	cd.resolver = resolver.New(cd.cfg.Config)
	cd.index = indextest.Index(index.Options{Multicluster: true})
	parts := func(service, endpoint, cluster, port, protocol string) map[string]string {
		return nameLabels("svc", "prod", service, endpoint, port, protocol, metaCluster, cluster)
	}
	for _, tt := range []struct {
		qname string
		want  map[string]string
	}{
		{qname: "db-0.cluster-a.db.prod.svc.clusterset.local.", want: parts("db", "db-0", "cluster-a", "", "")},
		{qname: "_postgres._tcp.db.prod.svc.clusterset.local.", want: parts("db", "", "", "postgres", "tcp")},
		{qname: "db.prod.svc.clusterset.local.", want: parts("db", "", "", "", "")},
		{qname: "web.prod.svc.cluster.local.", want: nameLabels("svc", "prod", "web", "", "", "")},
	} {
		checkNameMetadata(t, cd, tt.qname, dns.TypeA, tt.want)
	}
}

// With pods verified, the client's pod is published by its address, over
// either transport; without that mode nothing is looked up.
func TestMetadataClientPod(t *testing.T) {
	client := map[string]string{metaClientNamespace: "prod", metaClientPodName: "web-a"}
	for _, tt := range []struct {
		name   string
		pods   resolver.PodMode
		remote net.Addr
		want   map[string]string
	}{
		{name: "pod over UDP", pods: resolver.PodsVerified,
			remote: &net.UDPAddr{IP: net.ParseIP("10.244.1.7"), Port: 40000}, want: client},
		{name: "pod over TCP", pods: resolver.PodsVerified,
			remote: &net.TCPAddr{IP: net.ParseIP("10.244.1.7"), Port: 40000}, want: client},
		{name: "IPv4-mapped address", pods: resolver.PodsVerified,
			remote: &net.UDPAddr{IP: net.ParseIP("::ffff:10.244.1.7"), Port: 40000}, want: client},
		{name: "IPv6 pod", pods: resolver.PodsVerified,
			remote: &net.UDPAddr{IP: net.ParseIP("fd00:244::5"), Port: 40000},
			want:   map[string]string{metaClientNamespace: "prod", metaClientPodName: "v6-a"}},
		{name: "no pod at the address", pods: resolver.PodsVerified,
			remote: &net.UDPAddr{IP: net.ParseIP("10.244.1.8"), Port: 40000}, want: map[string]string{}},
		{name: "pods insecure", pods: resolver.PodsInsecure,
			remote: &net.UDPAddr{IP: net.ParseIP("10.244.1.7"), Port: 40000}, want: map[string]string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cd := newTestPlugin(t, true)
			cd.cfg.Pods = tt.pods
			cd.index = indextest.Index(index.Options{Pods: tt.pods == resolver.PodsVerified})
			state := request.Request{W: &remoteWriter{ResponseWriter: &test.ResponseWriter{}, remote: tt.remote},
				Req: new(dns.Msg).SetQuestion("example.com.", dns.TypeA)}
			if got := collectMetadata(context.Background(), cd, state); !maps.Equal(got, tt.want) {
				t.Errorf("metadata\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// remoteWriter is a ResponseWriter whose client is at remote.
type remoteWriter struct {
	dns.ResponseWriter
	remote net.Addr
}

func (w *remoteWriter) RemoteAddr() net.Addr { return w.remote }

// Metadata runs for every query while the metadata plugin is on: cutting
// the name allocates nothing, only the value functions do.
func BenchmarkMetadata(b *testing.B) {
	cd := newTestPlugin(b, true)
	state := request.Request{W: &test.ResponseWriter{}, Req: new(dns.Msg).SetQuestion("_http._tcp.web.prod.svc.cluster.local.", dns.TypeSRV)}
	b.ReportAllocs()
	for b.Loop() {
		cd.Metadata(metadata.ContextWithMetadata(context.Background()), state)
	}
}
