// Package clusterdns is a CoreDNS plugin that answers Kubernetes cluster DNS
// (services, endpoints and pods under the cluster zone, and their reverse
// records) from an in-memory index of the cluster, fed by the Kubernetes API
// or by a manifests file. It is a drop-in replacement for the kubernetes
// plugin: the same Corefile options, the same answers.
//
// The data flows one way: a source (package source/...) turns objects into
// changes, the index (package index) turns changes into an immutable DNS
// view, and the resolver (package resolver) answers questions from it. This
// package is the CoreDNS glue: Corefile parsing, ServeDNS, readiness and
// metrics.
package clusterdns

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/pkg/upstream"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

const pluginName = "clusterdns"

var log = clog.NewWithPlugin(pluginName)

// Source feeds the index. Start blocks until the first sync or until the
// source gives up waiting for it; Stop is safe to call twice.
type Source interface {
	Start() error
	Stop()
}

// ClusterDNS is the plugin.
type ClusterDNS struct {
	Next  plugin.Handler
	Zones []string
	Fall  fall.F

	cfg      config
	index    *index.Index
	resolver *resolver.Resolver
	source   Source
	upstream *upstream.Upstream

	// selfProbe is the address Ready asks before it first says ready ("":
	// none); answering latches its first answer.
	selfProbe string
	answering atomic.Bool
}

// config is everything the Corefile says, with the defaults of New.
type config struct {
	resolver.Config
	index index.Options

	// API source settings (endpoint, tls, kubeconfig, apiserver_*).
	api apiConfig
	// sourceFile, when set, reads manifests from this file instead of the
	// Kubernetes API.
	sourceFile string
	// search, when set, completes pods' search walks on the server
	// (search_path).
	search *searchPath
	// snapshotReady reports Ready while the snapshot is served, before
	// the source has synced (snapshot_ready).
	snapshotReady bool
}

type apiConfig struct {
	endpoint          string
	tlsCert           string
	tlsKey            string
	tlsCA             string
	kubeconfig        string
	kubeconfigContext string
	namespaceSelector string // namespace_labels, as written
	labelSelector     string // labels, as written
	startupTimeout    time.Duration
	qps               float32
	burst             int
	maxInflight       int
	snapshot          string // the last-known-good file (snapshot)
	snapshotInterval  time.Duration
	set               bool // an API-only option was given
	setLine           int  // where, for the error if source file is used too
}

// Defaults of the options, as in the stock kubernetes plugin.
const (
	defaultTTL            = 5
	defaultStartupTimeout = 5 * time.Second
)

// New returns a plugin for zones with every option at its default.
func New(zones []string) *ClusterDNS {
	return &ClusterDNS{
		Zones: zones,
		cfg: config{
			Config: resolver.Config{Zones: zones, TTL: defaultTTL, Pods: resolver.PodsDisabled},
			api:    apiConfig{startupTimeout: defaultStartupTimeout},
		},
		upstream: upstream.New(),
	}
}

// localAddrs are the server's addresses that ns.dns.<zone> may answer
// with: the hosts it listens on, else the interface addresses; loopback
// ones only when there are no others.
func localAddrs(listenHosts []string, ifaceAddrs []string) []netip.Addr {
	hosts := listenHosts
	if len(hosts) == 0 || hosts[0] == "" {
		hosts = ifaceAddrs
	}
	var out, loopback []netip.Addr
	for _, h := range hosts {
		var a netip.Addr
		if p, err := netip.ParsePrefix(h); err == nil {
			a = p.Addr()
		} else if a, err = netip.ParseAddr(h); err != nil {
			continue
		}
		a = a.Unmap().WithZone("")
		switch {
		case a.IsLoopback():
			loopback = append(loopback, a)
		case !a.IsLinkLocalUnicast() && !a.IsUnspecified():
			out = append(out, a)
		}
	}
	// A server bound to loopback only (a node-local cache, a test) is
	// reached there: the NS glue must not be empty.
	if len(out) == 0 {
		return loopback
	}
	return out
}
