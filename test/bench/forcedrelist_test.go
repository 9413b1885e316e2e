package bench

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// relistTimeout bounds the wait for a relist to be seen: at the scale size
// the API server lists 150k pods from etcd into its watch cache first.
const relistTimeout = 3 * time.Minute

// forcedRelist starts the server with the bench Corefile, uncached, and
// measures a relist through 410 Gone.
func (m *measurer) forcedRelist(name, bin, plugin string) *ForcedRelist {
	cfg := benchConfig{plugin: plugin, podsMode: m.pods, kubeconfig: m.cluster.Kubeconfig, upstream: m.upstream.dns}
	p := freePorts(m.tb)
	s := startServer(m.tb, m.work, fmt.Sprintf("%s-%s-forced-relist", name, m.size), bin, benchCorefile(cfg, p), p)
	defer s.Stop()
	s.waitReady(m.tb, readyTimeout)
	s.waitAnswering(m.tb)
	m.waitPods(s, name)
	time.Sleep(settle)
	res := &ForcedRelist{RSSSynced: m.mustRSS(s)}

	before, watchers := m.resent(), m.watchers()
	ctx, cancel := context.WithCancel(context.Background())
	peak := make(chan uint64, 1)
	go func() { peak <- sampleRSS(ctx, s.Pid(), 20*time.Millisecond) }()
	begin := time.Now()
	m.cluster.ExpireWatches()
	res.Relisted = m.awaitRelist(before, watchers)
	res.Took = time.Since(begin)
	time.Sleep(relistWatch)
	cancel()
	res.RSSPeak = <-peak
	m.tb.Logf("%s %s: forced relist (410 Gone): RSS %d MiB after sync, peak %d MiB, relist seen %v after %v",
		m.size, name, res.RSSSynced>>20, res.RSSPeak>>20, res.Relisted, res.Took.Round(time.Millisecond))
	if !res.Relisted {
		m.note("%s %s: forced relist: no relist (the API server did not send the cluster again within %v; log: %s)", m.size, name, relistTimeout, s.logPath)
	}
	return res
}

// The kinds whose relist the API server counts for a server, by the
// "group/resource" of its metrics: EndpointSlices, and pods at a size with
// pods. The API server watches both itself, and its informers relist with
// the server's: see watchers.
const (
	slicesResource = "discovery.k8s.io/endpointslices"
	podsResource   = "/pods"
)

// resent reads how many objects of each kind the API server has sent from
// its watch cache, as a watch's initial events (client-go's streaming
// list) or as LIST results: what an informer's relist costs it.
func (m *measurer) resent() map[string]float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sum := map[string]float64{}
	for _, name := range []string{"apiserver_init_events_total", "apiserver_cache_list_returned_objects_total"} {
		v, err := m.cluster.APIServerMetric(ctx, name)
		if err != nil {
			m.tb.Fatal(err)
		}
		for k, n := range v {
			sum[k] += n
		}
	}
	return sum
}

// awaitRelist waits, up to relistTimeout, until the API server has sent
// every EndpointSlice (and pod, at a size with pods) once more to each of
// the kind's watchers than it had at before, and says whether it did.
// before is nil after an API server restart, whose counters start at zero.
func (m *measurer) awaitRelist(before, watchers map[string]float64) bool {
	want := map[string]float64{slicesResource: float64(m.slices())}
	if m.podCount > 0 {
		want[podsResource] = float64(m.podCount)
	}
	for k := range want {
		want[k] *= max(1, watchers[k])
	}
	deadline := time.Now().Add(relistTimeout)
	for {
		after, missing, sent := m.resent(), "", ""
		for k, n := range want {
			got := after[k] - before[k]
			if got < n {
				missing = fmt.Sprintf("%s: %.0f of %.0f sent again", k, got, n)
			}
			sent += fmt.Sprintf(" %s %.0f (of %.0f)", k, got, n)
		}
		if missing == "" {
			m.tb.Logf("%s: relist seen: sent again:%s", m.size, sent)
			return true
		}
		if time.Now().After(deadline) {
			m.tb.Logf("%s: no relist: %s", m.size, missing)
			return false
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// watchers reads how many watches of each kind the API server serves.
// Besides the server's, the API server's own (user system:apiserver:
// Services, EndpointSlices, Pods, Namespaces), which relist with the
// server's: through a relist the API server sends each kind once per
// watch, so one watch's relist is only half of what it counts. Waiting
// for one copy would take the API server's own list, often done first,
// for the server's, and end the peak's sampling before the server's list
// has arrived. Read while every watch is open: before the relist.
func (m *measurer) watchers() map[string]float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := m.cluster.APIServerWatchers(ctx)
	if err != nil {
		m.tb.Fatal(err)
	}
	return w
}

// slices is how many EndpointSlices the cluster holds: a one-item list
// says, without moving them all.
func (m *measurer) slices() int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := m.client.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		m.tb.Fatal(err)
	}
	n := len(l.Items)
	if r := l.RemainingItemCount; r != nil {
		n += int(*r)
	}
	return n
}
