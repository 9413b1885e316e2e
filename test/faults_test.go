package test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/cluster"
	"github.com/clusterdns/clusterdns/test/testkit"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// faults is the shared state of the fault scenarios: one API-only control
// plane (etcd and kube-apiserver), whose objects the tests write
// themselves, and clusterdns authenticated as the ServiceAccount of
// deploy/.
type faults struct {
	*e2e
}

// TestFaults breaks what clusterdns depends on while it serves a steady
// query load: the Corefile reloaded, the API server answering 429 and 500
// and expiring watches, the API server killed, etcd restarted. Through each
// fault every name that existed keeps its answer, and once the fault is
// over changes show up again without restarting clusterdns.
func TestFaults(t *testing.T) {
	c := cluster.Start(t, cluster.Options{APIOnly: true})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := &faults{&e2e{c: c, ctx: ctx}}
	f.kubeconfig = f.installRBAC(t)
	// Enough objects that a relist is real work (and shows in RSS if it
	// goes wrong), as in a small cluster.
	begin := time.Now()
	f.populate(t, f.namespace(t, "faults-bulk", nil), bulkServices)
	t.Logf("%d Services with an EndpointSlice each written in %v", bulkServices, time.Since(begin).Round(time.Millisecond))

	t.Run("Corefile reloads under load", f.reloadUnderLoad)
	t.Run("API server answers 429 and 500, watches expire", f.apiErrors)
	t.Run("API server killed under load", f.apiKilled)
	t.Run("etcd restarted under load", f.etcdRestart)
}

const (
	// bulkServices is how many Services (each with an EndpointSlice of
	// bulkEndpoints addresses) every clusterdns of the scenarios syncs.
	bulkServices  = 1000
	bulkEndpoints = 8
	// recoveryBound is how long a change may take to show up once a fault
	// is over. After a failed round of list and watch, client-go's
	// reflector waits 0.8 s, doubling each round up to 30 s, up to twice
	// that with jitter, and resets only 2 minutes after the informer
	// started. clusterdns holds lists and watches that meet a refused
	// connection or a 500/502/503 and retries them itself (every 200 ms,
	// or backing off to 5 s), so the reflector's backoff does not grow;
	// an expired watch (410) still costs one of its rounds.
	recoveryBound = 10 * time.Second
	// longFault is how long the 500s last: past five rounds of client-go's
	// backoff (0.8+1.6+3.2+6.4+12.8 = 24.8 s at the least, twice that
	// with full jitter), after which its next retry comes 25.6-51.2 s
	// later, far past recoveryBound. (13 s of 500s did not tell: client-go
	// alone recovered in 5.0 s, held requests in 3.1 s.)
	longFault = 30 * time.Second
	// outage is how long the API server or etcd stays down: long enough
	// for every informer to find its watch gone and retry a few times.
	outage = 5 * time.Second
)

