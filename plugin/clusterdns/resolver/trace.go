package resolver

import (
	"net/netip"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// Trace records why the resolver answered a question as it did: at each
// decision, the rule of the specification that applied and the object it
// read. Explain passes one to Explain; Resolve passes none, and a query
// without a trace only tests a nil pointer at each decision: the query path
// allocates nothing more for it (BenchmarkResolve).
type Trace struct {
	Steps []Step
}

// Step is one decision of the resolver.
type Step struct {
	// Owner is the name being answered: the question, or an in-zone
	// ExternalName target followed from it.
	Owner string
	Rule  Rule
	// Kind, Namespace and Name are the object the rule read (Kind 0: none).
	// For endpoints, Kind is EndpointSlice and Name the Service's name: the
	// view keeps the merge of a service's slices, not which slice an
	// address came from.
	Kind      object.Kind
	Namespace string
	Name      string
}

// Rule is a rule of the Kubernetes DNS specification (1.1.0), or of an
// option of the plugin, that decided an answer.
type Rule uint8

// The rules, each with the text String gives.
const (
	RuleNone Rule = iota
	RuleApex
	RuleDNSVersion
	RuleNSName
	RuleNoSuchName
	RuleEmptyNonTerminal
	RuleNamespace
	RuleNoNamespace
	RuleNoService
	RuleClusterIP
	RuleClusterIPSRV
	RuleHeadless
	RuleHeadlessEmpty
	RuleHeadlessSRV
	RuleIgnoredEmpty
	RuleEndpoint
	RuleNoEndpoint
	RulePortProtocol
	RuleNoPort
	RuleExternalName
	RuleExternalNameChase
	RuleChainBroken
	RulePodsDisabled
	RulePodInsecure
	RulePodVerified
	RuleNoPod
	RuleReverse
	RuleNoReverse
	RulePodsNotListed
	RuleZonal
	RuleZonalEmpty
	RuleZonalNotHeadless
)

var ruleText = [...]string{
	RuleNone:              "",
	RuleApex:              "zone apex: SOA and NS of this server (spec 2.1)",
	RuleDNSVersion:        "dns-version.<zone>: TXT of the schema version (spec 2.2)",
	RuleNSName:            "ns.dns.<zone>: the addresses of this server",
	RuleNoSuchName:        "no name of the Kubernetes DNS schema has this shape: NXDOMAIN",
	RuleEmptyNonTerminal:  "an empty non-terminal (a name with names below it and no records): NODATA",
	RuleNamespace:         "<ns>.svc.<zone> of an existing namespace: an empty non-terminal, NODATA",
	RuleNoNamespace:       "no such namespace in the view (never created, deleted, hidden by namespaces/namespace_labels, or not visible to this client under visibility): NXDOMAIN",
	RuleNoService:         "no such Service in the view: NXDOMAIN",
	RuleClusterIP:         "ClusterIP Service: A/AAAA of spec.clusterIPs, NODATA for a family it has not (spec 2.3.1)",
	RuleClusterIPSRV:      "ClusterIP Service: SRV per named port (spec 2.3.2)",
	RuleHeadless:          "headless Service: one A/AAAA per ready endpoint address of its EndpointSlices (spec 2.4.1)",
	RuleHeadlessEmpty:     "headless Service without ready endpoints: NXDOMAIN (spec 2.4.1, as stock CoreDNS)",
	RuleHeadlessSRV:       "headless Service: SRV per named port of each ready endpoint (spec 2.4.2)",
	RuleIgnoredEmpty:      "ignore empty_service: a ClusterIP Service without ready endpoints is answered as absent, NXDOMAIN",
	RuleEndpoint:          "<endpoint>.<service>: the ready endpoint by hostname, pod name (endpoint_pod_names) or dashed address (spec 2.4.1)",
	RuleNoEndpoint:        "no ready endpoint of the Service has that name: NXDOMAIN",
	RulePortProtocol:      "_<proto>.<service>: an empty non-terminal when a named port has that protocol",
	RuleNoPort:            "no named port with that name and protocol: NXDOMAIN (spec 2.3.2, 2.4.2)",
	RuleExternalName:      "ExternalName Service: CNAME to spec.externalName (spec 2.5.1)",
	RuleExternalNameChase: "the CNAME target is outside the cluster zones: the server looks it up through itself (cache, forward) and appends its records",
	RuleChainBroken:       "the ExternalName chain loops, is longer than 11, or its in-zone target has no such records: NODATA, as stock CoreDNS",
	RulePodsDisabled:      "pods disabled: pod names do not resolve, NXDOMAIN",
	RulePodInsecure:       "pods insecure: the address the dashed label spells, in an existing namespace, without checking a pod has it",
	RulePodVerified:       "pods verified: the address of a running pod of that namespace",
	RuleNoPod:             "no pod name: the label spells no address, the namespace does not exist, or (pods verified) no running pod of the namespace has it: NXDOMAIN",
	RuleReverse:           "PTR of a ClusterIP or endpoint address (spec 2.3.3, 2.4.3)",
	RuleNoReverse:         "no ClusterIP or endpoint has this address (or none this client may see, under visibility): NXDOMAIN",
	RulePodsNotListed:     "pods verified: the pods are still being listed (served before them, see Ready): SERVFAIL, which the client retries",
	RuleZonal:             "zonal: the endpoints of the headless Service in that topology zone (prefer: every endpoint when none is there)",
	RuleZonalEmpty:        "zonal pin: no endpoint of the headless Service is in that topology zone: NODATA",
	RuleZonalNotHeadless:  "zonal: only headless Services have zone-scoped names (no such Service, ClusterIP or ExternalName): NXDOMAIN",
}

func (r Rule) String() string {
	if int(r) < len(ruleText) {
		return ruleText[r]
	}
	return "unknown rule"
}

// note records a decision about the name being answered, when tracing.
func (q *query) note(rule Rule, kind object.Kind, namespace, name string) {
	if q.trace == nil {
		return
	}
	q.trace.Steps = append(q.trace.Steps, Step{Owner: q.owner, Rule: rule, Kind: kind, Namespace: namespace, Name: name})
}

// noteNamespace records a decision about a namespace named by a slice of
// the query's buffer, copying it only when tracing.
func (q *query) noteNamespace(rule Rule, namespace []byte) {
	if q.trace == nil {
		return
	}
	q.note(rule, object.KindNamespace, "", string(namespace))
}

// noteService records a decision that read svc.
func (q *query) noteService(rule Rule, svc *index.Service) {
	if q.trace == nil {
		return
	}
	kind := object.KindService
	if rule == RuleHeadless || rule == RuleHeadlessSRV || rule == RuleEndpoint || rule == RuleHeadlessEmpty || rule == RuleIgnoredEmpty ||
		rule == RuleZonal || rule == RuleZonalEmpty {
		kind = object.KindEndpointSlice
	}
	q.note(rule, kind, svc.Namespace, svc.Name)
}

// noteServiceKey records that no service has key ("name.ns") in the view.
func (q *query) noteServiceKey(rule Rule, key []byte) {
	if q.trace == nil {
		return
	}
	name, ns := cutFirst(key)
	q.note(rule, object.KindService, string(ns), string(name))
}

// notePod records the pod behind a pods verified answer.
func (q *query) notePod(a netip.Addr) {
	if q.trace == nil {
		return
	}
	ns, name, _ := q.snap.PodAt(a)
	q.note(RulePodVerified, object.KindPod, ns, name)
}
