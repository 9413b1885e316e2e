// Package api is the Kubernetes API source: client-go informers on
// Services, EndpointSlices and Namespaces, whose objects are converted to
// slim objects before they are queued and applied to the index one change
// at a time, and (only when a mode needs them) a watch that streams Pods
// straight into the index (podwatch.go).
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
)

var log = clog.NewWithPlugin("clusterdns")

// Config says how to reach the API and what to watch.
type Config struct {
	// Endpoint is the API server URL; with TLS files it replaces the
	// in-cluster config.
	Endpoint                      string
	TLSCert, TLSKey, TLSCA        string
	Kubeconfig, KubeconfigContext string
	QPS                           float32
	Burst                         int
	// MaxInflight bounds concurrent non-watch requests; 0 is unbounded.
	MaxInflight int
	// Namespace, when set, limits every watch to one namespace.
	Namespace string
	// LabelSelector filters Services, NamespaceSelector Namespaces, on the
	// API server.
	LabelSelector, NamespaceSelector string
	// Pods watches Pods (pods verified).
	Pods bool
	// PodsBeforeReady holds the first sync until the pods are listed too.
	// Without it Services, EndpointSlices and Namespaces are served once
	// listed, and pod names SERVFAIL until the pods are (Index.
	// SyncedBeforePods); with visibility every answer depends on the
	// client's pod, and a pod not listed yet would be taken for a client
	// that is no pod.
	PodsBeforeReady bool
	// NoEndpoints skips the EndpointSlice watch.
	NoEndpoints bool
	// Multicluster watches ServiceImports (the multicluster option).
	// Without it the source never asks for them, and needs no RBAC for
	// them.
	Multicluster bool
	// StartupTimeout bounds how long Start waits for the first sync; after
	// it the server starts anyway and answers SERVFAIL for cluster names
	// until the sync completes.
	StartupTimeout time.Duration
	// Snapshot, when set, is the file of the last-known-good view: served
	// at start until the informers sync when the API server cannot be
	// reached (or the startup timeout passes), and rewritten every
	// SnapshotInterval while the view changes.
	Snapshot         string
	SnapshotInterval time.Duration
	// OnSnapshotWrite, when set, is called after every snapshot write
	// with its error (nil on success), for metrics.
	OnSnapshotWrite func(err error)
}

// shutdownGrace bounds how long Stop waits for the informers to return.
const shutdownGrace = 2 * time.Second

// Source feeds an index from the Kubernetes API.
type Source struct {
	cfg       Config
	ix        *index.Index
	cancel    context.CancelFunc
	stop      sync.Once
	done      chan struct{}
	published chan struct{}  // closed when the publisher has returned
	informers sync.WaitGroup // the informers' and the pod watch's goroutines, from Start
	saver     sync.WaitGroup // the snapshot saver, once synced
}

// New returns a source for cfg; nothing connects until Start.
func New(cfg Config, ix *index.Index) *Source {
	return &Source{cfg: cfg, ix: ix, done: make(chan struct{}), published: make(chan struct{})}
}

// RESTConfig builds the client config from cfg: a kubeconfig, an endpoint
// with TLS files, or the in-cluster service account.
func RESTConfig(cfg Config) (*rest.Config, error) {
	var (
		rc  *rest.Config
		err error
	)
	switch {
	case cfg.Kubeconfig != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cfg.Kubeconfig}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.KubeconfigContext}
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	case cfg.Endpoint != "":
		rc = &rest.Config{Host: cfg.Endpoint}
		if cfg.TLSCert != "" {
			rc.TLSClientConfig = rest.TLSClientConfig{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CAFile: cfg.TLSCA}
		}
	default:
		// In a pod: the service account. Outside one (an operator
		// debugging, a test), $KUBECONFIG as kubectl reads it.
		rc, err = rest.InClusterConfig()
		if errors.Is(err, rest.ErrNotInCluster) && os.Getenv("KUBECONFIG") != "" {
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config: %w", err)
	}
	rc.UserAgent = userAgent()
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	if cfg.QPS > 0 {
		rc.QPS = cfg.QPS
	}
	if cfg.Burst > 0 {
		rc.Burst = cfg.Burst
	}
	// Innermost: a streaming list counts (for the memory limit) from the
	// request the API server gets to the end of its initial events, not
	// while it waits for a slot or for the API server to come back.
	rc.Wrap(newRelistWatch)
	if cfg.MaxInflight > 0 {
		rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return newMaxInflight(rt, cfg.MaxInflight) })
	}
	return rc, nil
}

