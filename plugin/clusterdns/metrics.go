package clusterdns

import (
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
)

var (
	// objectsIndexed is the number of objects the index holds, by kind.
	objectsIndexed = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "objects",
		Help:      "Number of Kubernetes objects indexed, by kind.",
	}, []string{"kind"})

	// synced is 1 once the source has delivered a full state.
	synced = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "synced",
		Help:      "1 when the source has synced and the index serves, else 0.",
	})

	// sourceLoads counts loads of the manifests file source, by result.
	sourceLoads = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "source_loads_total",
		Help:      "Loads of the manifests file source, by result (ok, error).",
	}, []string{"result"})

	// programmingDuration is the DNS programming latency: from an object's
	// change in the cluster to the moment the index serves it.
	programmingDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "dns_programming_duration_seconds",
		Help:      "Time from a Service or EndpointSlice change to the index serving it, by service kind.",
		Buckets:   prometheus.ExponentialBuckets(0.001, 2, 20),
	}, []string{"service_kind"})
)

func observeProgramming(kind index.ServiceKind, latency time.Duration) {
	if latency < 0 {
		latency = 0
	}
	programmingDuration.WithLabelValues(kind.String()).Observe(latency.Seconds())
}

// recordCounts publishes the index's object counts.
func recordCounts(ix *index.Index) {
	for kind, n := range ix.Counts() {
		objectsIndexed.WithLabelValues(kind.String()).Set(float64(n))
	}
}
