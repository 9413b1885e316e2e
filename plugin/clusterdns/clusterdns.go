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
// (ready.go), metadata (metadata.go) and metrics (metrics.go).
package clusterdns

import (
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

// wire builds the index, resolver and source from the parsed config.
func (cd *ClusterDNS) wire() error {
	cd.cfg.index.Programmed = observeProgramming
	cd.cfg.index.BadTTL = func(namespace, name, value string) {
		log.Warningf("service %s/%s: ignoring %s %q: want whole seconds in [0, %d]", namespace, name, object.TTLAnnotation, value, object.MaxTTL)
		badTTLAnnotations.Inc()
	}
	cd.index = index.New(cd.cfg.index)
	cd.resolver = resolver.New(cd.cfg.Config)
	src, err := cd.newSource()
	if err != nil {
		return err
	}
	cd.source = src
	return nil
}

// newSource builds the source the Corefile asks for: a manifests file, or
// the Kubernetes API.
func (cd *ClusterDNS) newSource() (Source, error) {
	if cd.cfg.sourceFile != "" {
		return file.New(cd.cfg.sourceFile, cd.index, file.WithOnLoad(func(err error) {
			if err != nil {
				sourceLoads.WithLabelValues("error").Inc()
				return
			}
			sourceLoads.WithLabelValues("ok").Inc()
		})), nil
	}
	a := cd.cfg.api
	cfg := api.Config{
		Endpoint:          a.endpoint,
		TLSCert:           a.tlsCert,
		TLSKey:            a.tlsKey,
		TLSCA:             a.tlsCA,
		Kubeconfig:        a.kubeconfig,
		KubeconfigContext: a.kubeconfigContext,
		QPS:               a.qps,
		Burst:             a.burst,
		MaxInflight:       a.maxInflight,
		LabelSelector:     a.labelSelector,
		NamespaceSelector: a.namespaceSelector,
		Pods:              cd.cfg.Pods == resolver.PodsVerified,
		NoEndpoints:       cd.cfg.index.NoEndpoints,
		StartupTimeout:    a.startupTimeout,
		Snapshot:          a.snapshot,
		SnapshotInterval:  a.snapshotInterval,
		OnSnapshotWrite: func(err error) {
			if err != nil {
				snapshotWrites.WithLabelValues("error").Inc()
				return
			}
			snapshotWrites.WithLabelValues("ok").Inc()
		},
	}
	// One namespace: watch only it. More: watch all, the index filters.
	if ns := cd.cfg.index.Filter.Namespaces; len(ns) == 1 {
		for n := range ns {
			cfg.Namespace = n
		}
	}
	return api.New(cfg, cd.index), nil
}

// start starts the source. It runs in OnStartup, not in setup, because
// it talks to the API server and starts goroutines that stop must end.
func (cd *ClusterDNS) start() error {
	instances.add(cd)
	return cd.source.Start()
}

func (cd *ClusterDNS) stop() error {
	cd.source.Stop()
	instances.remove(cd)
	return nil
}
