package resolver

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/index/indextest"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// indextestZone is the transfer (LOOPA and LOOPB: the ExternalName
// targets, which stay in cluster.local whatever the zone) of the test cluster, one chunk per block:
// SOA, NS and glue, then every service in name order (ClusterIP,
// dual-stack, headless with hostnames and without, publishNotReadyAddresses,
// named ports, ExternalName), SOA.
const indextestZone = `
cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. SERIAL 7200 1800 86400 5

cluster.local. 5 IN NS ns.dns.cluster.local.
ns.dns.cluster.local. 5 IN A 10.244.9.9

alias.prod.svc.cluster.local. 5 IN CNAME web.prod.svc.cluster.local.

api.prod.svc.cluster.local. 5 IN A 10.96.0.20
api.prod.svc.cluster.local. 5 IN AAAA fd00:10:96::20
api.prod.svc.cluster.local. 5 IN SRV 0 50 9090 api.prod.svc.cluster.local.
_grpc._tcp.api.prod.svc.cluster.local. 5 IN SRV 0 50 9090 api.prod.svc.cluster.local.

cache.prod.svc.cluster.local. 5 IN A 10.244.3.1
10-244-3-1.cache.prod.svc.cluster.local. 5 IN A 10.244.3.1

db.prod.svc.cluster.local. 5 IN A 10.244.2.1
db.prod.svc.cluster.local. 5 IN A 10.244.2.2
db-0.db.prod.svc.cluster.local. 5 IN A 10.244.2.1
db-1.db.prod.svc.cluster.local. 5 IN A 10.244.2.2
_postgres._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local.
_postgres._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-1.db.prod.svc.cluster.local.

kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1
kubernetes.default.svc.cluster.local. 5 IN SRV 0 100 443 kubernetes.default.svc.cluster.local.
_https._tcp.kubernetes.default.svc.cluster.local. 5 IN SRV 0 100 443 kubernetes.default.svc.cluster.local.

loop-a.prod.svc.cluster.local. 5 IN CNAME LOOPB

loop-b.prod.svc.cluster.local. 5 IN CNAME LOOPA

quiet.prod.svc.cluster.local. 5 IN A 10.96.0.30

search.prod.svc.cluster.local. 5 IN CNAME search.example.com.

v6.prod.svc.cluster.local. 5 IN A 10.244.6.6
v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::5
v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::6
V6POD.v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::5
db-x.v6.prod.svc.cluster.local. 5 IN A 10.244.6.6
db-x.v6.prod.svc.cluster.local. 5 IN AAAA fd00:244::6
_http._tcp.v6.prod.svc.cluster.local. 5 IN SRV 0 33 80 V6POD.v6.prod.svc.cluster.local.
_http._tcp.v6.prod.svc.cluster.local. 5 IN SRV 0 33 80 db-x.v6.prod.svc.cluster.local.

web.prod.svc.cluster.local. 5 IN A 10.96.0.10
web.prod.svc.cluster.local. 5 IN SRV 0 25 80 web.prod.svc.cluster.local.
web.prod.svc.cluster.local. 5 IN SRV 0 25 443 web.prod.svc.cluster.local.
web.prod.svc.cluster.local. 5 IN SRV 0 25 53 web.prod.svc.cluster.local.
web.prod.svc.cluster.local. 5 IN SRV 0 25 8080 web.prod.svc.cluster.local.
_http._tcp.web.prod.svc.cluster.local. 5 IN SRV 0 100 80 web.prod.svc.cluster.local.
_https._tcp.web.prod.svc.cluster.local. 5 IN SRV 0 100 443 web.prod.svc.cluster.local.
_dns._udp.web.prod.svc.cluster.local. 5 IN SRV 0 100 53 web.prod.svc.cluster.local.

web.staging.svc.cluster.local. 5 IN A 10.96.1.10

cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. SERIAL 7200 1800 86400 5
`

// parseChunks reads blocks of zone-file lines, separated by blank lines.
func parseChunks(t *testing.T, text string) [][]string {
	t.Helper()
	var chunks [][]string
	for _, block := range strings.Split(strings.TrimSpace(text), "\n\n") {
		var chunk []string
		for _, line := range strings.Split(block, "\n") {
			rr, err := dns.NewRR(line)
			if err != nil {
				t.Fatalf("bad test record %q: %v", line, err)
			}
			chunk = append(chunk, rr.String())
		}
		chunks = append(chunks, chunk)
	}
	return chunks
}

func transferChunks(r *Resolver, snap *index.View, zone string) ([][]string, bool) {
	var got [][]string
	ok := r.Transfer(snap, zone, func(rrs []dns.RR) {
		var chunk []string
		for _, rr := range rrs {
			chunk = append(chunk, rr.String())
		}
		got = append(got, chunk)
	})
	return got, ok
}

