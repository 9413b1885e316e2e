package bench

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// ports are a server's listen ports, all on 127.0.0.1.
type ports struct {
	dns, ready, health, metrics, explain int
}

func freePorts(tb testing.TB) ports {
	tb.Helper()
	return ports{dns: testkit.FreePort(tb), ready: testkit.FreePort(tb), health: testkit.FreePort(tb), metrics: testkit.FreePort(tb), explain: testkit.FreePort(tb)}
}

// benchConfig is what a measured Corefile varies in.
type benchConfig struct {
	// plugin is "clusterdns", "kubernetes" or "whoami".
	plugin     string
	cache      bool
	podsMode   string // insecure or verified
	kubeconfig string
	upstream   string // host:port of the local upstream
	// snapshot, when set, is clusterdns's snapshot file (1 s interval).
	snapshot string
	// history turns on clusterdns's per-client query history (explain).
	history bool
	// multicluster adds the clusterset zone with `multicluster` (KEP-1645).
	multicluster bool
	// visibility turns on clusterdns's visibility option (visibility.go).
	visibility bool
}

// benchCorefile is the Corefile both servers run under load: the same
// plugins around the cluster plugin (errors, ready, prometheus, forward and
// optionally cache 30, as in a default deployment), so that the difference
// measured is the cluster plugin's. For the whoami ceiling the cluster
// plugin and forward give way to whoami, which answers every query with
// the client's address: the cost of CoreDNS's server and the plugins
// around it.
func benchCorefile(c benchConfig, p ports) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n    bind 127.0.0.1\n    errors\n    ready 127.0.0.1:%d\n    prometheus 127.0.0.1:%d\n", p.dns, p.ready, p.metrics)
	if c.cache {
		b.WriteString("    cache 30\n")
	}
	if c.plugin == Whoami {
		b.WriteString("    whoami\n}\n")
		return b.String()
	}
	zones, options := "cluster.local in-addr.arpa ip6.arpa", ""
	if c.multicluster {
		zones = "cluster.local " + clustersetZone + " in-addr.arpa ip6.arpa"
		options += "        multicluster " + clustersetZone + "\n"
	}
	if c.snapshot != "" {
		options += "        snapshot " + c.snapshot + " 1s\n"
	}
	if c.history {
		options += fmt.Sprintf("        explain 127.0.0.1:%d {\n            history\n        }\n", p.explain)
	}
	if c.visibility {
		options += visibilityBlock
	}
	fmt.Fprintf(&b, `    %s %s {
        kubeconfig %s
        pods %s
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
%s    }
    forward . %s
}
`, c.plugin, zones, c.kubeconfig, c.podsMode, options, c.upstream)
	return b.String()
}

// kubeadmCorefile is the Corefile kubeadm v1.37 installs
// (cmd/kubeadm/app/phases/addons/dns/manifests.go, CoreDNSConfigMap, with
// DNSDomain cluster.local): the default of most clusters running CoreDNS.
const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`

// corednsDeploymentCorefile is CoreDNS's own default
// (github.com/coredns/deployment, kubernetes/coredns.yaml.sed), which
// older kubeadm releases and many hand-made installs still run: cache 30
// in front of cluster names too.
const corednsDeploymentCorefile = `.:53 {
    errors
    health {
      lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf {
      max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`

// shippedCorefile reads corefiles/Corefile, clusterdns's default.
func shippedCorefile(tb testing.TB) string {
	tb.Helper()
	return testkit.RepoFile(tb, "corefiles/Corefile")
}

// localize points a default Corefile at this machine (testkit.Localize):
// free loopback ports, the test bed's API server through a kubeconfig added
// to the cluster block, the local upstream, a snapshot file in the test's
// temp dir. It fails when the Corefile cannot be made local, so a changed
// default cannot silently measure something else.
func localize(tb testing.TB, corefile string, p ports, kubeconfig, upstream string) string {
	tb.Helper()
	out, err := testkit.Localize(corefile, testkit.Local{
		DNS: p.dns, Health: p.health, Ready: p.ready, Metrics: p.metrics,
		Upstream:      upstream,
		Kubeconfig:    kubeconfig,
		AddKubeconfig: true,
		Snapshot:      filepath.Join(tb.TempDir(), "snapshot"),
	})
	if err != nil {
		tb.Fatalf("localize: %v\nCorefile:\n%s", err, corefile)
	}
	return out
}
