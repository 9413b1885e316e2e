package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// podAPI is the API server of a pod watch under test: each list or watch
// the watch makes waits, in calls, for the test to answer it. The tests
// run in a synctest bubble, so that synctest.Wait tells when the watch has
// applied what it was sent and blocks on its next call.
type podAPI struct {
	ix     *index.Index
	w      *podWatch
	calls  chan apiCall
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
}

type apiCall struct {
	opts  metav1.ListOptions
	list  bool
	reply chan apiReply
}

type apiReply struct {
	watch watch.Interface
	page  *corev1.PodList
	err   error
}

// startPodWatch runs a pod watch on a fresh index; it must be called in a
// synctest bubble.
func startPodWatch(t *testing.T, preload ...index.Change) *podAPI {
	ix := index.New(index.Options{Pods: true})
	ix.Apply(preload...)
	ix.Synced()
	a := &podAPI{ix: ix, calls: make(chan apiCall), done: make(chan struct{})}
	call := func(ctx context.Context, o metav1.ListOptions, list bool) apiReply {
		c := apiCall{opts: o, list: list, reply: make(chan apiReply)}
		select {
		case a.calls <- c:
		case <-ctx.Done():
			return apiReply{err: ctx.Err()}
		}
		select {
		case r := <-c.reply:
			return r
		case <-ctx.Done():
			return apiReply{err: ctx.Err()}
		}
	}
	a.w = &podWatch{
		ix: ix,
		list: func(ctx context.Context, o metav1.ListOptions) (*corev1.PodList, error) {
			r := call(ctx, o, true)
			return r.page, r.err
		},
		watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			r := call(ctx, o, false)
			return r.watch, r.err
		},
		synced: make(chan struct{}), backoff: podBackoff, maxBackoff: podBackoffMax,
	}
	ctx, cancel := context.WithCancel(t.Context())
	a.cancel = cancel
	go func() {
		defer close(a.done)
		a.w.run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-a.done
	})
	return a
}

// next returns the watch's next call. Time passes while it waits (the
// watch may be backing off); a watch that never calls again deadlocks the
// bubble, which fails the test.
func (a *podAPI) next(t *testing.T) apiCall {
	t.Helper()
	return <-a.calls
}

// stream expects a streaming list and answers it with a watch.
func (a *podAPI) stream(t *testing.T) *watch.FakeWatcher {
	t.Helper()
	c := a.next(t)
	if c.list || c.opts.SendInitialEvents == nil || !*c.opts.SendInitialEvents ||
		c.opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan || !c.opts.AllowWatchBookmarks || c.opts.ResourceVersion != "" {
		t.Fatalf("call %+v (list %v), want a streaming list", c.opts, c.list)
	}
	fw := watch.NewFake()
	c.reply <- apiReply{watch: fw}
	return fw
}

// initial answers the expected streaming list with pods, then the
// bookmark at rv that ends them, and returns the watch it goes on as.
func (a *podAPI) initial(t *testing.T, rv string, pods ...*corev1.Pod) *watch.FakeWatcher {
	t.Helper()
	fw := a.stream(t)
	for _, p := range pods {
		fw.Add(p)
	}
	fw.Action(watch.Bookmark, bookmark(rv, true))
	return fw
}

// watchFrom expects a plain watch from rv and answers it.
func (a *podAPI) watchFrom(t *testing.T, rv string) *watch.FakeWatcher {
	t.Helper()
	c := a.next(t)
	if c.list || c.opts.SendInitialEvents != nil || c.opts.ResourceVersion != rv || !c.opts.AllowWatchBookmarks {
		t.Fatalf("call %+v (list %v), want a watch from %s", c.opts, c.list, rv)
	}
	fw := watch.NewFake()
	c.reply <- apiReply{watch: fw}
	return fw
}

// ip returns the address the index holds for pod prod/name, or "none".
func (a *podAPI) ip(name string) string {
	o, _ := a.ix.Object(object.KindPod, "prod", name)
	if p, ok := o.(*object.Pod); ok && len(p.IPs) > 0 {
		return p.IPs[0].String()
	}
	return "none"
}