func TestTransfer(t *testing.T) {
	local := []netip.Addr{netip.MustParseAddr("10.244.9.9")}
	for _, tc := range []struct {
		name string
		cfg  Config
		opts index.Options
		zone string
		// edit turns indextestZone into the expected transfer.
		edit func(string) string
	}{
		{name: "pods disabled", cfg: Config{Pods: PodsDisabled},
			edit: func(s string) string { return strings.ReplaceAll(s, "V6POD", "fd00-244--5") }},
		// Pod names are not in a transfer, as in stock's: they are the
		// whole pod network, not a zone's contents.
		{name: "pods insecure", cfg: Config{Pods: PodsInsecure},
			edit: func(s string) string { return strings.ReplaceAll(s, "V6POD", "fd00-244--5") }},
		{name: "pods verified", cfg: Config{Pods: PodsVerified}, opts: index.Options{Pods: true},
			edit: func(s string) string { return strings.ReplaceAll(s, "V6POD", "fd00-244--5") }},
		{name: "endpoint_pod_names", opts: index.Options{EndpointPodNames: true},
			edit: func(s string) string { return strings.ReplaceAll(s, "V6POD", "v6-a") }},
		{name: "ttl", cfg: Config{TTL: 30},
			edit: func(s string) string {
				s = strings.ReplaceAll(s, "V6POD", "fd00-244--5")
				s = strings.ReplaceAll(s, " 86400 5", " 86400 30")
				return strings.ReplaceAll(s, ". 5 IN ", ". 30 IN ")
			}},
		{name: "second forward zone", cfg: Config{Zones: []string{"cluster.local.", "example.org.", "in-addr.arpa."}}, zone: "example.org.",
			edit: func(s string) string {
				s = strings.ReplaceAll(strings.ReplaceAll(s, "V6POD", "fd00-244--5"), "cluster.local.", "example.org.")
				// ExternalName targets are names as written.
				return strings.ReplaceAll(s, "CNAME web.prod.svc.example.org.", "CNAME web.prod.svc.cluster.local.")
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.Zones == nil {
				tc.cfg.Zones = zones
			}
			if tc.cfg.TTL == 0 {
				tc.cfg.TTL = 5
			}
			if tc.zone == "" {
				tc.zone = "cluster.local."
			}
			tc.cfg.LocalAddrs = local
			r := New(tc.cfg)
			snap := indextest.Index(tc.opts).View()
			zone := strings.NewReplacer("LOOPA", "loop-a.prod.svc.cluster.local.", "LOOPB", "loop-b.prod.svc.cluster.local.").Replace(tc.edit(indextestZone))
			// The serial is the view's.
			want := parseChunks(t, strings.ReplaceAll(zone, "SERIAL", strconv.FormatUint(uint64(snap.Serial()), 10)))
			got, ok := transferChunks(r, snap, tc.zone)
			if !ok {
				t.Fatalf("%s is not transferable", tc.zone)
			}
			if len(got) != len(want) {
				t.Fatalf("%d chunks, want %d:\n%v", len(got), len(want), got)
			}
			for i := range want {
				if strings.Join(got[i], "\n") != strings.Join(want[i], "\n") {
					t.Errorf("chunk %d:\n%s\nwant\n%s", i, strings.Join(got[i], "\n"), strings.Join(want[i], "\n"))
				}
			}
		})
	}
}

// TestTransferRecordsAreAnswers checks the walk against the resolver: every
// record of a transfer is in the answer to the question for its owner and
// type, with the per-service TTL, so a secondary answers as this server.
func TestTransferRecordsAreAnswers(t *testing.T) {
	ix := indextest.Index(index.Options{})
	ttl := (&object.Service{Meta: object.Meta{Name: "short", Namespace: "prod"}, Type: object.ClusterIP,
		Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}, TTL: 1, HasTTL: true}).SetClusterIPs(indextest.Addrs("10.96.0.99"))
	ix.Apply(index.Change{Kind: object.KindService, Namespace: "prod", Name: "short", Object: ttl})
	r := New(Config{Zones: zones, TTL: 5, LocalAddrs: indextest.Addrs("10.244.9.9")})
	snap := ix.View()
	n, short := 0, 0
	r.Transfer(snap, "cluster.local.", func(rrs []dns.RR) {
		for _, rr := range rrs {
			n++
			h := rr.Header()
			if strings.Contains(h.Name, "short.prod.") {
				short++
				if h.Ttl != 1 {
					t.Errorf("%s: TTL %d, want the service's 1", rr, h.Ttl)
				}
			}
			if h.Rrtype == dns.TypeSOA || h.Rrtype == dns.TypeNS || h.Name == "ns.dns.cluster.local." {
				continue
			}
			res, _ := r.Resolve(snap, index.Client{}, h.Name, h.Rrtype)
			found := false
			for _, a := range res.Answer {
				if a.String() == rr.String() {
					found = true
				}
			}
			if !found {
				t.Errorf("%s is not in the answer for %s %s: %v", rr, h.Name, dns.TypeToString[h.Rrtype], res.Answer)
			}
		}
	})
	if n < 40 || short != 3 {
		t.Fatalf("%d records, %d of short.prod: want the whole zone and short's A and two SRV", n, short)
	}
}

func TestTransferableZones(t *testing.T) {
	r := New(Config{Zones: []string{"cluster.local.", "example.org.", "in-addr.arpa.", "ip6.arpa."}, TTL: 5})
	snap := indextest.Index(index.Options{}).View()
	for zone, want := range map[string]bool{
		"cluster.local.":              true,
		"example.org.":                true,
		"in-addr.arpa.":               false, // PTRs keyed by address: not walked
		"ip6.arpa.":                   false,
		"svc.cluster.local.":          false, // below a zone
		"web.prod.svc.cluster.local.": false,
		"local.":                      false, // above it
		"example.com.":                false,
	} {
		if got := r.Transferable(zone); got != want {
			t.Errorf("Transferable(%s) = %v, want %v", zone, got, want)
		}
		chunks, ok := transferChunks(r, snap, zone)
		if ok != want || (!want && len(chunks) != 0) {
			t.Errorf("Transfer(%s) = %v with %d chunks, want %v and nothing", zone, ok, len(chunks), want)
		}
	}
}
