package api

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
)

// The source talks to the API through one REST client per group it reads
// (core/v1, discovery/v1), decoding with a scheme of those two groups
// alone. client-go's typed clientset (k8s.io/client-go/kubernetes) and its
// informer factory would link and register every API group, about sixty,
// to read four kinds: about 9 MiB of resident memory in a process whose
// base is about 40 MiB, and a fifth of its binary. The same holds for
// mcs-api's clientset, whose scheme registers both of its versions at
// start: ServiceImports come through a REST client too, with a scheme of
// their own made only when the multicluster option is on.

var (
	scheme = runtime.NewScheme()
	codecs = serializer.NewCodecFactory(scheme)
)

// mcsCodecs decode the multicluster group (ServiceImports, v1alpha1 as
// stock reads). A scheme of its own, built the first time a source
// watches ServiceImports: a server without the option registers nothing
// of it, and registering into the shared scheme while another source's
// informers decode with it (a Corefile reload that turns the option on)
// would race.
var mcsCodecs = sync.OnceValue(func() serializer.CodecFactory {
	s := runtime.NewScheme()
	utilruntime.Must(mcsv1alpha1.Install(s))
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return serializer.NewCodecFactory(s)
})

func init() {
	utilruntime.Must(corev1.AddToScheme(scheme))
	utilruntime.Must(discoveryv1.AddToScheme(scheme))
	// The unversioned meta types (Status, ListOptions' parameters), as
	// client-go's own scheme registers them.
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
}

// clients are the REST clients of the groups the source reads; mcs only
// with the multicluster option.
type clients struct {
	core, discovery, mcs rest.Interface
	// corePods is core/v1 again, with the pod watch's codecs (podproto.go).
	corePods rest.Interface
}

// newClients builds the REST clients of rc, sharing one HTTP client and,
// as a clientset does, one rate limiter of rc's QPS and burst.
func newClients(rc *rest.Config, multicluster bool) (*clients, error) {
	cfg := *rc
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	httpClient, err := rest.HTTPClientFor(&cfg)
	if err != nil {
		return nil, err
	}
	client := func(gv schema.GroupVersion, apiPath string, codecs runtime.NegotiatedSerializer) (rest.Interface, error) {
		c := cfg
		c.GroupVersion, c.APIPath = &gv, apiPath
		c.NegotiatedSerializer = codecs
		return rest.RESTClientForConfigAndClient(&c, httpClient)
	}
	core, err := client(corev1.SchemeGroupVersion, "/api", codecs.WithoutConversion())
	if err != nil {
		return nil, err
	}
	pods, err := client(corev1.SchemeGroupVersion, "/api", newPodCodecs(codecs.WithoutConversion()))
	if err != nil {
		return nil, err
	}
	discovery, err := client(discoveryv1.SchemeGroupVersion, "/apis", codecs.WithoutConversion())
	if err != nil {
		return nil, err
	}
	c := &clients{core: core, discovery: discovery, corePods: pods}
	if multicluster {
		// Custom resources are served as JSON only: the protobuf content
		// type of the other clients would be refused.
		cfg.ContentType = runtime.ContentTypeJSON
		if c.mcs, err = client(mcsv1alpha1.SchemeGroupVersion, "/apis", mcsCodecs().WithoutConversion()); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// collection is where the source lists and watches a kind.
type collection struct {
	client   rest.Interface
	name     string // the API's plural: "services"
	selector string // a label selector, or ""
	// namespaced kinds are read in the source's namespace, if it has one.
	namespaced bool
}

// resource is one kind an informer watches.
type resource struct {
	collection
	kind    object.Kind
	object  runtime.Object // an empty object of the kind
	newList func() runtime.Object
}

func (c *clients) services(selector string) resource {
	return resource{kind: object.KindService, collection: collection{client: c.core, name: "services", selector: selector, namespaced: true},
		object: &corev1.Service{}, newList: func() runtime.Object { return &corev1.ServiceList{} }}
}

func (c *clients) namespaces(selector string) resource {
	return resource{kind: object.KindNamespace, collection: collection{client: c.core, name: "namespaces", selector: selector},
		object: &corev1.Namespace{}, newList: func() runtime.Object { return &corev1.NamespaceList{} }}
}

func (c *clients) endpointSlices() resource {
	return resource{kind: object.KindEndpointSlice, collection: collection{client: c.discovery, name: "endpointslices", namespaced: true},
		object: &discoveryv1.EndpointSlice{}, newList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} }}
}