func (a *podAPI) wantIPs(t *testing.T, when string, want map[string]string) {
	t.Helper()
	synctest.Wait()
	for name, ip := range want {
		if got := a.ip(name); got != ip {
			t.Errorf("%s: pod %s at %s, want %s", when, name, got, ip)
		}
	}
}

func (a *podAPI) synced() bool {
	synctest.Wait()
	select {
	case <-a.w.Done():
		return true
	default:
		return false
	}
}

func testPod(name, ip, rv string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod", ResourceVersion: rv},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
	}
}

func podChange(name, ip string) index.Change {
	p, err := object.FromPod(testPod(name, ip, "1"))
	if err != nil {
		panic(err)
	}
	return index.Change{Kind: object.KindPod, Namespace: "prod", Name: name, Object: p}
}

// bookmark is a bookmark at rv; end marks it as the end of the initial
// events.
func bookmark(rv string, end bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv}}
	if end {
		p.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	}
	return p
}

var gone = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonExpired,
	Message: "too old resource version: 5 (20)"}

// TestPodWatchSyncs: the pods of the initial stream apply as they arrive,
// and the bookmark that ends them is the pods' sync; the same stream then
// goes on as a watch.
func TestPodWatchSyncs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := startPodWatch(t)
		fw := a.stream(t)
		fw.Add(testPod("a", "10.0.0.1", "3"))
		fw.Add(testPod("b", "10.0.0.2", "4"))
		if a.synced() {
			t.Fatal("synced before the bookmark that ends the initial events")
		}
		a.wantIPs(t, "initial events", map[string]string{"a": "10.0.0.1", "b": "10.0.0.2"})
		fw.Action(watch.Bookmark, bookmark("5", false))
		if a.synced() {
			t.Fatal("synced at a bookmark that does not end the initial events")
		}
		fw.Action(watch.Bookmark, bookmark("6", true))
		if !a.synced() {
			t.Fatal("not synced after the initial events")
		}
		// The watch after them: a new address, a stopped pod, a deletion.
		fw.Modify(testPod("a", "10.0.0.3", "7"))
		stopped := testPod("b", "10.0.0.2", "8")
		stopped.Status.Phase = corev1.PodSucceeded
		fw.Modify(stopped)
		fw.Add(testPod("c", "10.0.0.4", "9"))
		a.wantIPs(t, "watch", map[string]string{"a": "10.0.0.3", "b": "none", "c": "10.0.0.4"})
		fw.Delete(testPod("c", "10.0.0.4", "10"))
		a.wantIPs(t, "deleted", map[string]string{"c": "none"})
	})
}

// TestPodWatchRelistsOnGone: 410 Gone on the watch makes exactly one
// relist; the pods answer through it, and a pod deleted while the watch
// was down is dropped at its end.
func TestPodWatchRelistsOnGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := startPodWatch(t)
		fw := a.initial(t, "5", testPod("kept", "10.0.0.1", "3"), testPod("deleted", "10.0.0.2", "4"))
		fw.Error(gone)

		fw = a.stream(t)
		fw.Add(testPod("kept", "10.0.0.1", "3"))
		a.wantIPs(t, "during the relist", map[string]string{"kept": "10.0.0.1", "deleted": "10.0.0.2"})
		fw.Action(watch.Bookmark, bookmark("20", true))
		a.wantIPs(t, "after the relist", map[string]string{"kept": "10.0.0.1", "deleted": "none"})
		// The stream goes on as the watch: a later 410 relists again, at
		// once (the relist between ended a run of failures).
		fw.Action(watch.Bookmark, bookmark("21", false))
		start := time.Now()
		fw.Error(gone)
		fw = a.initial(t, "30")
		if waited := time.Since(start); waited != 0 {
			t.Errorf("the second 410 relisted after %s, want at once", waited)
		}
		// One relist each: once the stream ends, the watch resumes where
		// it was.
		fw.Stop()
		a.watchFrom(t, "30")
	})
}

