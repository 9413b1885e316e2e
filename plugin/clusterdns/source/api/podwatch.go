package api

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// podWatch lists and watches the pods straight into the index, with no
// store of its own. An informer keeps every pod in its store besides the
// index (about 150 B a pod in steady state), and through a relist its
// reflector fills a second store with the new list while the first keeps
// the old one: at 150k pods the live heap went from 88 to 144 MB during a
// relist. Here a relist is the index's (BeginPodRelist, each pod applied
// as it arrives, EndPodRelist drops the pods not delivered). A watch in
// protobuf, as the API server sends it, is read straight into what the
// index keeps (podproto.go), and no pod is decoded whole; in JSON and in a
// LIST's pages each is, and is garbage once converted.
//
// A relist is a streaming list (a watch with sendInitialEvents, which
// relisttransport.go counts for the memory limit until its closing
// bookmark), or, from an API server that refuses one, a LIST in pages,
// each applied as it arrives (each page counted by Source.list until it
// is decoded). After it, a watch from the last resource version seen: a
// watch that ends is resumed there, and only 410 Gone (the version is too
// old) relists.
type podWatch struct {
	ix    *index.Index
	list  func(context.Context, metav1.ListOptions) (*corev1.PodList, error)
	watch func(context.Context, metav1.ListOptions) (watch.Interface, error)
	// synced is closed at the end of the first relist.
	synced     chan struct{}
	syncedOnce sync.Once
	// backoff and maxBackoff bound the wait after the nth failure in a
	// row: backoff doubled n-1 times, at most maxBackoff, jittered.
	backoff, maxBackoff time.Duration
}

// listPage is the number of pods a LIST asks for at a time: a page, not
// the list, is held while it is applied.
const listPage = 500

// The backoff after an error the API server answered (awaitAPI holds the
// requests of an API server that is down): as client-go's reflector,
// less its two minutes before a reset.
const (
	podBackoff    = time.Second
	podBackoffMax = 30 * time.Second
)

// minWatchTimeout is the shortest watch the API server is asked for, as
// client-go's reflector asks: each watch lasts between it and twice it,
// so that the watches of many replicas do not end together.
const minWatchTimeout = 5 * time.Minute

// newPodWatch watches c (the pods) through the source's REST client, with
// its transports (awaitAPI, maxInflight, relistWatch).
func (s *Source) newPodWatch(c collection) *podWatch {
	return &podWatch{
		ix: s.ix,
		list: func(ctx context.Context, o metav1.ListOptions) (*corev1.PodList, error) {
			out := &corev1.PodList{}
			return out, s.list(ctx, c, o, out)
		},
		watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.Watch = true
			return s.request(c, &o).Watch(ctx)
		},
		synced:     make(chan struct{}),
		backoff:    podBackoff,
		maxBackoff: podBackoffMax,
	}
}

// Name and Done make the pod watch a cache.DoneChecker, done once the
// pods are listed.
func (w *podWatch) Name() string          { return "pods (v1)" }
func (w *podWatch) Done() <-chan struct{} { return w.synced }

// errEmptyWatch is a watch that ended without an event: resumed at once,
// an API server that ends every watch so would be asked in a busy loop.
var errEmptyWatch = errors.New("the pods watch ended without an event")

// run lists and watches until ctx ends.
func (w *podWatch) run(ctx context.Context) {
	var (
		rv       string // the resource version to watch from; "" relists
		failures int    // in a row
		err      error
	)
	for ctx.Err() == nil {
		// progressed: an event or a page arrived, so the failures since
		// are not in a row with those before.
		var progressed bool
		if rv == "" {
			rv, progressed, err = w.relist(ctx)
		} else {
			rv, progressed, err = w.follow(ctx, rv)
		}
		if progressed {
			failures = 0
		}
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			continue
		}
		failures++
		if expired(err) {
			log.Infof("pods: %v: listing them again", err)
			rv = ""
			// At once, unless a relist just expired too.
			if failures == 1 {
				continue
			}
		} else if !errors.Is(err, errEmptyWatch) {
			log.Warningf("pods: %v", err)
		}
		if !w.sleep(ctx, failures) {
			return
		}
	}
}

// expired tells whether err says the resource version (or a list's
// continue token) is too old, or newer than the API server has (etcd
// restored from a backup): only a relist can go on from there.
func expired(err error) bool {
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err) ||
		apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge)
}

