package cluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// ExpireWatches makes every watch the API server serves expire, as an etcd
// compaction under it does in a real cluster, with the API server staying
// up: clients' watches end, and resuming them at their resource version
// gets 410 Gone ("too old resource version"), so every informer lists
// again.
//
// The API server's watch cache keeps at least 75 s of events and cannot be
// made smaller, so a client's resource version does not expire by waiting.
// What does expire it is the watch cache starting over: when the API
// server's own watch on etcd resumes at a revision etcd has compacted, the
// cache lists etcd anew, ends every client's watch, and serves history only
// from that new list. So: the API server is frozen (SIGSTOP), etcd is
// killed and started again (the API server's gRPC streams to it are gone),
// two writes move etcd's revision past anything the API server saw, etcd
// compacts at the newest revision, and the API server is thawed (SIGCONT).
// Its etcd client resumes every watch at a compacted revision. Returns once
// every watch cache the API server had has started over and it is ready.
//
// during, if given, run while the API server is frozen and etcd is back:
// what they write to etcd (EtcdURL) happens while every watch is down, and
// only a relist can tell.
func (c *Cluster) ExpireWatches(during ...func()) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	before, err := c.cacheInitializations(ctx)
	if err != nil {
		c.t.Fatalf("testbed: ExpireWatches: %v", err)
	}
	api := c.proc("kube-apiserver")
	if api == nil {
		c.t.Fatal("testbed: ExpireWatches: kube-apiserver is not running")
	}
	if err := api.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatalf("testbed: ExpireWatches: %v", err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			if err := api.Signal(syscall.SIGCONT); err != nil {
				c.t.Errorf("testbed: ExpireWatches: %v", err)
			}
		}
	}
	// A frozen API server would ignore the cleanup's SIGTERM.
	defer thaw()
	// Killed, not stopped: etcd's graceful stop waits on the frozen API
	// server's streams.
	c.end("ExpireWatches", "etcd", (*testkit.Process).Kill)
	c.restart("ExpireWatches", "etcd", "ExpireWatches")
	c.waitFor(ctx, "etcd healthy after restart", func(ctx context.Context) error { return etcdHealthy(ctx, c.ports.etcdURL()) })
	for _, f := range during {
		f()
	}
	// The API server resumes each watch after the last revision it saw
	// (an event or a progress notification): at most the revision before
	// these writes, so compacting at the second leaves it behind.
	var rev int64
	for range 2 {
		if rev, err = etcdRevision(ctx, c.ports.etcdURL(), "/v3/kv/put", map[string]any{
			"key": []byte("/clusterdns-testbed/expire-watches"), "value": []byte(time.Now().String()),
		}); err != nil {
			c.t.Fatalf("testbed: ExpireWatches: %v", err)
		}
	}
	if _, err := etcdRevision(ctx, c.ports.etcdURL(), "/v3/kv/compaction", map[string]any{"revision": strconv.FormatInt(rev, 10), "physical": true}); err != nil {
		c.t.Fatalf("testbed: ExpireWatches: %v", err)
	}
	thaw()
	c.waitFor(ctx, "every watch cache started over after the compaction", func(ctx context.Context) error {
		after, err := c.cacheInitializations(ctx)
		if err != nil {
			return err
		}
		for resource, n := range before {
			if after[resource] <= n {
				return fmt.Errorf("the watch cache of %s has not started over (%v initializations)", resource, after[resource])
			}
		}
		return nil
	})
	c.waitFor(ctx, "kube-apiserver /readyz after the compaction", func(ctx context.Context) error { return readyz(ctx, c.Client) })
}

// etcdRevision calls path on etcd (EtcdCall) and returns the revision of
// the answer's header.
func etcdRevision(ctx context.Context, url, path string, req any) (int64, error) {
	var res struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	if err := EtcdCall(ctx, http.DefaultClient, url, path, req, &res); err != nil {
		return 0, err
	}
	if res.Header.Revision == "" {
		return 0, nil
	}
	return strconv.ParseInt(res.Header.Revision, 10, 64)
}

// cacheInitializations reads apiserver_watch_cache_initializations_total
// from the API server's metrics, by "group/resource".
func (c *Cluster) cacheInitializations(ctx context.Context) (map[string]float64, error) {
	return c.APIServerMetric(ctx, "apiserver_watch_cache_initializations_total")
}

// APIServerMetric reads one counter or gauge from the API server's
// /metrics, by "group/resource" of its group and resource labels (group
// empty for the core group): what the API server counts for each kind.
// A series without a resource label is keyed by its whole label set.
func (c *Cluster) APIServerMetric(ctx context.Context, name string) (map[string]float64, error) {
	return c.apiServerMetric(ctx, name, func(string) bool { return true })
}

// APIServerWatchers reads how many watches the API server serves of each
// kind, by "group/resource": its clients' and its own. The API server
// watches Services, EndpointSlices, Pods and Namespaces itself (user
// system:apiserver), and its informers relist with every other client's,
// so what it counts as sent on a relist (apiserver_init_events_total) is
// the kind's objects once per watch, not once per client of interest.
func (c *Cluster) APIServerWatchers(ctx context.Context) (map[string]float64, error) {
	return c.apiServerMetric(ctx, "apiserver_longrunning_requests", func(labels string) bool {
		return label(labels, "verb") == "WATCH" && label(labels, "subresource") == ""
	})
}

// apiServerMetric is APIServerMetric over the series whose labels keep
// accepts.
func (c *Cluster) apiServerMetric(ctx context.Context, name string, keep func(labels string) bool) (map[string]float64, error) {
	body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("API server /metrics: %w", err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		labels, value := "", rest
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, value = rest[1:end], rest[end+1:]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || !keep(labels) {
			continue
		}
		key := labels
		if r := label(labels, "resource"); r != "" {
			key = label(labels, "group") + "/" + r
		}
		out[key] += v
	}
	return out, sc.Err()
}

// label returns the value of name in a Prometheus label set (a="x",b="y").
func label(labels, name string) string {
	for l := range strings.SplitSeq(labels, ",") {
		if v, ok := strings.CutPrefix(l, name+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