// populate writes n Services into ns, each with a ready EndpointSlice,
// from a few goroutines (the API server takes writes in parallel).
func (f *faults) populate(t *testing.T, ns string, n int) {
	t.Helper()
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				name := fmt.Sprintf("bulk-%04d", i)
				ready := map[string]bool{}
				for j := range bulkEndpoints {
					// 10.128.0.0/9, 16 addresses per Service: unique.
					ip := netip.AddrFrom4([4]byte{10, byte(128 + i>>12), byte(i >> 4), byte(i&0xf<<4 | j)})
					ready[ip.String()] = true
				}
				_, err := f.c.Client.CoreV1().Services(ns).Create(f.ctx, serviceOf(name, false, nil), metav1.CreateOptions{})
				if err == nil {
					_, err = f.c.Client.DiscoveryV1().EndpointSlices(ns).Create(f.ctx, manualSlice(name, ready), metav1.CreateOptions{})
				}
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, fmt.Errorf("%s/%s: %w", ns, name, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// loadTargets creates the Services a query load asks for in ns (three
// with a ClusterIP, one headless with three ready endpoints) and returns
// each name with its A records, sorted.
func (f *faults) loadTargets(t *testing.T, ns string) map[string][]string {
	t.Helper()
	want := map[string][]string{}
	for _, name := range []string{"alpha", "beta", "gamma"} {
		svc, err := f.c.Client.CoreV1().Services(ns).Create(f.ctx, serviceOf(name, false, nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want[name+"."+ns+".svc.cluster.local."] = []string{svc.Spec.ClusterIP}
	}
	if _, err := f.c.Client.CoreV1().Services(ns).Create(f.ctx, serviceOf("pool", true, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pool := map[string]bool{"10.64.0.1": true, "10.64.0.2": true, "10.64.0.3": true}
	if _, err := f.c.Client.DiscoveryV1().EndpointSlices(ns).Create(f.ctx, manualSlice("pool", pool), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want["pool."+ns+".svc.cluster.local."] = []string{"10.64.0.1", "10.64.0.2", "10.64.0.3"}
	return want
}

// waitServing waits until s answers every name of want with its records.
func waitServing(t *testing.T, s *server, want map[string][]string) {
	t.Helper()
	for name, ips := range want {
		eventually(t, s, name, dns.TypeA, is(ips...))
	}
}

// timeToAnswer polls s for name every 10 ms until its A records are want
// (nil: NXDOMAIN) and returns how long that took. It fails the test after
// e2eTimeout; a slower answer than the caller's bound is the caller's to
// report, with the figure.
func timeToAnswer(t *testing.T, s *server, name string, want []string) time.Duration {
	t.Helper()
	slices.Sort(want)
	begin := time.Now()
	for {
		got, rcode := answers(t, s, name, dns.TypeA)
		if want == nil && rcode == dns.RcodeNameError || want != nil && rcode == dns.RcodeSuccess && slices.Equal(got, want) {
			return time.Since(begin)
		}
		if time.Since(begin) > e2eTimeout {
			t.Fatalf("%s: still %s %v after %v, want %v", name, dns.RcodeToString[rcode], got, e2eTimeout, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reloadUnderLoad changes the Corefile of a server under load a few times
// (the TTL): each reload starts a new instance, which syncs its own
// informers before it takes over, so no query may fail in between.
func (f *faults) reloadUnderLoad(t *testing.T) {
	ns := f.namespace(t, "faults-reload", nil)
	want := f.loadTargets(t, ns)
	port := testkit.FreePort(t)
	corefile := func(ttl int) string {
		return fmt.Sprintf(`cluster.local:%d {
    bind 127.0.0.1
    errors
    reload 2s 1s
    clusterdns {
        kubeconfig %s
        ttl %d
    }
}
`, port, f.kubeconfig, ttl)
	}
	s := startServer(t, corefile(10))
	waitServing(t, s, want)
	name := "alpha." + ns + ".svc.cluster.local."
	waitTTL := func(ttl uint32) time.Duration {
		t.Helper()
		begin := time.Now()
		for {
			r := query(t, s.Addr, "udp", name, dns.TypeA)
			if r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 && r.Answer[0].Header().Ttl == ttl {
				return time.Since(begin)
			}
			if time.Since(begin) > e2eTimeout {
				t.Fatalf("TTL %d never served: %v", ttl, r)
			}
			time.Sleep(testkit.PollInterval)
		}
	}

	load := startLoad(t, s.Addr, want)
	for _, ttl := range []int{11, 12, 13} {
		if err := os.WriteFile(s.Corefile, []byte(corefile(ttl)), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("TTL %d served %v after the Corefile was written", ttl, waitTTL(uint32(ttl)).Round(time.Millisecond))
	}
	load.finish(t, "3 Corefile reloads")
}

// apiErrors puts a fault-injecting proxy between clusterdns and the API
// server and, on one clusterdns process, has it refuse every request with
// 500, then expire every watch, then refuse every request with 429.
// Through each fault the names keep their answers and the memory stays
// flat; once the proxy passes requests again, a change made through the
// real API server shows up within recoveryBound.
func (f *faults) apiErrors(t *testing.T) {
	ns := f.namespace(t, "faults-proxy", nil)
	want := f.loadTargets(t, ns)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(f.c.Config.TLSClientConfig.CAData) {
		t.Fatal("the test bed's client config has no CA certificate")
	}
	p := newFaultProxy(t, f.c.Server, roots)
	s := (&e2e{c: f.c, ctx: f.ctx, kubeconfig: p.kubeconfig(t, f.kubeconfig)}).startClusterdns(t)
	waitServing(t, s, want)

	rss := startRSS(t, s.Pid())
	load := startLoad(t, s.Addr, want)
	// A second of load is the steady state the peaks are compared with:
	// the heap of a server that has synced and answers queries.
	time.Sleep(time.Second)
	steady := rss.window(t)
	limit := steady*3/2 + 32<<20
	t.Logf("steady RSS %s under load; limit through the faults %s", mib(steady), mib(limit))

	for _, fault := range []struct {
		name string
		mode proxyMode
		// felt says whether every informer has met the fault: the mode
		// stays on until then, however long client-go's backoff takes,
		// and for at least lasts.
		felt  func() error
		lasts time.Duration
	}{
		// 500s for longFault: clusterdns retries the held requests with
		// its own capped backoff, and relists as soon as one gets through.
		{name: "500 Internal Server Error", mode: internalError, felt: func() error { return p.everyInformer(outcomeInternal, 3) }, lasts: longFault},
		// Expired, then listed afresh: the client handled the 410. The
		// relist comes after a backoff delay, during the fault.
		{name: "watches expire (410)", mode: expireWatches, felt: func() error {
			return errors.Join(p.everyInformer(outcomeExpired, 1), p.everyInformer(outcomeRelisted, 1))
		}},
		// client-go retries a 429 with Retry-After itself, once a second,
		// without backing off.
		{name: "429 Too Many Requests", mode: tooManyRequests, felt: func() error { return p.everyInformer(outcomeTooMany, 3) }},
	} {
		ctx, cancel := context.WithTimeout(f.ctx, e2eTimeout)
		cluster.Eventually(t, ctx, fault.name+": every informer watching", func() error { return p.watching(2 * time.Second) })
		before := load.counts()
		begin := time.Now()
		p.set(fault.mode)
		cluster.Eventually(t, ctx, fault.name+": every informer met the fault", fault.felt)
		cancel()
		for time.Since(begin) < fault.lasts {
			time.Sleep(100 * time.Millisecond) // the load runs on meanwhile
		}
		lasted, what := time.Since(begin), p.summary()
		p.set(passThrough)

		// A new headless Service with an endpoint: its answer needs both
		// the Service and the EndpointSlice watch back.
		svc := "after-" + strconv.Itoa(int(fault.mode))
		ip := fmt.Sprintf("10.65.0.%d", fault.mode)
		if _, err := f.c.Client.CoreV1().Services(ns).Create(f.ctx, serviceOf(svc, true, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.c.Client.DiscoveryV1().EndpointSlices(ns).Create(f.ctx, manualSlice(svc, map[string]bool{ip: true}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		recovered := timeToAnswer(t, s, svc+"."+ns+".svc.cluster.local.", []string{ip})
		peak := rss.window(t)
		during := load.counts().minus(before)
		t.Logf("%s: fault on for %v (%s); a change answered %v after it ended; RSS peak %s; %s",
			fault.name, lasted.Round(time.Millisecond), what, recovered.Round(time.Millisecond), mib(peak), during)
		if recovered > recoveryBound {
			t.Errorf("%s: a change took %v to show up after the fault ended, want under %v", fault.name, recovered, recoveryBound)
		}
		if peak > limit {
			t.Errorf("%s: RSS peaked at %s, over %s (steady %s * 1.5 + 32 MiB)", fault.name, mib(peak), mib(limit), mib(steady))
		}
	}
	load.finish(t, "the three API faults")
}

// apiKilled kills the API server under load and starts it again: clusterdns
// answers from what it had all along, then picks up changes made after the
// restart.
func (f *faults) apiKilled(t *testing.T) {
	ns := f.namespace(t, "faults-kill", nil)
	want := f.loadTargets(t, ns)
	doomed, err := f.c.Client.CoreV1().Services(ns).Create(f.ctx, serviceOf("doomed", false, nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := f.startClusterdns(t)
	waitServing(t, s, want)
	doomedName := "doomed." + ns + ".svc.cluster.local."
	eventually(t, s, doomedName, dns.TypeA, is(doomed.Spec.ClusterIP))

	load := startLoad(t, s.Addr, want)
	f.c.KillAPIServer()
	// The outage is the fault: the load runs through it.
	time.Sleep(outage)
	begin := time.Now()
	f.c.StartAPIServer()
	t.Logf("API server killed for %v, ready again %v after its start", outage, time.Since(begin).Round(time.Millisecond))

	restarted := time.Now()
	later, err := f.c.Client.CoreV1().Services(ns).Create(f.ctx, serviceOf("later", false, nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.c.Client.CoreV1().Services(ns).Delete(f.ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	timeToAnswer(t, s, "later."+ns+".svc.cluster.local.", []string{later.Spec.ClusterIP})
	created := time.Since(restarted)
	timeToAnswer(t, s, doomedName, nil)
	deleted := time.Since(restarted)
	t.Logf("after the restart: a created Service answered %v, a deleted one NXDOMAIN %v after the API server was ready",
		created.Round(time.Millisecond), deleted.Round(time.Millisecond))
	// Left to client-go's backoff, a reflector whose API server was gone
	// for the outage and the restart would try again up to 25 s later.
	if deleted > recoveryBound {
		t.Errorf("changes took %v to show up after the API server was back, want under %v", deleted, recoveryBound)
	}
	load.finish(t, "the API server's kill and restart")
}

// etcdRestart stops etcd under load and starts it again: the API server
// stays up but can neither read nor write; clusterdns answers all along,
// and a change made once etcd is back shows up without a restart.
func (f *faults) etcdRestart(t *testing.T) {
	ns := f.namespace(t, "faults-etcd", nil)
	want := f.loadTargets(t, ns)
	s := f.startClusterdns(t)
	waitServing(t, s, want)

	load := startLoad(t, s.Addr, want)
	stopping := time.Now()
	f.c.StopEtcd()
	stopped := time.Since(stopping)
	time.Sleep(outage)
	begin := time.Now()
	f.c.StartEtcd()
	t.Logf("etcd took %v to stop, stayed down %v; it and the API server were ready again %v after its start",
		stopped.Round(time.Millisecond), outage, time.Since(begin).Round(time.Millisecond))

	later, err := f.c.Client.CoreV1().Services(ns).Create(f.ctx, serviceOf("later", false, nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	took := timeToAnswer(t, s, "later."+ns+".svc.cluster.local.", []string{later.Spec.ClusterIP})
	t.Logf("a Service created after etcd's restart answered in %v", took.Round(time.Millisecond))
	if took > recoveryBound {
		t.Errorf("a change took %v to show up after etcd was back, want under %v", took, recoveryBound)
	}
	load.finish(t, "etcd's stop and restart")
}

// TestFaultProxyWire checks that client-go reads the fault proxy's answers
// as it reads kube-apiserver's, in both encodings a client may negotiate:
// the expired watch as an Expired error event, the 500 as an internal
// error, the 429 as a request to come back after its Retry-After.
func TestFaultProxyWire(t *testing.T) {
	t.Parallel()
	// No upstream: these modes never pass a request on.
	p := newFaultProxy(t, "https://127.0.0.1:1", x509.NewCertPool())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, contentType := range []string{runtime.ContentTypeProtobuf, runtime.ContentTypeJSON} {
		t.Run(contentType, func(t *testing.T) {
			client, err := kubernetes.NewForConfig(&rest.Config{
				Host:            p.URL,
				TLSClientConfig: rest.TLSClientConfig{CAData: p.caPEM},
				ContentConfig:   rest.ContentConfig{ContentType: contentType},
			})
			if err != nil {
				t.Fatal(err)
			}
			p.set(expireWatches)
			w, err := client.CoreV1().Services("").Watch(ctx, metav1.ListOptions{ResourceVersion: "5"})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			ev, ok := <-w.ResultChan()
			w.Stop()
			if err := apierrors.FromObject(ev.Object); !ok || ev.Type != watch.Error || !apierrors.IsResourceExpired(err) {
				t.Errorf("expired watch: event %v %v (%v), want an ERROR with reason Expired", ev.Type, ev.Object, err)
			}

			p.set(internalError)
			_, err = client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
			if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "injected") {
				t.Errorf("500: %v, want the proxy's internal error", err)
			}

			p.set(tooManyRequests)
			// No retries: client-go would wait out ten Retry-Afters.
			err = client.CoreV1().RESTClient().Get().Resource("services").MaxRetries(0).Do(ctx).Error()
			if delay, ok := apierrors.SuggestsClientDelay(err); !apierrors.IsTooManyRequests(err) || !ok || delay != 1 {
				t.Errorf("429: %v (delay %d, %v), want TooManyRequests with a 1 s delay", err, delay, ok)
			}
			if got := p.summary(); !strings.Contains(got, outcomeTooMany+" services 1") {
				t.Errorf("proxy counted %q, want one 429 for services", got)
			}
		})
	}
}

// The query load: a few goroutines each send an A query every
// loadInterval, round robin over names whose answers are known, and wait
// for the reply; a slow reply delays that goroutine's next query instead
// of queueing more.
const (
	loadWorkers  = 4
	loadInterval = 10 * time.Millisecond // 400 queries/s in all
	// loadTimeout is generous: a reply that late is a server that stalled,
	// not a loaded machine.
	loadTimeout = 2 * time.Second
	// minLoadRate is the rate below which the load did not really run
	// (a stalled server, a starved client): its zero failures prove nothing.
	minLoadRate = 50
	// loadFailuresShown bounds the failures kept for the report.
	loadFailuresShown = 10
)

// loadCounts are the outcomes of the load's queries.
type loadCounts struct {
	sent, answered, servfail, nxdomain, otherRcode, wrong, timeouts, errs int
	elapsed                                                               time.Duration
}

func (c loadCounts) failed() int {
	return c.servfail + c.nxdomain + c.otherRcode + c.wrong + c.timeouts + c.errs
}

func (c loadCounts) minus(o loadCounts) loadCounts {
	return loadCounts{
		sent: c.sent - o.sent, answered: c.answered - o.answered, servfail: c.servfail - o.servfail,
		nxdomain: c.nxdomain - o.nxdomain, otherRcode: c.otherRcode - o.otherRcode, wrong: c.wrong - o.wrong,
		timeouts: c.timeouts - o.timeouts, errs: c.errs - o.errs, elapsed: c.elapsed - o.elapsed,
	}
}

func (c loadCounts) String() string {
	rate := 0.0
	if c.elapsed > 0 {
		rate = float64(c.sent) / c.elapsed.Seconds()
	}
	return fmt.Sprintf("%d queries in %v (%.0f/s): %d answered right, %d SERVFAIL, %d NXDOMAIN, %d other rcode, %d wrong answers, %d timed out, %d other errors",
		c.sent, c.elapsed.Round(time.Millisecond), rate, c.answered, c.servfail, c.nxdomain, c.otherRcode, c.wrong, c.timeouts, c.errs)
}

// queryLoad is a running query load against one server.
type queryLoad struct {
	addr  string
	want  map[string][]string
	names []string
	begin time.Time
	stop  chan struct{}
	wg    sync.WaitGroup

	mu       sync.Mutex
	c        loadCounts
	failures []string // the first loadFailuresShown, with when they happened
}

// startLoad starts querying addr for the names of want, each of which must
// be answered NOERROR with exactly its A records. The test's cleanup stops
// the load if finish did not.
func startLoad(t *testing.T, addr string, want map[string][]string) *queryLoad {
	t.Helper()
	l := &queryLoad{addr: addr, want: want, begin: time.Now(), stop: make(chan struct{})}
	for name := range want {
		l.names = append(l.names, name)
	}
	slices.Sort(l.names)
	for w := range loadWorkers {
		l.wg.Go(func() { l.run(w) })
	}
	t.Cleanup(l.halt)
	return l
}

func (l *queryLoad) run(worker int) {
	c := &dns.Client{Net: "udp", Timeout: loadTimeout}
	tick := time.NewTicker(loadInterval)
	defer tick.Stop()
	for i := worker; ; i++ {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		name := l.names[i%len(l.names)]
		m := new(dns.Msg).SetQuestion(name, dns.TypeA)
		r, _, err := c.Exchange(m, l.addr)
		l.record(name, r, err)
	}
}

func (l *queryLoad) record(name string, r *dns.Msg, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.c.sent++
	var failure string
	switch {
	case err != nil && isTimeout(err):
		l.c.timeouts++
		failure = "timed out"
	case err != nil:
		l.c.errs++
		failure = err.Error()
	case r.Rcode == dns.RcodeServerFailure:
		l.c.servfail++
		failure = "SERVFAIL"
	case r.Rcode == dns.RcodeNameError:
		l.c.nxdomain++
		failure = "NXDOMAIN"
	case r.Rcode != dns.RcodeSuccess:
		l.c.otherRcode++
		failure = dns.RcodeToString[r.Rcode]
	default:
		if got := answerValues(r, dns.TypeA); !slices.Equal(got, l.want[name]) {
			l.c.wrong++
			failure = fmt.Sprintf("answer %v, want %v", got, l.want[name])
		} else {
			l.c.answered++
		}
	}
	if failure != "" && len(l.failures) < loadFailuresShown {
		l.failures = append(l.failures, fmt.Sprintf("%v: %s: %s", time.Since(l.begin).Round(time.Millisecond), name, failure))
	}
}

// counts returns the outcomes so far.
func (l *queryLoad) counts() loadCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.c
	c.elapsed = time.Since(l.begin)
	return c
}

// halt stops the load and waits for the queries in flight.
func (l *queryLoad) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// finish stops the load, reports its counts, and fails the test if any
// query failed or the load did not run at its pace.
func (l *queryLoad) finish(t *testing.T, during string) loadCounts {
	t.Helper()
	l.halt()
	c := l.counts()
	t.Logf("load through %s: %s", during, c)
	if n := c.failed(); n > 0 {
		l.mu.Lock()
		t.Errorf("%d of %d queries through %s did not get their answer; first ones (time since the load started):\n  %s",
			n, c.sent, during, strings.Join(l.failures, "\n  "))
		l.mu.Unlock()
	}
	if rate := float64(c.sent) / c.elapsed.Seconds(); rate < minLoadRate {
		t.Errorf("the load ran at %.0f queries/s, under %d/s: it proves nothing", rate, minLoadRate)
	}
	return c
}

// rssSampler reads a process's resident set size every 20 ms, often
// enough to catch the short-lived peak of a relist, and keeps the peak of
// the current window.
type rssSampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	peak int64
	err  error
}

func startRSS(t *testing.T, pid int) *rssSampler {
	t.Helper()
	if _, err := testkit.RSS(pid); err != nil {
		t.Fatalf("RSS of pid %d: %v", pid, err)
	}
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			rss, err := testkit.RSS(s.pid)
			s.mu.Lock()
			s.peak = max(s.peak, int64(rss))
			s.err = cmp.Or(s.err, err)
			s.mu.Unlock()
			if err != nil {
				return
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		close(s.stop)
		<-s.done
	})
	return s
}

// window returns the peak RSS since the sampler started or window was last
// called, and starts a new window.
func (s *rssSampler) window(t *testing.T) int64 {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		t.Fatalf("RSS of pid %d: %v", s.pid, s.err)
	}
	peak := s.peak
	s.peak = 0
	return peak
}

func mib(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }

// proxyMode is what the fault proxy does with a request.
type proxyMode int

const (
	passThrough proxyMode = iota
	// tooManyRequests answers every request 429 with Retry-After: 1,
	// exactly as kube-apiserver's max-in-flight filter does (a plain-text
	// body; client-go maps the status code to TooManyRequests).
	tooManyRequests
	// internalError answers every request 500 with a Status of reason
	// InternalError, in the negotiated encoding, as the API server does
	// when its storage fails.
	internalError
	// expireWatches answers every watch that resumes from a resource
	// version with what kube-apiserver's watch cache sends when that
	// version is compacted away: HTTP 200, then a watch stream whose one
	// event is an ERROR carrying a Status of code 410, reason Expired,
	// in the negotiated encoding (protobuf for clusterdns). client-go's
	// reflector takes it (isExpiredError: IsResourceExpired) as "relist
	// from scratch": its next watch-list has no resource version, and the
	// proxy passes that one.
	expireWatches
)

// What the proxy did with an informer's request, counted per resource.
const (
	outcomeTooMany  = "429"
	outcomeInternal = "500"
	outcomeExpired  = "410"
	// outcomeRelisted is a request without a resource version passed
	// through after the resource's watch was expired: the relist.
	outcomeRelisted = "relist"
)

// informerResources are the resources clusterdns watches with its default
// options.
var informerResources = []string{"services", "endpointslices", "namespaces"}

// faultProxy is a TLS reverse proxy to the API server that fails requests
// on demand, as an overloaded or compacting API server would. Its
// certificate is its own, self-signed: clusterdns trusts it through the
// kubeconfig the test writes, as it would a load balancer's.
type faultProxy struct {
	URL   string
	caPEM []byte
	proxy *httputil.ReverseProxy
	// wire holds the encoded 500 body and expired watch event for each
	// media type clusterdns may negotiate.
	wire map[string]wireForms

	mu      sync.Mutex
	mode    proxyMode
	watches map[*endableBody]bool // the open watch streams, to end
	seen    map[string]int        // "outcome resource" -> requests in this mode
	media   map[string]int        // negotiated media type -> fault answers in this mode
}

// endableBody is the API server's side of a watch the proxy streams. end
// makes the stream end at once, cleanly, as kube-apiserver ends a watch at
// its timeout or when it shuts down: the client reads EOF and watches
// again from where it was. (A reset stream would do too, but client-go
// counts it as an error and adds a backoff step, which is not what an API
// server that ends its watches causes.)
type endableBody struct {
	io.ReadCloser
	resource string
	opened   time.Time
	ended    atomic.Bool
	forget   sync.Once
	p        *faultProxy
}

func (b *endableBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	if err != nil && b.ended.Load() {
		err = io.EOF // the read that Close interrupted
	}
	return n, err
}

func (b *endableBody) end() {
	b.ended.Store(true)
	b.ReadCloser.Close()
}

func (b *endableBody) Close() error {
	b.forget.Do(func() {
		b.p.mu.Lock()
		delete(b.p.watches, b)
		b.p.mu.Unlock()
	})
	return b.ReadCloser.Close()
}

type wireForms struct {
	contentType, streamContentType string
	internalError, expiredEvent    []byte
}

// newFaultProxy starts a proxy to the API server at server, whose
// certificate roots verify, in pass-through mode. It stops when the test
// ends.
func newFaultProxy(t *testing.T, server string, roots *x509.CertPool) *faultProxy {
	t.Helper()
	upstream, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{
		watches: map[*endableBody]bool{},
		seen:    map[string]int{},
		media:   map[string]int{},
		wire:    map[string]wireForms{},
	}
	for _, mediaType := range []string{runtime.ContentTypeProtobuf, runtime.ContentTypeJSON} {
		w, err := encodeWireForms(mediaType)
		if err != nil {
			t.Fatalf("%s: %v", mediaType, err)
		}
		p.wire[mediaType] = w
	}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(upstream) },
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2: true,
		},
		// Watch events go out as they come in.
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if isWatch(resp.Request.URL) {
				b := &endableBody{ReadCloser: resp.Body, resource: path.Base(resp.Request.URL.Path), opened: time.Now(), p: p}
				p.mu.Lock()
				p.watches[b] = true
				p.mu.Unlock()
				resp.Body = b
			}
			return nil
		},
	}
	cert, caPEM := selfSignedServer(t)
	srv := httptest.NewUnstartedServer(p)
	srv.EnableHTTP2 = true // client-go speaks HTTP/2 to the API server
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(func() {
		p.endWatches()
		srv.Close()
	})
	p.URL, p.caPEM = srv.URL, caPEM
	return p
}

// encodeWireForms encodes what the proxy sends in mediaType, the way the
// API server's handlers do: a Status as the body of an error, and a watch
// event framed for a stream, whose object is itself encoded whole.
func encodeWireForms(mediaType string) (wireForms, error) {
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), mediaType)
	if !ok || info.StreamSerializer == nil {
		return wireForms{}, errors.New("no streaming serializer")
	}
	encoder := scheme.Codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion)
	internal, err := runtime.Encode(encoder, &apierrors.NewInternalError(errors.New("injected by the test's fault proxy")).ErrStatus)
	if err != nil {
		return wireForms{}, err
	}
	// The message of the watch cache's "too old resource version" error.
	expired, err := runtime.Encode(encoder, &apierrors.NewResourceExpired("too old resource version: 1 (2)").ErrStatus)
	if err != nil {
		return wireForms{}, err
	}
	var event bytes.Buffer
	event.Grow(len(expired) + 64)
	err = info.StreamSerializer.Serializer.Encode(
		&metav1.WatchEvent{Type: string(watch.Error), Object: runtime.RawExtension{Raw: expired}},
		info.StreamSerializer.Framer.NewFrameWriter(&event))
	if err != nil {
		return wireForms{}, err
	}
	streamType := mediaType
	if mediaType == runtime.ContentTypeProtobuf {
		streamType += ";stream=watch" // what kube-apiserver labels a protobuf watch with
	}
	return wireForms{contentType: mediaType, streamContentType: streamType, internalError: internal, expiredEvent: event.Bytes()}, nil
}

// selfSignedServer returns a certificate for 127.0.0.1 that is its own CA,
// and its PEM for the clients' trust.
func selfSignedServer(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	cert := testkit.NewCertificate(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "clusterdns-test-fault-proxy"},
		IsCA:    true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}, nil)
	return cert.TLS(), cert.PEM()
}

// kubeconfig writes a copy of the kubeconfig at from (its credentials)
// that reaches the API server through the proxy, and returns its path.
func (p *faultProxy) kubeconfig(t *testing.T, from string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range cfg.Clusters {
		cl.Server, cl.CertificateAuthority, cl.CertificateAuthorityData = p.URL, "", p.caPEM
	}
	path := filepath.Join(t.TempDir(), "proxied.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// set switches the proxy to mode and starts counting afresh. A fault mode
// also ends the open watch streams: the informers must come back through
// the fault instead of watching on past it.
func (p *faultProxy) set(mode proxyMode) {
	p.mu.Lock()
	p.mode = mode
	clear(p.seen)
	clear(p.media)
	p.mu.Unlock()
	if mode != passThrough {
		p.endWatches()
	}
}

// endWatches ends every open watch stream.
func (p *faultProxy) endWatches() {
	p.mu.Lock()
	open := make([]*endableBody, 0, len(p.watches))
	for b := range p.watches {
		open = append(open, b)
	}
	p.mu.Unlock()
	for _, b := range open {
		b.end()
	}
}

// isWatch tells a watch request from a list.
func isWatch(u *url.URL) bool {
	w := u.Query().Get("watch")
	return w == "true" || w == "1"
}

// watching says whether every informer has had its watch open for at
// least age. A fault should find the watches as it finds them in a
// cluster, minutes old: client-go takes a watch that ends within a second
// of its start, with no event, for a failure and backs off.
func (p *faultProxy) watching(age time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, r := range informerResources {
		var oldest time.Duration
		for b := range p.watches {
			if b.resource == r {
				oldest = max(oldest, time.Since(b.opened))
			}
		}
		if oldest < age {
			errs = append(errs, fmt.Errorf("%s: watch open for %v, want %v", r, oldest.Round(time.Millisecond), age))
		}
	}
	return errors.Join(errs...)
}

// everyInformer says whether every informer's resource has had at least
// n requests with outcome in the current mode.
func (p *faultProxy) everyInformer(outcome string, n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, r := range informerResources {
		if got := p.seen[outcome+" "+r]; got < n {
			errs = append(errs, fmt.Errorf("%s: %d requests %s, want %d", r, got, outcome, n))
		}
	}
	return errors.Join(errs...)
}

// summary describes what the proxy did in the current mode.
func (p *faultProxy) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([]string, 0, len(p.seen))
	for k := range p.seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, p.seen[k])
	}
	for mt, n := range p.media {
		fmt.Fprintf(&b, "; %d answered in %s", n, mt)
	}
	return b.String()
}

// ServeHTTP answers a request as the mode says, and counts what it did.
func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resource := path.Base(r.URL.Path) // the informers list and watch across namespaces
	// No resource version to expire: a list or a watch-list from scratch.
	rv := r.URL.Query().Get("resourceVersion")
	fresh := rv == "" || rv == "0"
	// The API server answers in the first type the client accepts;
	// clusterdns asks for protobuf, other clients JSON.
	wire := p.wire[runtime.ContentTypeJSON]
	if strings.Contains(r.Header.Get("Accept"), runtime.ContentTypeProtobuf) {
		wire = p.wire[runtime.ContentTypeProtobuf]
	}

	p.mu.Lock()
	var outcome string
	switch {
	case p.mode == tooManyRequests:
		outcome = outcomeTooMany
	case p.mode == internalError:
		outcome = outcomeInternal
	case p.mode == expireWatches && isWatch(r.URL) && !fresh:
		outcome = outcomeExpired
	case p.mode == expireWatches && fresh && p.seen[outcomeExpired+" "+resource] > 0:
		outcome = outcomeRelisted
	}
	if outcome != "" {
		p.seen[outcome+" "+resource]++
	}
	if outcome == outcomeInternal || outcome == outcomeExpired {
		p.media[wire.contentType]++
	}
	p.mu.Unlock()

	switch outcome {
	case outcomeTooMany:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "Too many requests, please try again later.", http.StatusTooManyRequests)
	case outcomeInternal:
		w.Header().Set("Content-Type", wire.contentType)
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(wire.internalError)
	case outcomeExpired:
		w.Header().Set("Content-Type", wire.streamContentType)
		w.WriteHeader(http.StatusOK)
		w.Write(wire.expiredEvent)
	default: // the relist too
		p.proxy.ServeHTTP(w, r)
	}
}
