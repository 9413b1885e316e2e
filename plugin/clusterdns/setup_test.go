package clusterdns

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

func TestParse(t *testing.T) {
	node := writeResolvConf(t, "nameserver 10.0.0.2\nsearch Example.Internal corp.example cluster.local\n")
	bad := writeResolvConf(t, "search ok.example bad..example\n")
	for _, tt := range []struct {
		name  string
		input string
		// err, when set, is a substring of the expected error.
		err   string
		check func(t *testing.T, cd *ClusterDNS)
	}{
		{
			name:  "defaults",
			input: "clusterdns",
			check: func(t *testing.T, cd *ClusterDNS) {
				if cd.cfg.TTL != 5 || cd.cfg.Pods != resolver.PodsDisabled || cd.cfg.api.StartupTimeout != 5*time.Second {
					t.Errorf("defaults = %+v", cd.cfg)
				}
			},
		},
		{
			name:  "zone that is not a name",
			input: "clusterdns \"cluster local\"",
			err:   `Testfile:1 - Error during parsing: invalid zone "cluster local."`,
		},
		{
			name:  "multicluster",
			input: "clusterdns cluster.local ClusterSet.Local {\n multicluster clusterset.local ClusterSet.Local.\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				if !slices.Equal(cd.cfg.MulticlusterZones, []string{"clusterset.local."}) || !cd.cfg.index.Multicluster {
					t.Errorf("multicluster zones = %v, index %v", cd.cfg.MulticlusterZones, cd.cfg.index.Multicluster)
				}
			},
		},
		{
			name:  "multicluster without zones is off, as in stock",
			input: "clusterdns cluster.local clusterset.local {\n multicluster\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				if cd.cfg.MulticlusterZones != nil || cd.cfg.index.Multicluster {
					t.Errorf("multicluster zones = %v, index %v", cd.cfg.MulticlusterZones, cd.cfg.index.Multicluster)
				}
			},
		},
		{
			name:  "multicluster zone the plugin does not serve",
			input: "clusterdns cluster.local {\n ttl 5\n multicluster clusterset.local\n}",
			err:   `Testfile:3 - Error during parsing: multicluster: "clusterset.local" is not a forward zone of this plugin`,
		},
		{
			name:  "multicluster zone that is not a name",
			input: "clusterdns cluster.local clusterset.local {\n multicluster \"clusterset local\"\n}",
			err:   `Testfile:2 - Error during parsing: multicluster: invalid zone "clusterset local"`,
		},
		{
			name:  "multicluster reverse zone",
			input: "clusterdns cluster.local in-addr.arpa {\n multicluster in-addr.arpa\n}",
			err:   `Testfile:2 - Error during parsing: multicluster: "in-addr.arpa" is not a forward zone of this plugin`,
		},
		{
			name:  "used twice in a server block",
			input: "clusterdns\nclusterdns",
			err:   "Testfile:2 - Error during parsing: this plugin can only be used once per Server Block",
		},
		{
			name:  "zones from arguments",
			input: "clusterdns Cluster.Local in-addr.arpa ip6.arpa",
			check: func(t *testing.T, cd *ClusterDNS) {
				if strings.Join(cd.Zones, " ") != "cluster.local. in-addr.arpa. ip6.arpa." {
					t.Errorf("zones = %v", cd.Zones)
				}
			},
		},
		{
			name: "every option",
			input: `clusterdns cluster.local in-addr.arpa {
				pods verified
				endpoint_pod_names
				noendpoints
				ignore empty_service
				ttl 3600
				fallthrough in-addr.arpa
				namespaces a b
				namespaces c
				labels app=web,tier in (front, back)
				startup_timeout 10s
				apiserver_qps 50.5
				apiserver_burst 100
				apiserver_max_inflight 4
				kubeconfig /tmp/kubeconfig ctx
			}`,
			check: func(t *testing.T, cd *ClusterDNS) {
				c := cd.cfg
				if c.Pods != resolver.PodsVerified || !c.index.Pods || !c.index.EndpointPodNames || !c.index.NoEndpoints ||
					!c.IgnoreEmptyService || c.TTL != 3600 || len(c.index.Filter.Namespaces) != 3 || c.index.Filter.Labels == nil ||
					c.api.StartupTimeout != 10*time.Second || c.api.QPS != 50.5 || c.api.Burst != 100 || c.api.MaxInflight != 4 ||
					c.api.Kubeconfig != "/tmp/kubeconfig" || c.api.KubeconfigContext != "ctx" {
					t.Errorf("config = %+v", c)
				}
				if !cd.Fall.Through("1.in-addr.arpa.") || cd.Fall.Through("x.cluster.local.") {
					t.Error("fallthrough zones not applied")
				}
			},
		},
		{
			name:  "endpoint and tls",
			input: "clusterdns {\n endpoint https://127.0.0.1:6443\n tls cert key ca\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				if cd.cfg.api.Endpoint != "https://127.0.0.1:6443" || cd.cfg.api.TLSCA != "ca" {
					t.Errorf("api = %+v", cd.cfg.api)
				}
			},
		},
		{
			name:  "source file",
			input: "clusterdns {\n source file /tmp/cluster.yaml\n namespace_labels env=prod\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				if cd.cfg.file.Path != "/tmp/cluster.yaml" || cd.cfg.index.Filter.NamespaceLabels == nil {
					t.Errorf("config = %+v", cd.cfg)
				}
			},
		},
		{name: "pods insecure", input: "clusterdns {\n pods insecure\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				if cd.cfg.Pods != resolver.PodsInsecure || cd.cfg.index.Pods {
					t.Error("insecure must not index pods")
				}
			}},
		{name: "ttl 0", input: "clusterdns {\n ttl 0\n}"},
		{name: "zonal", input: "clusterdns {\n zonal\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				if !cd.cfg.Zonal || !cd.cfg.index.Zonal {
					t.Errorf("zonal: resolver %v, index %v; want both on", cd.cfg.Zonal, cd.cfg.index.Zonal)
				}
			}},
		{name: "zonal with an argument", input: "clusterdns {\n zonal us-west-2a\n}", err: "Testfile:2 - Error during parsing: Wrong argument count"},
		{name: "zonal twice", input: "clusterdns {\n zonal\n zonal\n}", err: `Testfile:3 - Error during parsing: option "zonal" given twice`},
		{name: "zonal and noendpoints", input: "clusterdns {\n noendpoints\n ttl 5\n zonal\n}", err: "Testfile:4 - Error during parsing: zonal needs the endpoints: remove noendpoints"},
		// visibility's block.
		{
			name: "visibility: exports and nonpod, then more options",
			input: `clusterdns {
				visibility {
					export kube-system Default to *
					export monitoring to team in (a, b)
					nonpod all
				}
				pods insecure
			}`,
			check: func(t *testing.T, cd *ClusterDNS) {
				v := cd.cfg.index.Visibility
				if v == nil || !v.NonPodAll || len(v.Exports) != 2 || !cd.cfg.index.Pods {
					t.Fatalf("visibility = %+v, pods indexed %v", v, cd.cfg.index.Pods)
				}
				if x := v.Exports[0]; !x.All || !slices.Equal(x.Namespaces, []string{"kube-system", "default"}) {
					t.Errorf("first export = %+v", x)
				}
				if x := v.Exports[1]; x.All || x.To.String() != "team in (a,b)" {
					t.Errorf("second export = %+v", x)
				}
				if cd.cfg.Pods != resolver.PodsInsecure || cd.CacheBypassZones() == nil {
					t.Error("the option after the visibility block was not parsed, or the cache is not bypassed")
				}
			},
		},
		{
			name:  "visibility alone: nothing exported, non-pods see what is exported",
			input: "clusterdns {\n visibility\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				if v := cd.cfg.index.Visibility; v == nil || v.NonPodAll || len(v.Exports) != 0 {
					t.Errorf("visibility = %+v", v)
				}
			},
		},
		{
			name:  "no visibility: the cache works as configured",
			input: "clusterdns",
			check: func(t *testing.T, cd *ClusterDNS) {
				if cd.cfg.index.Visibility != nil || cd.CacheBypassZones() != nil {
					t.Error("visibility is on by default")
				}
			},
		},
		{name: "visibility: export without to", input: "clusterdns {\n visibility {\n export prod\n }\n}", err: "Testfile:3 - Error during parsing: visibility: export takes NAMESPACE... to SELECTOR|*"},
		{name: "visibility: export without namespaces", input: "clusterdns {\n visibility {\n export to *\n }\n}", err: "Testfile:3 - Error during parsing: visibility: export takes"},
		{name: "visibility: export without selector", input: "clusterdns {\n visibility {\n export prod to\n }\n}", err: "Testfile:3 - Error during parsing: visibility: export takes"},
		{name: "visibility: bad namespace", input: "clusterdns {\n visibility {\n export prod.x to *\n }\n}", err: `Testfile:3 - Error during parsing: visibility: export: "prod.x" is not a valid namespace name`},
		{name: "visibility: bad selector", input: "clusterdns {\n visibility {\n export prod to team in a\n }\n}", err: `Testfile:3 - Error during parsing: visibility: export: invalid label selector "team in a"`},
		{name: "visibility: blank selector", input: "clusterdns {\n visibility {\n export prod to \"\"\n }\n}", err: `visibility: export: invalid label selector ""`},
		{name: "visibility: nonpod value", input: "clusterdns {\n visibility {\n nonpod some\n }\n}", err: `Testfile:3 - Error during parsing: visibility: nonpod must be all or exported, got "some"`},
		{name: "visibility: nonpod twice", input: "clusterdns {\n visibility {\n nonpod all\n nonpod exported\n }\n}", err: `Testfile:4 - Error during parsing: visibility: option "nonpod" given twice`},
		{name: "visibility: unknown", input: "clusterdns {\n visibility {\n hide prod\n }\n}", err: `Testfile:3 - Error during parsing: visibility: unknown property "hide"`},
		{name: "visibility: argument", input: "clusterdns {\n visibility on\n}", err: "Testfile:2 - Error during parsing: Wrong argument count"},
		{name: "visibility: twice", input: "clusterdns {\n visibility\n visibility\n}", err: `option "visibility" given twice`},
		{name: "visibility: unclosed", input: "clusterdns {\n visibility {\n nonpod all\n", err: "Unexpected EOF"},
		{name: "snapshot", input: "clusterdns {\n snapshot /var/lib/clusterdns/snapshot\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				if cd.cfg.api.Snapshot != "/var/lib/clusterdns/snapshot" || cd.cfg.api.SnapshotInterval != 0 || cd.cfg.snapshotReady {
					t.Errorf("snapshot = %q every %s, ready %v", cd.cfg.api.Snapshot, cd.cfg.api.SnapshotInterval, cd.cfg.snapshotReady)
				}
			}},
		{name: "snapshot with interval, ready", input: "clusterdns {\n snapshot /tmp/s 1m\n snapshot_ready\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				if cd.cfg.api.SnapshotInterval != time.Minute || !cd.cfg.snapshotReady {
					t.Errorf("snapshot every %s, ready %v", cd.cfg.api.SnapshotInterval, cd.cfg.snapshotReady)
				}
			}},
		{name: "snapshot interval too short", input: "clusterdns {\n snapshot /tmp/s 100ms\n}", err: "Testfile:2 - Error during parsing: snapshot interval must be a duration of at least 1s"},
		{name: "snapshot without a file", input: "clusterdns {\n snapshot\n}", err: "Testfile:2 - Error during parsing: Wrong argument count"},
		{name: "snapshot_ready without snapshot", input: "clusterdns {\n ttl 3\n snapshot_ready\n}", err: "snapshot_ready needs a snapshot FILE"},
		{name: "snapshot of a file source", input: "clusterdns {\n source file /tmp/c.yaml\n snapshot /tmp/s\n}", err: "Testfile:3 - Error during parsing: source file cannot be combined"},
		{name: "search_path with the server's resolv.conf", input: "clusterdns cluster.local in-addr.arpa {\n search_path\n pods insecure\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				sp := cd.cfg.search
				if sp == nil || sp.resolvConf != "/etc/resolv.conf" || len(sp.walks) != 1 || sp.walks[0].zone != "cluster.local." ||
					sp.namespaces != nil || sp.clients != nil || cd.cfg.Pods != resolver.PodsInsecure {
					t.Errorf("search = %+v, pods %v", sp, cd.cfg.Pods)
				}
			}},
		{name: "search_path leaves multicluster zones out", input: "clusterdns cluster.local clusterset.local {\n search_path\n multicluster clusterset.local\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				if sp := cd.cfg.search; sp == nil || len(sp.walks) != 1 || sp.walks[0].zone != "cluster.local." {
					t.Errorf("search = %+v: want the walk of cluster.local. only", sp)
				}
			}},
		{name: "search_path in a multicluster zone", input: "clusterdns cluster.local clusterset.local {\n search_path clusterset.local\n multicluster clusterset.local\n}",
			err: `Testfile:2 - Error during parsing: search_path: "clusterset.local." is a multicluster zone`},

		// Errors name the line.
		{name: "unknown option", input: "clusterdns {\n  pods insecure\n  podz verified\n}", err: "Testfile:3 - Error during parsing: unknown property \"podz\""},
		{name: "pods no argument", input: "clusterdns {\n pods\n}", err: "Testfile:2 - Error during parsing: Wrong argument count"},
		{name: "pods bad mode", input: "clusterdns {\n pods everything\n}", err: "Testfile:2"},
		{name: "ttl too large", input: "clusterdns {\n ttl 3601\n}", err: "ttl must be an integer in [0, 3600]"},
		{name: "ttl negative", input: "clusterdns {\n ttl -1\n}", err: "Testfile:2"},
		{name: "ttl not a number", input: "clusterdns {\n ttl five\n}", err: "Testfile:2"},
		{name: "ttl two arguments", input: "clusterdns {\n ttl 5 6\n}", err: "Wrong argument count"},
		{name: "ttl twice", input: "clusterdns {\n ttl 5\n ttl 6\n}", err: "Testfile:3 - Error during parsing: option \"ttl\" given twice"},
		{name: "endpoint_pod_names with argument", input: "clusterdns {\n endpoint_pod_names yes\n}", err: "Wrong argument count"},
		{name: "noendpoints with argument", input: "clusterdns {\n noendpoints x\n}", err: "Wrong argument count"},
		{name: "ignore other", input: "clusterdns {\n ignore something\n}", err: "ignore takes empty_service"},
		{name: "ignore nothing", input: "clusterdns {\n ignore\n}", err: "Wrong argument count"},
		{name: "namespaces empty", input: "clusterdns {\n namespaces\n}", err: "Wrong argument count"},
		{name: "namespaces invalid", input: "clusterdns {\n namespaces a.b\n}", err: "not a valid namespace name"},
		{name: "bad labels", input: "clusterdns {\n labels app in (a\n}", err: "invalid label selector"},
		{name: "bad namespace_labels", input: "clusterdns {\n namespace_labels ==x\n}", err: "Testfile:2"},
		{name: "namespaces and namespace_labels", input: "clusterdns {\n namespaces a\n namespace_labels env=prod\n}", err: "namespaces and namespace_labels cannot both be set"},
		{name: "endpoint not a URL", input: "clusterdns {\n endpoint 127.0.0.1\n}", err: "http:// or https://"},
		{name: "endpoint empty", input: "clusterdns {\n endpoint\n}", err: "Wrong argument count"},
		{name: "tls two files", input: "clusterdns {\n tls cert key\n}", err: "Wrong argument count"},
		{name: "kubeconfig too many", input: "clusterdns {\n kubeconfig a b c\n}", err: "Wrong argument count"},
		{name: "startup_timeout bad", input: "clusterdns {\n startup_timeout soon\n}", err: "startup_timeout must be a duration"},
		{name: "apiserver_qps negative", input: "clusterdns {\n apiserver_qps -1\n}", err: "apiserver_qps must be a number"},
		{name: "apiserver_burst bad", input: "clusterdns {\n apiserver_burst x\n}", err: "apiserver_burst must be an integer"},
		{name: "apiserver_max_inflight negative", input: "clusterdns {\n apiserver_max_inflight -2\n}", err: "apiserver_max_inflight must be an integer"},
		{name: "source other kind", input: "clusterdns {\n source api\n}", err: "source takes: file PATH"},
		{name: "source file and kubeconfig", input: "clusterdns {\n source file x.yaml\n kubeconfig k\n}", err: "Testfile:3"},
		{name: "only reverse zones", input: "clusterdns in-addr.arpa", err: "forward zone"},
		{name: "search_path in a reverse zone", input: "clusterdns cluster.local in-addr.arpa {\n search_path in-addr.arpa\n}", err: `Testfile:2 - Error during parsing: search_path: "in-addr.arpa" is not a forward zone`},
		{name: "search_path in another zone", input: "clusterdns {\n search_path example.org\n}", err: `Testfile:2 - Error during parsing: search_path: "example.org" is not a forward zone`},
		{name: "search_path twice", input: "clusterdns {\n search_path\n search_path\n}", err: `Testfile:3 - Error during parsing: option "search_path" given twice`},
		{name: "search_path unknown property", input: "clusterdns {\n search_path {\n  namespaces prod\n  ndots 3\n }\n}", err: `Testfile:4 - Error during parsing: search_path: unknown property "ndots"`},
		{name: "search_path namespaces empty", input: "clusterdns {\n search_path {\n  namespaces\n }\n}", err: "Testfile:3 - Error during parsing: Wrong argument count"},
		{name: "search_path namespaces invalid", input: "clusterdns {\n search_path {\n  namespaces prod a.b\n }\n}", err: `Testfile:3 - Error during parsing: search_path: namespaces: "a.b" is not a valid namespace name`},
		{name: "search_path clients invalid", input: "clusterdns {\n search_path {\n  clients 10.244.0.0/16\n  clients 10.0.0.0/33\n }\n}", err: `Testfile:4 - Error during parsing: search_path: clients: "10.0.0.0/33"`},
		{name: "search_path clients mapped", input: "clusterdns {\n search_path {\n  clients ::ffff:10.0.0.0/104\n }\n}", err: "Testfile:3"},
		{name: "search_path clients empty", input: "clusterdns {\n search_path {\n  clients\n }\n}", err: "Testfile:3 - Error during parsing: Wrong argument count"},
		{name: "search_path resolv_conf missing", input: "clusterdns {\n search_path {\n  resolv_conf /nonexistent/resolv.conf\n }\n}", err: "Testfile:3 - Error during parsing: search_path: resolv_conf: open /nonexistent/resolv.conf"},
		{name: "search_path resolv_conf two files", input: "clusterdns {\n search_path {\n  resolv_conf a b\n }\n}", err: "Testfile:3 - Error during parsing: Wrong argument count"},
		{name: "search_path resolv_conf twice", input: "clusterdns {\n search_path {\n  resolv_conf /etc/resolv.conf\n  resolv_conf /etc/resolv.conf\n }\n}", err: `Testfile:4 - Error during parsing: search_path: option "resolv_conf" given twice`},
		{name: "search_path block not closed", input: "clusterdns {\n search_path {\n  namespaces prod\n", err: "Unexpected EOF"},
		{name: "twice", input: "clusterdns\nclusterdns", err: "plugin"},

		// search_path's block.
		{
			name: "search_path: every sub-option, then more options",
			input: `clusterdns cluster.local cluster.example in-addr.arpa {
				search_path Cluster.Local {
					namespaces prod Staging
					namespaces default
					clients 10.244.0.0/16 fd00:10:244::/56
					clients 192.0.2.7
					resolv_conf ` + node + `
				}
				pods insecure
			}`,
			check: func(t *testing.T, cd *ClusterDNS) {
				sp := cd.cfg.search
				if len(sp.walks) != 1 || sp.walks[0].zone != "cluster.local." {
					t.Errorf("walks = %+v, want cluster.local only", sp.walks)
				}
				want := []string{"svc.cluster.local.", "cluster.local.", "example.internal.", "corp.example.", ""}
				if !slices.Equal(sp.walks[0].suffixes, want) {
					t.Errorf("suffixes = %q, want %q", sp.walks[0].suffixes, want)
				}
				if len(sp.namespaces) != 3 {
					t.Errorf("namespaces = %v", sp.namespaces)
				}
				if _, ok := sp.namespaces["staging"]; !ok {
					t.Errorf("namespaces = %v, want them lower case", sp.namespaces)
				}
				var clients []string
				for _, p := range sp.clients {
					clients = append(clients, p.String())
				}
				if want := []string{"10.244.0.0/16", "fd00:10:244::/56", "192.0.2.7/32"}; !slices.Equal(clients, want) {
					t.Errorf("clients = %v, want %v", clients, want)
				}
				if sp.resolvConf != node {
					t.Errorf("resolv_conf = %q", sp.resolvConf)
				}
				if cd.cfg.Pods != resolver.PodsInsecure {
					t.Error("the option after the search_path block was not parsed")
				}
			},
		},
		{
			name:  "search_path in every forward zone by default",
			input: "clusterdns cluster.local cluster.example ip6.arpa {\n search_path {\n resolv_conf " + node + "\n }\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				sp := cd.cfg.search
				if len(sp.walks) != 2 || sp.walks[1].zone != "cluster.example." || sp.walks[1].suffixes[0] != "svc.cluster.example." {
					t.Errorf("walks = %+v", sp.walks)
				}
			},
		},
		{
			name:  "search_path with an empty block",
			input: "clusterdns {\n search_path {\n }\n}",
			check: func(t *testing.T, cd *ClusterDNS) {
				sp := cd.cfg.search
				if sp.resolvConf != "/etc/resolv.conf" {
					t.Errorf("resolv_conf = %q", sp.resolvConf)
				}
			},
		},
		{name: "search_path with an invalid search domain", input: "clusterdns {\n search_path {\n\n resolv_conf " + bad + "\n }\n}", err: "Testfile:4 - Error during parsing: search_path: resolv_conf: " + bad + `: search domain "bad..example"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := caddy.NewTestController("dns", tt.input)
			c.ServerBlockKeys = []string{"cluster.local:53"}
			cd, err := parse(c)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %q, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.check != nil {
				tt.check(t, cd)
			}
		})
	}
}

func TestLocalAddrs(t *testing.T) {
	got := localAddrs(nil, []string{"127.0.0.1/8", "10.0.0.5/24", "::1/128", "fe80::1/64", "fd00::5/64"})
	if len(got) != 2 || got[0].String() != "10.0.0.5" || got[1].String() != "fd00::5" {
		t.Errorf("interface addresses = %v", got)
	}
	got = localAddrs([]string{"10.1.1.1"}, []string{"10.0.0.5/24"})
	if len(got) != 1 || got[0].String() != "10.1.1.1" {
		t.Errorf("listen hosts = %v", got)
	}
	got = localAddrs([]string{"127.0.0.1", "::1"}, []string{"10.0.0.5/24"})
	if len(got) != 2 || got[0].String() != "127.0.0.1" || got[1].String() != "::1" {
		t.Errorf("loopback-only listen hosts = %v, want them kept for the NS glue", got)
	}
}

func TestReadSearchDomains(t *testing.T) {
	for _, tt := range []struct {
		name, conf string
		want       []string
	}{
		{name: "none", conf: "nameserver 10.0.0.2\n", want: nil},
		{name: "the last search line wins", conf: "search a.example\nsearch B.Example. c.example # comment\n", want: []string{"b.example.", "c.example."}},
		{name: "the root is dropped", conf: "search . a.example\n", want: []string{"a.example."}},
		{name: "domain lines are ignored, as the kubelet does", conf: "domain d.example\n", want: nil},
		{name: "commented out", conf: "# search x.example\n; search y.example\n", want: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readSearchDomains(writeResolvConf(t, tt.conf))
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("readSearchDomains = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := readSearchDomains(writeResolvConf(t, "search bad..example\n")); err == nil {
		t.Error("an invalid search domain must be an error")
	}
}

// errorNamesLine is how a Corefile error names its place: caddy's
// "<file>:<line> - Error during parsing: ...".
var errorNamesLine = regexp.MustCompile(`Testfile:\d+ - `)

// FuzzParse feeds arbitrary Corefile stanzas to the parser: it must never
// panic, and every error it returns must name the line, as an operator
// fixing a typo in a ConfigMap needs.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"clusterdns",
		"clusterdns cluster.local in-addr.arpa ip6.arpa {\n pods insecure\n fallthrough in-addr.arpa ip6.arpa\n ttl 30\n}",
		"clusterdns {\n pods verified\n endpoint_pod_names\n namespaces a b\n labels app=web\n}",
		"clusterdns {\n namespace_labels team in (a,b)\n ignore empty_service\n noendpoints\n}",
		"clusterdns {\n startup_timeout 3s\n apiserver_qps 50\n apiserver_burst 100\n apiserver_max_inflight 10\n}",
		"clusterdns {\n kubeconfig /nonexistent ctx\n}",
		"clusterdns {\n endpoint https://127.0.0.1:6443\n tls cert key ca\n}",
		"clusterdns {\n search_path {\n resolv_conf /nonexistent\n }\n}",
		"clusterdns {\n source file /nonexistent\n}",
		"clusterdns {\n ttl 3601\n}",
		"clusterdns {\n multicluster clusterset.local\n}",
		"clusterdns {\n zonal\n noendpoints\n}",
		"clusterdns cluster.local clusterset.local {\n multicluster clusterset.local\n}",
		"clusterdns {\n pods\n}",
		"clusterdns {\n}",
		"clusterdns cluster.local {\n fallthrough\n}\nclusterdns",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		// CoreDNS calls setup only for a stanza that starts with the
		// directive.
		if !strings.HasPrefix(input, "clusterdns") {
			input = "clusterdns " + input
		}
		c := caddy.NewTestController("dns", input)
		c.ServerBlockKeys = []string{"cluster.local:53"}
		cd, err := parse(c)
		if err != nil {
			if !errorNamesLine.MatchString(err.Error()) {
				t.Fatalf("error does not name the line: %q\ninput:\n%s", err, input)
			}
			return
		}
		if cd == nil {
			t.Fatalf("no error and no plugin for\n%s", input)
		}
		if len(cd.Zones) == 0 || strings.Contains(strings.Join(cd.Zones, ""), " ") {
			t.Fatalf("zones %q from\n%s", cd.Zones, input)
		}
	})
}

// newController returns a controller on input in a server block for
// cluster.local.
func newController(input string) *caddy.Controller {
	c := caddy.NewTestController("dns", input)
	c.ServerBlockKeys = []string{"cluster.local:53"}
	return c
}

// writeResolvConf writes a resolv.conf into the test's directory and
// returns its path.
func writeResolvConf(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
