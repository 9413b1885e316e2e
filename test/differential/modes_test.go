package differential

import (
	"fmt"
	"strings"
)

// mode is one Corefile the two servers are compared on: options of the
// cluster block, plugins of the server block, and the sections of queries
// it runs.
type mode struct {
	name    string
	options []string // inside `kubernetes { }`
	plugins []string // server-block lines before it
	zones   []string // of `kubernetes`, beyond cluster.local and the reverse zones
	// sections run beyond the plain queries of every mode.
	axfr       bool // AXFR of each zone, over TCP
	autopath   bool // search-list queries sent from pods' addresses
	external   bool // the k8s_external zone's names
	metadata   bool // the log lines of metadataLog are compared
	fromPod    bool // queries are sent from a client pod's address
	zonal      bool // the zone-scoped names of the zonal option
	ownerOnly  bool // only the section's queries, not the plain ones
	clusterset bool // the multicluster zone's names
}

// externalZone is k8s_external's zone in the k8s_external mode.
const externalZone = "example.org."

// metadataLog is the log format of the metadata mode: every key stock's
// kubernetes plugin publishes, read through the log plugin's placeholders,
// and the client's address, which tells the test's queries from the probe
// that waited for the sync. No rcode: where answers differ, the other modes
// compare them against the allowed differences; this mode compares the keys.
const metadataLog = `META from={remote} {type} {name} kind={/kubernetes/kind} ns={/kubernetes/namespace} svc={/kubernetes/service} ep={/kubernetes/endpoint} port={/kubernetes/port-name} proto={/kubernetes/protocol} cns={/kubernetes/client-namespace} cpod={/kubernetes/client-pod-name} zone={/kubernetes/zone}`

// modes are every configuration compared. Each mode restarts the two DNS
// servers only; the test bed stays.
var modes = []mode{
	{name: "pods disabled", options: []string{"pods disabled"}, axfr: true},
	{name: "pods insecure", options: []string{"pods insecure"}},
	{name: "pods verified", options: []string{"pods verified"}},
	{name: "endpoint_pod_names", options: []string{"endpoint_pod_names"}},
	{name: "ignore empty_service", options: []string{"ignore empty_service"}},
	{name: "namespaces", options: []string{"namespaces " + nsB + " " + nsEmpty}},
	{name: "labels", options: []string{"labels tier=front"}},
	{name: "fallthrough", options: []string{"fallthrough"}},
	{name: "transfer", plugins: []string{"transfer {\n        to *\n    }"}, axfr: true, ownerOnly: true},
	{name: "autopath", options: []string{"pods verified"}, plugins: []string{"autopath @kubernetes"}, autopath: true, ownerOnly: true},
	{name: "k8s_external", plugins: []string{"k8s_external " + externalZone + " {\n        headless\n    }"}, external: true, ownerOnly: true},
	{name: "metadata", options: []string{"pods verified"}, plugins: []string{"metadata", "log . \"" + metadataLog + "\""}, metadata: true, fromPod: true},
	// zonal: the zone-scoped names answered, their metadata, and the
	// transfer that leaves them out.
	{name: "zonal", options: []string{"zonal"}, plugins: []string{"transfer {\n        to *\n    }", "metadata", "log . \"" + metadataLog + "\""},
		zonal: true, axfr: true, metadata: true},
	{name: "multicluster", zones: []string{clustersetZone}, options: []string{"multicluster " + clustersetZone},
		plugins: []string{"transfer {\n        to *\n    }"}, clusterset: true, axfr: true, ownerOnly: true},
}

// notYetSupported are the modes whose feature has not landed in clusterdns:
// the test names each loudly and does not compare it. Take a mode out of
// this list when its feature merges.
var notYetSupported = map[string]string{}

// corefile is the mode's Corefile for stock, with PORT for the listen port:
// one server block for everything, the cluster zones and both reverse
// zones in the cluster block, and the test upstream behind forward (the
// outside ExternalName targets, and the next plugin of fallthrough).
func (m mode) corefile(kubeconfig, upstream string) string {
	var b strings.Builder
	b.WriteString(".:PORT {\n    bind 127.0.0.1\n")
	for _, p := range m.plugins {
		fmt.Fprintf(&b, "    %s\n", p)
	}
	fmt.Fprintf(&b, "    kubernetes %s {\n        kubeconfig %s\n", strings.Join(append([]string{"cluster.local", "in-addr.arpa", "ip6.arpa"}, m.zones...), " "), kubeconfig)
	for _, o := range m.options {
		fmt.Fprintf(&b, "        %s\n", o)
	}
	fmt.Fprintf(&b, "    }\n    forward . %s\n}\n", upstream)
	return b.String()
}