// TestExpired: what only a relist goes on from, as client-go's reflector
// tells it.
func TestExpired(t *testing.T) {
	tooLarge := apierrors.NewTimeoutError("Too large resource version", 1)
	tooLarge.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge}}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{name: "410 Expired", err: apierrors.FromObject(gone), want: true},
		// What older API servers send (apierrors.NewGone, deprecated).
		{name: "410 Gone", err: &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonGone, Message: "gone"}}, want: true},
		{name: "continue token expired", err: apierrors.NewResourceExpired("continue token expired"), want: true},
		{name: "resource version too large", err: tooLarge, want: true},
		{name: "timeout", err: apierrors.NewTimeoutError("slow", 1)},
		{name: "internal error", err: apierrors.NewInternalError(errors.New("x"))},
		{name: "connection", err: errors.New("connection reset by peer")},
	} {
		if got := expired(tc.err); got != tc.want {
			t.Errorf("%s: expired %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPodWatchResumes: a watch that ends resumes from the last resource
// version seen (an event's or a bookmark's), with no relist.
func TestPodWatchResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := startPodWatch(t)
		fw := a.initial(t, "5")
		fw.Add(testPod("a", "10.0.0.1", "6"))
		fw.Stop()
		fw = a.watchFrom(t, "6")
		fw.Action(watch.Bookmark, bookmark("9", false))
		fw.Stop()
		fw = a.watchFrom(t, "9")
		fw.Modify(testPod("a", "10.0.0.2", "10"))
		a.wantIPs(t, "resumed watch", map[string]string{"a": "10.0.0.2"})
		fw.Stop()
		a.watchFrom(t, "10")
	})
}

// TestPodWatchListFallback: from an API server that refuses streaming
// lists, the pods are listed in pages, each applied as it arrives, within
// one relist; the watch goes on from the list's resource version. An
// expired continue token starts the list over.
func TestPodWatchListFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := startPodWatch(t, podChange("deleted", "10.0.0.9"))
		refused := apierrors.NewInvalid(schema.GroupKind{Kind: "ListOptions"}, "", nil)
		page := func(wantContinue string, p *corev1.PodList, err error) {
			t.Helper()
			c := a.next(t)
			if !c.list || c.opts.Limit != listPage || c.opts.Continue != wantContinue {
				t.Fatalf("call %+v (list %v), want a list of %d from %q", c.opts, c.list, listPage, wantContinue)
			}
			c.reply <- apiReply{page: p, err: err}
		}
		for _, expire := range []bool{true, false} {
			c := a.next(t)
			if c.opts.SendInitialEvents == nil {
				t.Fatalf("call %+v, want a streaming list first", c.opts)
			}
			c.reply <- apiReply{err: refused}
			page("", &corev1.PodList{ListMeta: metav1.ListMeta{Continue: "c1", ResourceVersion: "30"},
				Items: []corev1.Pod{*testPod("a", "10.0.0.1", "11"), *testPod("b", "10.0.0.2", "12")}}, nil)
			a.wantIPs(t, "first page", map[string]string{"a": "10.0.0.1", "b": "10.0.0.2", "deleted": "10.0.0.9"})
			if a.synced() {
				t.Fatal("synced after the first page")
			}
			if expire {
				page("c1", nil, apierrors.NewResourceExpired("continue token expired"))
				continue
			}
			page("c1", &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "30"},
				Items: []corev1.Pod{*testPod("c", "10.0.0.3", "13")}}, nil)
		}
		if !a.synced() {
			t.Fatal("not synced after the last page")
		}
		a.wantIPs(t, "listed", map[string]string{"a": "10.0.0.1", "b": "10.0.0.2", "c": "10.0.0.3", "deleted": "none"})
		a.watchFrom(t, "30")
	})
}

// TestPodWatchKeepsPodThatDoesNotConvert: a pod that does not convert
// keeps what was indexed, through a relist and on the watch.
func TestPodWatchKeepsPodThatDoesNotConvert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := startPodWatch(t, podChange("odd", "10.0.0.1"))
		fw := a.initial(t, "5", testPod("odd", "10.0.0.x", "3"), testPod("new-odd", "10.0.0.y", "4"))
		a.wantIPs(t, "after the relist", map[string]string{"odd": "10.0.0.1", "new-odd": "none"})
		fw.Modify(testPod("odd", "10.0.0.z", "6"))
		a.wantIPs(t, "on the watch", map[string]string{"odd": "10.0.0.1"})
	})
}

