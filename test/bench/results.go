// Package bench is `make bench`: clusterdns and a stock CoreDNS v1.15.0 with
// its kubernetes plugin, side by side on the same test-bed control plane in
// the same run, at several cluster sizes (README.md in this folder).
//
// The benchmark is BenchmarkServers in bench_test.go; it measures and writes
// a report, and fails only when it cannot measure (a server that does not
// start, a missing tool), never on a number.
package bench

import (
	"time"
)

// Run is one `make bench`: every size, every server, and where it ran.
type Run struct {
	Started  time.Time
	Duration time.Duration
	Machine  Machine
	Versions Versions
	// Commands are the exact commands that produced the figures, in order.
	Commands []string
	Sizes    []Size
	// Notes are what the report should say besides the figures: repeated
	// measurements and why, targets missed, anything odd.
	Notes []string
}

// Machine is where the run happened.
type Machine struct {
	CPU    string // model name from /proc/cpuinfo
	Cores  int
	Memory uint64 // bytes, MemTotal
	Kernel string
	OS     string // PRETTY_NAME from /etc/os-release
}

// Versions of everything measured or measuring.
type Versions struct {
	ClusterDNS string // git describe of this checkout
	CoreDNS    string // stock CoreDNS module version
	Kubernetes string // the test bed's kube-apiserver
	Go         string
	DNSPerf    string
}

// Size is one cluster size and what each server did at it.
type Size struct {
	Name      string // "1k", "10k", "scale"
	Services  int
	Headless  int // of Services, each with EndpointsPerHeadless endpoints
	Endpoints int // endpoints in all EndpointSlices
	Pods      int // pod objects (the scale run's `pods verified`)
	// LoadTime is how long writing the objects to the API server took.
	LoadTime time.Duration
	Servers  []Server
	// Ceiling is the framework's ceiling: the clusterdns binary answering
	// every query with whoami, under the same query files.
	Ceiling []Load
	// HistoryOff and HistoryOn are clusterdns under the uncached cluster
	// mix with the same Corefile but for the per-client query history of
	// explain, off and on: what the history costs a query. HistoryPairs
	// are the CPU per query of optionPairs such pairs, the first of them
	// these two loads'.
	HistoryOff, HistoryOn *Load
	HistoryPairs          []OptionPair
	// Multicluster is the multicluster variant; nil when not measured.
	Multicluster *Multicluster
	// Visibility is clusterdns with the visibility option off and on,
	// and stock, asked by a client pod (visibility.go).
	Visibility *VisibilityCost
}

// OptionPair is clusterdns's CPU per query with an option off, then on,
// measured one right after the other. One pair's ratio swung from 0.69×
// to 1.46× between runs of the same binary (history and visibility at 1k,
// 10k and scale in reports 2026-12-06T2121Z, T2225Z and T2246Z), more
// than what an option costs: the reports take the median of optionPairs
// pairs (optionCost).
type OptionPair struct{ Off, On time.Duration }

// Server names.
const (
	ClusterDNS = "clusterdns"
	Stock      = "coredns"
	Whoami     = "whoami"
)

// Server is one server's figures at one size.
type Server struct {
	Name string // ClusterDNS or Stock
	// Ready is the median time from exec to the first 200 from /ready over
	// ReadySamples: starts alternating between the servers, on a quiet
	// machine, so that neither pays for the API server still digesting a
	// load or for the other's relist.
	Ready        time.Duration
	ReadySamples []time.Duration
	// RSSSynced is the resident set size once Ready and settled; RSSRelistPeak
	// the highest RSS sampled while the API server restarted and the server's
	// informers listed everything again. RSSBeforeRelist is the RSS just
	// before the API server stopped, after the full-speed loads: what the
	// queries' garbage left the process at, from which the restart's peak
	// starts (the 410 relist starts from a fresh server instead).
	RSSSynced       uint64
	RSSRelistPeak   uint64
	RSSBeforeRelist uint64
	// RestartRelisted says whether the API server counted that relist
	// (awaitRelist); ForcedRelist is the relist through 410 Gone with the
	// API server up, nil when not measured.
	RestartRelisted bool
	ForcedRelist    *ForcedRelist
	Loads           []Load
	// Programming holds, for each Service created while the server ran, the
	// time from the create call's return to the server's first answer with
	// the Service's address, through the server's default Corefile (stock:
	// kubeadm v1.37's, which keeps cluster names out of its cache 30;
	// clusterdns: corefiles/Corefile). Each name
	// was queried (NXDOMAIN) just before its Service was created, as a pod
	// retrying would.
	Programming []time.Duration
	// ProgrammingCache30 is stock only: the same through CoreDNS's own
	// default Corefile (github.com/coredns/deployment), whose cache 30
	// holds cluster names too.
	ProgrammingCache30 []time.Duration
	// Outage is how the server fares when it starts while the API server
	// is down; nil when not measured.
	Outage *Outage
}

// Outage is a server restarted while the API server is down, as after a
// crash or an OOM kill during a control-plane outage: clusterdns with the
// shipped Corefile's snapshot, stock as it is.
type Outage struct {
	// Down is how long the API server stayed down after the server's
	// start.
	Down time.Duration
	// FirstAnswer is the time from exec to the first right answer for a
	// Service that existed before; zero if none came while it was down.
	FirstAnswer time.Duration
	// Rcode is what the server answered for that Service just before the
	// API server came back.
	Rcode string
	// LiveAfterReady is the time from the test bed seeing the API server's
	// /readyz ok again to the server's first right answer for a Service
	// created after the server's last sync: live data back.
	LiveAfterReady time.Duration
}

// Mixes of query files.
const (
	// MixCluster: cluster names only, A, AAAA, SRV, headless, pod dashed
	// names and NXDOMAIN.
	MixCluster = "cluster"
	// MixSearchWalk: a pod's ndots:5 search walk for external names, every
	// step of it, the last forwarded to the local upstream.
	MixSearchWalk = "search-walk"
)

// Load is one dnsperf measurement of one server with one query mix.
type Load struct {
	Mix   string // MixCluster or MixSearchWalk
	Cache bool   // the cache plugin in front
	// Throughput run: dnsperf at full speed.
	QPS       float64
	Sent      int
	Completed int
	Lost      int
	// Rcodes counts answers by rcode name (NOERROR, NXDOMAIN, SERVFAIL...).
	Rcodes map[string]int
	// CPUPerQuery is the server's CPU time (user+system) over the run
	// divided by completed queries.
	CPUPerQuery time.Duration
	// ForeignCPU is the CPU the rest of the machine used during the
	// accepted run, in cores (all CPU minus the server's and dnsperf's).
	ForeignCPU float64
	// Attempts is how many runs it took to get one with little foreign CPU.
	Attempts int
	// Latency run: dnsperf at a fixed rate (LatencyQPS) with every
	// response's latency recorded.
	LatencyQPS int
	Latency    Latency
}

// Latency summarises per-query latencies.
type Latency struct {
	Mean, P50, P90, P99, P999, Max time.Duration
}