// serviceImports are read with the `labels` selector, as Services: they
// are the clusterset's Services. The multi-cluster EndpointSlices come
// through the EndpointSlice informer, which already lists every slice: no
// second watch of them, unlike stock's.
func (c *clients) serviceImports(selector string) resource {
	return resource{kind: object.KindServiceImport, collection: collection{client: c.mcs, name: "serviceimports", selector: selector, namespaced: true},
		object: &mcsv1alpha1.ServiceImport{}, newList: func() runtime.Object { return &mcsv1alpha1.ServiceImportList{} }}
}

// pods are read by the pod watch (podwatch.go), not by an informer: a
// collection, not a resource.
func (c *clients) pods() collection {
	return collection{client: c.corePods, name: "pods", namespaced: true}
}

// informer returns an informer on r, which applies its changes to the
// index (Source.apply).
func (s *Source) informer(r resource) cache.Controller {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			out := r.newList()
			if err := s.list(ctx, r.collection, o, out); err != nil {
				return nil, err
			}
			return out, nil
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.Watch = true
			return s.request(r.collection, &o).Watch(ctx)
		},
	}
	return s.newInformer(lw, r.object, r.kind, fmt.Sprintf("%s (%s)", r.name, r.client.APIVersion()),
		func(d cache.Deltas) { s.apply(r.kind, d) })
}

// newInformer returns an informer on lw, which lists and watches objects
// like obj (of kind, described so in client-go's logs), converts each
// with s.transform, and hands process each change, in order, as a list
// of one delta.
//
// It has no store: the index holds every object the informer delivered,
// and is the only copy. A client-go informer's store (a map of
// "namespace/name" keys to the stored objects) cost 92 bytes a Service
// at 10k Services, 75 of them scanned by the collector (see dropLabels in
// events.go). What a store gives an informer the index gives here: the
// objects a relist no longer delivers (Index.Names), and the object an
// update replaces, which apply compares with (Index.Object). An object
// the index leaves out (a ServiceImport without IPs, a multi-cluster
// slice with bad labels) is not there to compare with: each update and
// relist applies it, and the index reports it skipped, again. Nor is it a
// shared informer: that calls its handlers from a goroutine of their own,
// through a buffer of notifications that grows to hold a list's every
// object (sent at once, faster than a handler applies them) and never
// shrinks, another 26 bytes a Service, all of them scanned.
//
// The queue emits a relist whole (ReplacedAll, its objects converted);
// no resync period, so no resyncs.
func (s *Source) newInformer(lw cache.ListerWatcher, obj runtime.Object, kind object.Kind, description string, process func(cache.Deltas)) cache.Controller {
	return cache.New(&cache.Config{
		Queue: cache.NewRealFIFOWithOptions(cache.RealFIFOOptions{
			KeyFunction:  cache.MetaNamespaceKeyFunc,
			Transformer:  s.transform(kind),
			AtomicEvents: true,
		}),
		ListerWatcher:     lw,
		ObjectType:        obj,
		ObjectDescription: description,
		Process: func(d any, _ bool) error {
			deltas, ok := d.(cache.Deltas)
			if !ok {
				return fmt.Errorf("%s: queue popped %T, not deltas", description, d)
			}
			process(deltas)
			return nil
		},
	})
}

// list lists c with o into out, a list in flight for the memory limit
// (memory.go) from the request leaving for the API server until out is
// decoded: Do reads the whole answer and Into decodes it after, and the
// decode makes a list's garbage. The transport (relisttransport.go) opens
// the window, so that a LIST waiting for client-go's rate limiter, an
// inflight slot or an API server that is down (an outage can last
// minutes) does not keep the limit tight meanwhile; list closes it.
func (s *Source) list(ctx context.Context, c collection, o metav1.ListOptions, out runtime.Object) error {
	w := new(listWindow)
	defer w.close()
	return s.request(c, &o).Do(context.WithValue(ctx, listWindowKey{}, w)).Into(out)
}

// request is a list or watch of c with o: its selector, and its namespace
// if it is namespaced and the source has one.
func (s *Source) request(c collection, o *metav1.ListOptions) *rest.Request {
	if c.selector != "" {
		o.LabelSelector = c.selector
	}
	req := c.client.Get().Resource(c.name).VersionedParams(o, metav1.ParameterCodec)
	if c.namespaced {
		req = req.Namespace(s.cfg.Namespace)
	}
	if o.TimeoutSeconds != nil {
		req = req.Timeout(time.Duration(*o.TimeoutSeconds) * time.Second)
	}
	return req
}