func userAgent() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return "clusterdns/" + v
}

// Start starts the informers and waits up to the startup timeout for them
// to sync. A bad client configuration is an error; an API server that does
// not answer in time is not: the server starts and syncs later.
func (s *Source) Start() error {
	rc, err := RESTConfig(s.cfg)
	if err != nil {
		return err
	}
	// Outermost: a request waiting for the API server to come back holds
	// no inflight slot.
	await := newAwaitAPI(nil)
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { await.next = rt; return await })
	clients, err := newClients(rc, s.cfg.Multicluster)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	identity := s.identity(rc.Host)
	preloaded := s.preload(identity)

	// DoneCheckers, not HasSynced funcs: WaitForCacheSync polls those every
	// 100 ms, which would hold Ready back by up to that long after the
	// last list arrived.
	var synced []cache.DoneChecker
	var informers []cache.Controller
	register := func(r resource) {
		inf := s.informer(r)
		informers = append(informers, inf)
		synced = append(synced, inf.HasSyncedChecker())
	}
	// The `labels` option filters Services and `namespace_labels`
	// Namespaces on the API server.
	register(clients.services(s.cfg.LabelSelector))
	if s.cfg.Namespace == "" {
		register(clients.namespaces(s.cfg.NamespaceSelector))
	}
	if !s.cfg.NoEndpoints {
		register(clients.endpointSlices())
	}
	if s.cfg.Multicluster {
		register(clients.serviceImports(s.cfg.LabelSelector))
	}
	// The pods stream into the index with no informer (podwatch.go).
	var pods *podWatch
	if s.cfg.Pods {
		pods = s.newPodWatch(clients.pods())
	}
	// Events apply as they arrive and publish coalesced: a relist would
	// otherwise publish (and copy a shard) once per object.
	// The memory limit follows the live heap (memory.go), at once after
	// a burst of changes and every limitEvery for growth that comes
	// without one.
	go func() {
		defer close(s.published)
		var follower sync.WaitGroup
		defer follower.Wait()
		follower.Go(func() { followLiveHeap(ctx) })
		s.ix.RunPublisher(ctx, func(changes int) {
			if changes >= releaseAfterChanges {
				releaseListGarbage()
			} else {
				limitMemory()
			}
		})
	}()
	// The pods start once the rest has synced: their list (150k pods:
	// about 6 KB each to decode) would otherwise compete for the API
	// server and the CPU with the lists Ready waits for.
	s.run(ctx, informers)

	// Wait for the sync, up to the startup timeout; with a snapshot
	// served, only as long as the API server is reachable: a Corefile
	// reload still swaps in a synced instance, a start during an outage
	// answers from the snapshot at once.
	syncCtx, syncCancel := context.WithTimeout(ctx, s.cfg.StartupTimeout)
	defer syncCancel()
	if preloaded {
		go func() {
			select {
			case <-await.down:
				syncCancel()
			case <-syncCtx.Done():
			}
		}()
	}
	if s.cfg.PodsBeforeReady && pods != nil {
		// The pods start with the rest and the first sync waits for them.
		s.runPods(ctx, pods)
		synced, pods = append(synced, pods), nil
	}
	if cache.WaitFor(syncCtx, "", synced...) {
		if pods == nil {
			s.synced(ctx, identity)
			// In the background: the collection takes tens of
			// milliseconds, and the server starts listening only when
			// Start returns.
			go releaseListGarbage()
			close(s.done)
			return nil
		}
		// The pods are most of a big cluster's sync (150k pods: tens of
		// seconds, 10k Services: one): serve the rest now, pod names
		// SERVFAIL until they are listed.
		s.ix.SyncedBeforePods()
		s.runPods(ctx, pods)
		go s.awaitSync(ctx, identity, []cache.DoneChecker{pods}, "pods synced with the Kubernetes API")
		return nil
	}
	switch {
	case preloaded:
		log.Warningf("not synced with the Kubernetes API: answering from the snapshot until synced")
	default:
		log.Warningf("not synced with the Kubernetes API after %s: starting anyway, cluster names get SERVFAIL until synced", s.cfg.StartupTimeout)
	}
	go func() {
		if pods != nil {
			if cache.WaitFor(ctx, "", synced...) {
				s.runPods(ctx, pods)
			}
			synced = append(synced, pods)
		}
		s.awaitSync(ctx, identity, synced, "synced with the Kubernetes API")
	}()
	return nil
}

