// Package clusterdns is a CoreDNS plugin that answers Kubernetes cluster DNS
// (services, endpoints and pods under the cluster zone, and their reverse
// records) from an in-memory index of the cluster, fed by the Kubernetes API
// or by a manifests file. It is a drop-in replacement for the kubernetes
// plugin: the same Corefile options, the same answers.
//
// The data flows one way: a source (package source/...) turns objects into
// changes, the index (package index) turns changes into an immutable DNS
// view, and the resolver (package resolver) answers questions from it. This
// package is the CoreDNS glue, a file per concern: Corefile parsing
// (setup.go), ServeDNS (handler.go), the server-side search path
// (searchpath.go), ExternalName targets (externalname.go), readiness
// (ready.go), metadata (metadata.go), metrics (metrics.go), zone transfer
// (xfr.go), autopath (autopath.go), the lookups of k8s_external
// (k8sexternal.go), the name kubernetes they find it by (stockname.go), and
// explain (explain.go, its HTTP endpoint explainhttp.go, and the query
// history it reads, history.go).
package clusterdns

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/pkg/upstream"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/source/api"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/source/file"
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
	// autopathInChain is set in OnStartup, before the server serves, when
	// the server block has the autopath plugin.
	autopathInChain bool

	// history keeps the per-client query history (nil: off).
	history *history
	// explainServer serves explain (nil: off); chain is what it tells of
	// the cache and forward plugins, read in OnStartup.
	explainServer *explainServer
	chain         atomic.Pointer[chainInfo]
}

// config is everything the Corefile says, with the defaults of New. Each
// option is written once, into the struct of the part it configures.
type config struct {
	resolver.Config
	index index.Options

	// api is the Kubernetes API source's configuration (endpoint, tls,
	// kubeconfig, namespace_labels, labels, apiserver_*, startup_timeout,
	// snapshot); what other options imply (pods verified, noendpoints, a
	// single namespace) is added when the source is built.
	api api.Config
	// apiLine is the line of the first option only the API source reads
	// (0: none), for the error when the file source is used too.
	apiLine int
	// file, when its Path is set, reads manifests from that file instead
	// of the Kubernetes API (source file).
	file file.Config
	// fileAt is the Corefile file and line of `source file`, for the
	// errors of a file that cannot be loaded at start.
	fileAt string
	// search, when set, completes pods' search walks on the server
	// (search_path).
	search *searchPath
	// autoPath are the lists AutoPath gives, per zone, after the pod's own
	// first name (built only with pods verified).
	autoPath []zoneWalk
	// snapshotReady reports Ready while the snapshot is served, before
	// the source has synced (snapshot_ready).
	snapshotReady bool
	// explain, when its addr is set, serves explanations (explain).
	explain explainConfig
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
			api:    api.Config{StartupTimeout: defaultStartupTimeout},
		},
		upstream: upstream.New(),
	}
}

// wire builds the index, resolver and source from the parsed config.
func (cd *ClusterDNS) wire() {
	cd.cfg.index.Programmed = observeProgramming
	cd.cfg.index.BadTTL = func(namespace, name, value string) {
		log.Warningf("service %s/%s: ignoring %s %q: want whole seconds in [0, %d]", namespace, name, object.TTLAnnotation, value, object.MaxTTL)
		badTTLAnnotations.Inc()
	}
	cd.cfg.index.Skipped = func(kind object.Kind, namespace, name string, reason index.SkipReason, why string) {
		log.Warningf("skipping %s %s/%s: %s", kind, namespace, name, why)
		skippedObjects.WithLabelValues(kind.String(), string(reason)).Inc()
	}
	cd.index = index.New(cd.cfg.index)
	cd.resolver = resolver.New(cd.cfg.Config)
	cd.source = cd.newSource()
}

// newSource builds the source the Corefile asks for: a manifests file, or
// the Kubernetes API.
func (cd *ClusterDNS) newSource() Source {
	if cd.cfg.file.Path != "" {
		cfg := cd.cfg.file
		cfg.OnLoad = countResult(sourceLoads)
		return file.New(cfg, cd.index)
	}
	cfg := cd.cfg.api
	cfg.Pods = cd.cfg.index.Pods
	cfg.NoEndpoints = cd.cfg.index.NoEndpoints
	cfg.Multicluster = cd.cfg.index.Multicluster
	cfg.OnSnapshotWrite = countResult(snapshotWrites)
	if cd.cfg.index.Visibility != nil {
		// Clients are pods of every namespace, and selectors match every
		// namespace's labels: watch them all, unfiltered; the index
		// applies namespaces and namespace_labels to what it serves.
		cfg.NamespaceSelector = ""
		cfg.PodsBeforeReady = true
		return api.New(cfg, cd.index)
	}
	// One namespace: watch only it. More: watch all, the index filters.
	if ns := cd.cfg.index.Filter.Namespaces; len(ns) == 1 {
		for n := range ns {
			cfg.Namespace = n
		}
	}
	return api.New(cfg, cd.index)
}

// start starts the source. It runs in OnStartup, not in setup, because
// it talks to the API server and starts goroutines that stop must end.
func (cd *ClusterDNS) start() error {
	instances.add(cd)
	err := cd.source.Start()
	if err != nil && cd.cfg.fileAt != "" {
		// The error names the manifests file; say which line of which
		// Corefile asked for it, as a parse error would.
		return plugin.Error(pluginName, fmt.Errorf("%s - source file: %w", cd.cfg.fileAt, err))
	}
	return err
}

func (cd *ClusterDNS) stop() error {
	cd.source.Stop()
	instances.remove(cd)
	return nil
}
