// Package build is the clusterdns server: the set of plugins compiled in and
// the order they run in. It lives outside cmd/ so that tests start exactly
// the server the binary runs.
//
// The order is CoreDNS's own generated order (dnsserver.Directives, from
// its plugin.cfg) with clusterdns in the slot of kubernetes, and without the
// directives whose plugins are not compiled in. Deriving it, instead of
// typing a list, keeps it right when CoreDNS moves or adds a plugin.
package build

import (
	"slices"

	"github.com/coredns/coredns/core/dnsserver"

	// The stock plugins a cluster DNS server needs.
	_ "github.com/coredns/coredns/plugin/autopath"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/debug"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metadata"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/pprof"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/rewrite"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/transfer"
	_ "github.com/coredns/coredns/plugin/whoami"

	// Ours: the cluster plugin, and k8s_external answering from it.
	_ "github.com/clusterdns/clusterdns/plugin/clusterdns"
	_ "github.com/clusterdns/clusterdns/plugin/k8s_external"
)

// Plugins are the directives compiled into clusterdns, by name. dnstap
// comes with forward, which imports it.
var Plugins = []string{
	"autopath", "bind", "cache", "clusterdns", "debug", "dnstap", "errors", "file", "forward",
	"health", "hosts", "k8s_external", "loadbalance", "log", "loop", "metadata", "pprof", "prometheus",
	"ready", "reload", "rewrite", "template", "transfer", "whoami",
}

func init() {
	if err := dnsserver.SetDirectives(Directives(dnsserver.Directives)); err != nil {
		panic(err)
	}
}

// Directives returns the execution order for clusterdns from CoreDNS's
// order: clusterdns where kubernetes is, and only the compiled-in plugins,
// plus the renamed directives (kubernetes, right after clusterdns), which
// exist to fail with their new name (see renamed). It panics if CoreDNS's
// order has no kubernetes slot, which would make the placement a guess.
func Directives(stock []string) []string {
	i := slices.Index(stock, "kubernetes")
	if i < 0 {
		panic("build: CoreDNS directive order has no kubernetes slot")
	}
	out := make([]string, 0, len(Plugins)+len(renamed))
	for _, d := range stock {
		if d == "kubernetes" {
			out = append(out, "clusterdns")
		}
		if _, ok := renamed[d]; ok || slices.Contains(Plugins, d) {
			out = append(out, d)
		}
	}
	return out
}