// run runs informers until ctx ends; Stop waits for them.
func (s *Source) run(ctx context.Context, informers []cache.Controller) {
	for _, inf := range informers {
		s.informers.Go(func() { inf.RunWithContext(ctx) })
	}
}

// runPods runs the pod watch, if any, until ctx ends; Stop waits for it
// as for the informers.
func (s *Source) runPods(ctx context.Context, w *podWatch) {
	if w != nil {
		s.informers.Go(func() { w.run(ctx) })
	}
}

// awaitSync waits for the informers of checkers to sync, then makes the
// index live with everything (synced) and says so.
func (s *Source) awaitSync(ctx context.Context, identity string, checkers []cache.DoneChecker, done string) {
	defer close(s.done)
	if cache.WaitFor(ctx, "", checkers...) {
		s.synced(ctx, identity)
		releaseListGarbage()
		log.Info(done)
	}
}

// synced makes the index live and starts saving snapshots of it.
func (s *Source) synced(ctx context.Context, identity string) {
	s.ix.Synced()
	if s.cfg.Snapshot == "" {
		return
	}
	s.saver.Go(func() { s.runSaver(ctx, identity) })
}

// releaseAfterChanges is the size of a burst of changes after which the
// garbage is released: a relist of a large cluster, not a rollout.
const releaseAfterChanges = 10_000

// Stop stops the informers and waits for their goroutines. It is safe to
// call twice, and before Start.
func (s *Source) Stop() {
	s.stop.Do(func() {
		if s.cancel == nil {
			return
		}
		s.cancel()
		<-s.done
		<-s.published
		s.saver.Wait()
		// An informer returns once its reflector has, and client-go's
		// watch-list retry sleeps out its backoff (up to 30 s) without
		// looking at the stop channel when the API server is gone. Waiting
		// that long would stall a reload and overrun the pod's grace period:
		// wait a bounded time, the stragglers exit once their sleep ends.
		shutdown := make(chan struct{})
		go func() {
			s.informers.Wait()
			close(shutdown)
		}()
		select {
		case <-shutdown:
		case <-time.After(shutdownGrace):
			log.Warningf("informers still stopping after %s (waiting out an API retry backoff); not waiting longer", shutdownGrace)
		}
	})
}

// convert converts an API object to what DNS reads of it: an
// *object.Service, ..., or an *unconverted when it converts to nothing
// or fails to. A conversion error is queued too, and reported by apply
// (events.go): one odd object must not stall a watch. ok is false for
// anything else, which the transform passes on as it is: an object
// already converted (a streaming list's, which client-go transforms as it
// streams and again as it queues the list).
func convert(in any) (obj any, ok bool) {
	var (
		m   *metav1.ObjectMeta
		err error
	)
	switch o := in.(type) {
	case *corev1.Service:
		m = &o.ObjectMeta
		obj, err = object.FromService(o)
	case *discoveryv1.EndpointSlice:
		m = &o.ObjectMeta
		obj, err = object.FromEndpointSlice(o)
	case *corev1.Namespace:
		m = &o.ObjectMeta
		obj = object.FromNamespace(o)
	case *mcsv1alpha1.ServiceImport:
		m = &o.ObjectMeta
		obj, err = object.FromServiceImport(o)
	default:
		return in, false
	}
	if err != nil || object.MetaOf(obj) == nil {
		// Failed, or converted to nothing (a FQDN EndpointSlice's typed nil).
		obj = &unconverted{Meta: object.Meta{Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion}, err: err}
	}
	return obj, true
}
