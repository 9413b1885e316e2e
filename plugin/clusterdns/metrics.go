package clusterdns

import (
	"sync"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

var (
	// sourceLoads counts loads of the manifests file source, by result.
	sourceLoads = newResultCounter("source_loads_total",
		"Loads of the manifests file source, by result (ok, error).")

	// snapshotWrites counts writes of the last-known-good snapshot, by
	// result: a failing disk shows here before it matters.
	snapshotWrites = newResultCounter("snapshot_writes_total",
		"Writes of the last-known-good snapshot file, by result (ok, error).")

	// searchWalks counts the walks the server ran, by how they ended.
	searchWalks = newResultCounter("search_path_walks_total",
		"Search paths walked on the server, by result (answer, nodata, client_walk).")

	// programmingDuration is the DNS programming latency: from an object's
	// change in the cluster to the moment the index serves it.
	programmingDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace:                   plugin.Namespace,
		Subsystem:                   pluginName,
		Name:                        "dns_programming_duration_seconds",
		Help:                        "Time from a Service or EndpointSlice change to the index serving it, by service kind.",
		Buckets:                     prometheus.ExponentialBuckets(0.001, 2, 20),
		NativeHistogramBucketFactor: plugin.NativeHistogramBucketFactor,
	}, []string{"service_kind"})

	// badTTLAnnotations counts Service changes whose clusterdns.io/ttl
	// annotation was ignored as invalid.
	badTTLAnnotations = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "invalid_ttl_annotations_total",
		Help:      "Service changes whose clusterdns.io/ttl annotation was ignored as invalid.",
	})

	// badVisibleTo counts Namespace annotations clusterdns.io/visible-to
	// ignored as malformed (visibility): each value once.
	badVisibleTo = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "invalid_visible_to_annotations_total",
		Help:      "Namespace clusterdns.io/visible-to annotations ignored as malformed, each value once.",
	})
	// skippedObjects counts changes of the multicluster zones left out as
	// bad input, by kind and reason (index.SkipReason).
	skippedObjects = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "skipped_objects_total",
		Help:      "Changes of ServiceImports and multi-cluster EndpointSlices left out as bad input, by kind and reason.",
	}, []string{"kind", "reason"})

	// objectsDesc is the number of objects the index holds, by kind.
	objectsDesc = prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, pluginName, "objects"),
		"Number of Kubernetes objects indexed, by zone and kind.", []string{"zone", "kind"}, nil)
	// syncedDesc is 1 once the source has synced every kind it watches,
	// pods included, and the index serves.
	syncedDesc = prometheus.NewDesc(prometheus.BuildFQName(plugin.Namespace, pluginName, "synced"),
		"1 when the source has synced every kind it watches (pods too) and the index serves, else 0, by zone.", []string{"zone"}, nil)
)

func init() { prometheus.MustRegister(instances) }

// newResultCounter registers a counter of the plugin by result.
func newResultCounter(name, help string) *prometheus.CounterVec {
	return promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      name,
		Help:      help,
	}, []string{"result"})
}

// countResult returns a function that counts an outcome in c by result:
// "error" when err is set, else "ok".
func countResult(c *prometheus.CounterVec) func(err error) {
	return func(err error) {
		result := "ok"
		if err != nil {
			result = "error"
		}
		c.WithLabelValues(result).Inc()
	}
}

func observeProgramming(kind index.ServiceKind, latency time.Duration) {
	if latency < 0 {
		latency = 0 // clock skew between the API server and us
	}
	programmingDuration.WithLabelValues(kind.String()).Observe(latency.Seconds())
}

// instances reports the gauges of the running plugin instances, read at
// scrape time. It is keyed by first zone: on a reload the new instance
// starts before the old one stops and takes over its series.
var instances = &instanceCollector{byZone: make(map[string]*ClusterDNS)}

type instanceCollector struct {
	mu     sync.Mutex
	byZone map[string]*ClusterDNS
}

func (c *instanceCollector) add(cd *ClusterDNS) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byZone[cd.Zones[0]] = cd
}

func (c *instanceCollector) remove(cd *ClusterDNS) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byZone[cd.Zones[0]] == cd {
		delete(c.byZone, cd.Zones[0])
	}
}

func (c *instanceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- objectsDesc
	ch <- syncedDesc
}

func (c *instanceCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for zone, cd := range c.byZone {
		// Live, not Ready: a scrape must not probe the DNS port, and a
		// server answering from its snapshot has not synced.
		synced := 0.0
		if cd.index.Live() && !cd.index.PodsPending() {
			synced = 1
		}
		ch <- prometheus.MustNewConstMetric(syncedDesc, prometheus.GaugeValue, synced, zone)
		counts := cd.index.Counts()
		for _, kind := range []object.Kind{object.KindService, object.KindEndpointSlice, object.KindPod, object.KindNamespace} {
			ch <- prometheus.MustNewConstMetric(objectsDesc, prometheus.GaugeValue, float64(counts[kind]), zone, kind.String())
		}
	}
}