// sleep waits out the backoff after the nth failure in a row, and tells
// whether ctx is still going: a stop does not wait for the backoff.
func (w *podWatch) sleep(ctx context.Context, failures int) bool {
	d := min(w.backoff<<min(failures-1, 16), w.maxBackoff)
	t := time.NewTimer(d/2 + rand.N(d/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// relist lists every pod into the index and returns the resource version
// to watch from; on an error, "" (the relist must start over). It tells
// whether any pod or page arrived, as follow, listPages and stream do.
func (w *podWatch) relist(ctx context.Context) (string, bool, error) {
	w.ix.BeginPodRelist()
	sendInitialEvents := true
	wi, err := w.watch(ctx, metav1.ListOptions{
		SendInitialEvents:    &sendInitialEvents,
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
		AllowWatchBookmarks:  true,
		TimeoutSeconds:       watchTimeout(),
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", false, err
		}
		// An API server without streaming lists (WatchList off, or older
		// than 1.27) says so here; client-go's reflector falls back to a
		// LIST on any error too.
		log.Infof("pods: streaming list refused (%v): listing them in pages", err)
		return w.listPages(ctx)
	}
	return w.stream(ctx, wi, true, "")
}

// listPages lists the pods a page at a time, applying each as it arrives,
// and ends the relist. An expired continue token fails it: the caller
// starts the relist over.
func (w *podWatch) listPages(ctx context.Context) (string, bool, error) {
	o := metav1.ListOptions{Limit: listPage}
	for pages := 0; ; pages++ {
		page, err := w.list(ctx, o)
		if err != nil {
			return "", pages > 0, err
		}
		for i := range page.Items {
			w.apply(watch.Added, slimPodOf(&page.Items[i]))
		}
		if page.Continue == "" {
			w.endRelist()
			return page.ResourceVersion, true, nil
		}
		o.Continue = page.Continue
	}
}

// follow watches from rv and returns the last resource version seen.
func (w *podWatch) follow(ctx context.Context, rv string) (string, bool, error) {
	wi, err := w.watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true, TimeoutSeconds: watchTimeout()})
	if err != nil {
		return rv, false, err
	}
	return w.stream(ctx, wi, false, rv)
}

// stream applies wi's events until it ends, and returns the last resource
// version seen. While listing (a streaming list) that is "" until the
// bookmark that ends the initial events, which ends the relist: the
// initial events' versions are the pods' own, in no order, and a watch
// cut off among them cannot be resumed.
func (w *podWatch) stream(ctx context.Context, wi watch.Interface, listing bool, rv string) (string, bool, error) {
	defer wi.Stop()
	events := 0
	result := func(err error) (string, bool, error) {
		if listing {
			return "", events > 0, err
		}
		return rv, events > 0, err
	}
	for {
		var ev watch.Event
		select {
		case <-ctx.Done():
			return result(ctx.Err())
		case e, ok := <-wi.ResultChan():
			if !ok {
				switch {
				case listing:
					return result(errors.New("the pods' streaming list ended before its last pod"))
				case events == 0:
					return result(errEmptyWatch)
				}
				return result(nil)
			}
			ev = e
		}
		if ev.Type == watch.Error {
			return result(apierrors.FromObject(ev.Object))
		}
		events++
		if u, ok := ev.Object.(*unknownEvent); ok {
			log.Warningf("pods: event of unknown type %q ignored", u.eventType)
			continue
		}
		p, ok := podOf(ev.Object)
		if !ok {
			log.Warningf("pods: %s event of type %T ignored", ev.Type, ev.Object)
			continue
		}
		switch ev.Type {
		case watch.Bookmark:
			rv = p.resourceVersion
			if listing && p.initialEventsEnd {
				w.endRelist()
				listing = false
			}
		case watch.Added, watch.Modified, watch.Deleted:
			rv = p.resourceVersion
			w.apply(ev.Type, p)
		}
	}
}

// podOf returns the pod of an event: decoded from protobuf by the pod
// watch's codecs (podproto.go), or by client-go (JSON, a test's watch).
func podOf(o runtime.Object) (*slimPod, bool) {
	switch p := o.(type) {
	case *slimPod:
		return p, true
	case *corev1.Pod:
		return slimPodOf(p), true
	}
	return nil, false
}

// apply applies one pod event to the index.
func (w *podWatch) apply(t watch.EventType, p *slimPod) {
	c := index.Change{Kind: object.KindPod, Namespace: p.namespace, Name: p.name}
	if t != watch.Deleted {
		switch {
		case p.err != nil:
			// One odd pod loses nothing: what was indexed stays, applied
			// again as it is, so that a relist counts it delivered and
			// does not drop it at its end.
			log.Errorf("ignoring pod %s/%s: %v", p.namespace, p.name, p.err)
			indexed, _ := w.ix.Object(object.KindPod, p.namespace, p.name)
			if indexed == nil {
				return
			}
			c.Object = indexed
		case p.pod != nil:
			c.Object = p.pod
		}
		// A stopped pod converts to nil: deleted.
	}
	w.ix.ApplyDeferred(c)
}

// endRelist drops the pods the relist did not deliver; the first relist
// is the pods' sync.
func (w *podWatch) endRelist() {
	if n := w.ix.EndPodRelist(); n > 0 {
		log.Infof("pods: %d deleted while not watched", n)
	}
	w.syncedOnce.Do(func() { close(w.synced) })
}

// watchTimeout is a watch's timeout, between minWatchTimeout and twice
// it.
func watchTimeout() *int64 {
	s := int64((minWatchTimeout + rand.N(minWatchTimeout)) / time.Second)
	return &s
}