// TestPodWatchBacksOff: errors back off, doubling, jittered and capped,
// and a stop in the middle of a wait returns at once.
func TestPodWatchBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := startPodWatch(t)
		a.w.backoff, a.w.maxBackoff = time.Second, 4*time.Second
		fail := apierrors.NewInternalError(errors.New("the API server failed"))
		// A relist tries the streaming list, then the pages.
		failRelist := func() {
			t.Helper()
			for range 2 {
				a.next(t).reply <- apiReply{err: fail}
			}
		}
		failRelist()
		for _, d := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
			start := time.Now()
			failRelist()
			if waited := time.Since(start); waited < d/2 || waited > d {
				t.Errorf("waited %s after a failure, want %s to %s", waited, d/2, d)
			}
		}
		synctest.Wait() // in the backoff
		start := time.Now()
		a.cancel()
		<-a.done
		if waited := time.Since(start); waited != 0 {
			t.Errorf("a stop during the backoff returned after %s, want at once", waited)
		}
	})
}

// TestPodWatchOverREST: through the source's REST client and transports,
// an API server that refuses streaming lists (WatchList off) gets a LIST in
// pages of listPage, each a list in flight for the memory limit
// (relisttransport.go), as the refused streaming list was; then a watch
// from the list's resource version.
func TestPodWatchOverREST(t *testing.T) {
	type request struct {
		query         url.Values
		listsInFlight int32
	}
	requests := make(chan request, 8)
	pod := func(name, ip string) string {
		return fmt.Sprintf(`{"metadata":{"name":%q,"namespace":"prod","resourceVersion":"11"},"status":{"phase":"Running","podIP":%q,"podIPs":[{"ip":%q}]}}`, name, ip, ip)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests <- request{query: r.URL.Query(), listsInFlight: lists.Load()}
		withoutWatchList(w, r, func() {
			switch {
			case r.URL.Path != "/api/v1/pods":
				http.NotFound(w, r)
			case r.URL.Query().Get("continue") == "":
				fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"30","continue":"c1"},"items":[%s]}`, pod("a", "10.0.0.1"))
			default:
				fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"30"},"items":[%s]}`, pod("b", "10.0.0.2"))
			}
		})
	}))
	t.Cleanup(srv.Close)
	ix := index.New(index.Options{Pods: true})
	w := runPodWatch(t, srv.URL, ix)

	for _, want := range []struct {
		what                                       string
		watch, initial, limit, cont, rv, bookmarks string
		inFlight                                   int32
	}{
		{what: "streaming list", watch: "true", initial: "true", bookmarks: "true", inFlight: 1},
		{what: "first page", limit: "500", inFlight: 1},
		{what: "second page", limit: "500", cont: "c1", inFlight: 1},
		{what: "watch", watch: "true", rv: "30", bookmarks: "true"},
	} {
		var r request
		select {
		case r = <-requests:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", want.what)
		}
		q := r.query
		if q.Get("watch") != want.watch || q.Get("sendInitialEvents") != want.initial || q.Get("limit") != want.limit ||
			q.Get("continue") != want.cont || q.Get("resourceVersion") != want.rv || q.Get("allowWatchBookmarks") != want.bookmarks {
			t.Errorf("%s: query %s", want.what, q.Encode())
		}
		if r.listsInFlight != want.inFlight {
			t.Errorf("%s: %d lists in flight, want %d", want.what, r.listsInFlight, want.inFlight)
		}
	}
	select {
	case <-w.Done():
	default:
		t.Error("watching, yet not synced")
	}
	for name, ip := range map[string]string{"a": "10.0.0.1", "b": "10.0.0.2"} {
		if o, _ := ix.Object(object.KindPod, "prod", name); o == nil || o.(*object.Pod).IPs[0].String() != ip {
			t.Errorf("pod %s: %v, want at %s", name, o, ip)
		}
	}
}

