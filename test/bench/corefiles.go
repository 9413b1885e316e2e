package bench

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ports are a server's listen ports, all on 127.0.0.1.
type ports struct {
	dns, ready, health, metrics int
}

func freePorts(tb testing.TB) ports {
	tb.Helper()
	return ports{dns: freePort(tb), ready: freePort(tb), health: freePort(tb), metrics: freePort(tb)}
}

// freePort returns a port free on 127.0.0.1 for both UDP and TCP.
func freePort(tb testing.TB) int {
	tb.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	tb.Fatal("no free port on 127.0.0.1")
	return 0
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
	snapshot := ""
	if c.snapshot != "" {
		snapshot = "        snapshot " + c.snapshot + " 1s\n"
	}
	fmt.Fprintf(&b, `    %s cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %s
        pods %s
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
%s    }
    forward . %s
}
`, c.plugin, c.kubeconfig, c.podsMode, snapshot, c.upstream)
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
	b, err := os.ReadFile("../../corefiles/Corefile")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

var (
	serverBlockRE = regexp.MustCompile(`(?m)^\.:53 \{`)
	readyRE       = regexp.MustCompile(`(?m)^(\s*)ready\s*$`)
	prometheusRE  = regexp.MustCompile(`(?m)^(\s*)prometheus :9153\s*$`)
	forwardRE     = regexp.MustCompile(`(?m)^(\s*)forward \. /etc/resolv\.conf`)
	healthRE      = regexp.MustCompile(`(?m)^(\s*)health( \{)?\s*$`)
	clusterRE     = regexp.MustCompile(`(?m)^(\s*)(kubernetes|clusterdns) (cluster\.local[^{\n]*)\{\s*$`)
	// snapshotRE is clusterdns's last-known-good file; only its Corefile
	// has one.
	snapshotRE = regexp.MustCompile(`(?m)^(\s*)snapshot /\S+`)
)

// localize points a default Corefile at this machine: free loopback ports,
// the test bed's API server, the local upstream. It fails when a line it
// must rewrite is missing, so a changed default cannot silently measure
// something else.
func localize(tb testing.TB, corefile string, p ports, kubeconfig, upstream string) string {
	tb.Helper()
	steps := []struct {
		re   *regexp.Regexp
		repl string
	}{
		{serverBlockRE, fmt.Sprintf(".:%d {\n    bind 127.0.0.1", p.dns)},
		{readyRE, fmt.Sprintf("${1}ready 127.0.0.1:%d", p.ready)},
		{prometheusRE, fmt.Sprintf("${1}prometheus 127.0.0.1:%d", p.metrics)},
		{forwardRE, "${1}forward . " + upstream},
		{healthRE, fmt.Sprintf("${1}health 127.0.0.1:%d$2", p.health)},
		{clusterRE, "${1}$2 ${3}{\n${1}    kubeconfig " + kubeconfig},
	}
	for _, s := range steps {
		if !s.re.MatchString(corefile) {
			tb.Fatalf("localize: no line matching %s in Corefile:\n%s", s.re, corefile)
		}
		corefile = s.re.ReplaceAllString(corefile, s.repl)
	}
	return snapshotRE.ReplaceAllString(corefile, "${1}snapshot "+filepath.Join(tb.TempDir(), "snapshot"))
}