// TestPodWatchBacksOffEmptyWatches: a watch that ends without an event
// is resumed after a backoff, growing while they end so, not at once: an
// API server that ends every watch at once would be asked in a busy loop.
// A watch with an event ends the run.
func TestPodWatchBacksOffEmptyWatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := startPodWatch(t)
		a.w.backoff, a.w.maxBackoff = time.Second, 4*time.Second
		fw := a.initial(t, "5")
		fw.Stop() // the stream had events: resumed at once
		start := time.Now()
		fw = a.watchFrom(t, "5")
		if waited := time.Since(start); waited != 0 {
			t.Errorf("a watch with events resumed after %s, want at once", waited)
		}
		for _, d := range []time.Duration{time.Second, 2 * time.Second} {
			start := time.Now()
			fw.Stop()
			fw = a.watchFrom(t, "5")
			if waited := time.Since(start); waited < d/2 || waited > d {
				t.Errorf("a watch that ended without an event resumed after %s, want %s to %s", waited, d/2, d)
			}
		}
		fw.Add(testPod("a", "10.0.0.1", "6"))
		fw.Stop()
		start = time.Now()
		a.watchFrom(t, "6")
		if waited := time.Since(start); waited != 0 {
			t.Errorf("a watch with an event after empty ones resumed after %s, want at once", waited)
		}
	})
}

// TestPodWatchStreamCutOff: a streaming list that ends before the
// bookmark that ends its initial events is no sync and drops nothing; the
// relist starts over, and what its first try delivered counts for nothing
// at the end of the second.
func TestPodWatchStreamCutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := startPodWatch(t, podChange("b", "10.0.0.2"))
		fw := a.stream(t)
		fw.Add(testPod("a", "10.0.0.1", "3"))
		fw.Stop() // cut off: b not delivered yet
		if a.synced() {
			t.Fatal("synced by a streaming list cut off before its bookmark")
		}
		a.wantIPs(t, "relist cut off", map[string]string{"a": "10.0.0.1", "b": "10.0.0.2"})

		fw = a.initial(t, "5", testPod("b", "10.0.0.2", "4"))
		if !a.synced() {
			t.Fatal("not synced by the streaming list started over")
		}
		a.wantIPs(t, "relist ended", map[string]string{"a": "none", "b": "10.0.0.2"})
		fw.Stop()
		a.watchFrom(t, "5")
	})
}

// TestPodWatchGoneTwiceBacksOff: 410 Gone on the watch relists at once,
// but 410 on that relist, before any pod, backs off before the next: an
// API server that answers every relist so would be asked in a busy loop.
func TestPodWatchGoneTwiceBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := startPodWatch(t)
		a.w.backoff, a.w.maxBackoff = time.Second, 4*time.Second
		fw := a.initial(t, "5")
		fw.Error(gone)
		start := time.Now()
		fw = a.stream(t)
		if waited := time.Since(start); waited != 0 {
			t.Errorf("410 on the watch relisted after %s, want at once", waited)
		}
		start = time.Now()
		fw.Error(gone)
		a.initial(t, "30")
		// The second failure in a row: the backoff doubled once.
		if waited := time.Since(start); waited < time.Second || waited > 2*time.Second {
			t.Errorf("410 on the relist relisted after %s, want 1s to 2s", waited)
		}
	})
}

// runPodWatch runs a source's pod watch, of the API server at url into
// ix, until the test's cleanup.
func runPodWatch(t *testing.T, url string, ix *index.Index) *podWatch {
	t.Helper()
	s := New(Config{Endpoint: url, Pods: true}, ix)
	rc, err := RESTConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newClients(rc, false)
	if err != nil {
		t.Fatal(err)
	}
	w := s.newPodWatch(c.pods())
	goUntilCleanup(t, w.run)
	return w
}

// goUntilCleanup runs run in a goroutine until the test's cleanup, which
// cancels its context and waits for it to return.
func goUntilCleanup(t *testing.T, run func(context.Context)) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// withoutWatchList answers r as an API server without streaming lists
// (WatchList off): it refuses them, holds a watch open without an event,
// and answers a LIST with list, in JSON.
func withoutWatchList(w http.ResponseWriter, r *http.Request, list func()) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case q.Get("sendInitialEvents") == "true":
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Invalid","code":422,"message":"sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"}`)
	case q.Get("watch") == "true":
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	default:
		list()
	}
}
