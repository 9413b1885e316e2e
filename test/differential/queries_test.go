package differential

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"
	"github.com/miekg/dns"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const zone = "cluster.local."

// qtypes are asked for every name.
var qtypes = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeTXT, dns.TypeCNAME, dns.TypeSOA, dns.TypeNS, dns.TypeANY}

// world is what the queries are generated from: the cluster's objects as
// the API lists them.
type world struct {
	namespaces []corev1.Namespace
	services   []corev1.Service
	slices     []discoveryv1.EndpointSlice
	pods       []corev1.Pod
}

func listWorld(t *testing.T, ctx context.Context, client kubernetes.Interface) world {
	t.Helper()
	var w world
	ns, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eps, err := client.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.namespaces, w.services, w.slices, w.pods = ns.Items, svcs.Items, eps.Items, pods.Items
	return w
}

// names are every name the specification defines for the world's objects,
// in a stable order, without the mutations.
func (w world) names() []string {
	set := newNameSet()
	for _, n := range []string{"", "dns-version.", "ns.dns.", "dns.", "svc.", "pod.", "nothere."} {
		set.add(n + zone)
	}
	set.add("nosuchns.svc." + zone)
	set.add("nosuchns.pod." + zone)
	for _, ns := range w.namespaces {
		set.add(ns.Name + ".svc." + zone)
		set.add(ns.Name + ".pod." + zone)
	}
	var ips []string
	for _, s := range w.services {
		svc := s.Name + "." + s.Namespace + ".svc." + zone
		set.add(svc)
		for _, p := range s.Spec.Ports {
			proto := "_" + strings.ToLower(string(p.Protocol))
			set.add(proto + "." + svc)
			if p.Name != "" {
				set.add("_" + p.Name + "." + proto + "." + svc)
			}
		}
		ips = append(ips, s.Spec.ClusterIPs...)
		ips = append(ips, s.Spec.ExternalIPs...)
		for _, in := range s.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				ips = append(ips, in.IP)
			}
		}
	}
	for _, sl := range w.slices {
		if multiClusterSlice(sl) {
			continue // the multicluster mode's (clusterset.names)
		}
		svc := sl.Labels[discoveryv1.LabelServiceName] + "." + sl.Namespace + ".svc." + zone
		for _, ep := range sl.Endpoints {
			if ep.Hostname != nil {
				set.add(*ep.Hostname + "." + svc)
			}
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
				set.add(ep.TargetRef.Name + "." + svc)
			}
			for _, a := range ep.Addresses {
				set.add(testkit.Dashed(a) + "." + svc)
				ips = append(ips, a)
			}
		}
	}
	for _, p := range w.pods {
		for _, ip := range p.Status.PodIPs {
			set.add(testkit.Dashed(ip.IP) + "." + p.Namespace + ".pod." + zone)
			ips = append(ips, ip.IP)
		}
	}
	for _, ip := range ips {
		r, err := dns.ReverseAddr(ip)
		if err == nil {
			set.add(r)
		}
	}
	for _, n := range []string{"in-addr.arpa.", "10.in-addr.arpa.", "ip6.arpa.", "254.255.255.10.in-addr.arpa."} {
		set.add(n)
	}
	return set.list
}

// zonalNames are the names of the zonal option: for every headless
// Service, pin and prefer of each zone an endpoint of the cluster is in
// (as written, in any case) and of one no endpoint is in, and the shapes
// near them that do not exist; for every other Service, the pin of a
// zone (none: zone-scoped names are for headless services only).
func (w world) zonalNames() []string {
	seen := map[string]bool{"zone-none": true}
	for _, sl := range w.slices {
		for _, ep := range sl.Endpoints {
			if ep.Zone != nil {
				seen[*ep.Zone] = true
			}
		}
	}
	zones := slices.Sorted(maps.Keys(seen))
	set := newNameSet()
	for _, s := range w.services {
		svc := s.Name + "." + s.Namespace + ".svc." + zone
		if s.Spec.ClusterIP != corev1.ClusterIPNone {
			set.add(nodeZones[0] + ".pin._zone." + svc)
			continue
		}
		for _, z := range zones {
			set.add(z + ".pin._zone." + svc)
			set.add(z + ".prefer._zone." + svc)
		}
		z := nodeZones[0]
		for _, n := range []string{
			strings.ToUpper(z+".prefer._zone.") + svc, // case
			z + ".florp._zone." + svc,                 // an unknown directive
			z + ".pin.zone." + svc,                    // no anchor
			z + ".pin._zone.extra." + svc,             // a label more
			"pin._zone." + svc,                        // no zone
			"_zone." + svc,
			z + `\.pin._zone.` + svc, // an escaped dot: no directive
			`zone\.a.pin._zone.` + svc,
		} {
			set.add(n)
		}
	}
	set.add(nodeZones[0] + ".pin._zone.nothere." + nsA + ".svc." + zone)
	set.add(nodeZones[0] + ".pin._zone.web-hl.nosuchns.svc." + zone)
	set.add(nodeZones[0] + ".pin._zone.10-0-0-1." + nsA + ".pod." + zone)
	return set.list
}

// mutations are names close to the spec's that must not match, or must
// match the same way: changed case, a label more or less, unknown ports,
// protocols and namespaces, escaped labels, a 255-octet name.
func mutations(names []string) []string {
	set := newNameSet()
	for i, n := range names {
		labels := dns.SplitDomainName(n)
		if len(labels) < 3 {
			continue
		}
		// One name in four of each kind is enough to cover the shapes
		// without multiplying the query count by six.
		if i%4 == 0 {
			set.add(strings.ToUpper(n))
			set.add(mixedCase(n))
			set.add("extra." + n)
			set.add(strings.Join(labels[1:], ".") + ".")
			set.add(escapeFirst(n))
		}
		if strings.HasSuffix(n, ".svc."+zone) && len(labels) == 5 { // a service name
			set.add("_nosuchport._tcp." + n)
			set.add("_http._sctp." + n)
			set.add("_._tcp." + n)
			set.add("_http._tcp.extra." + n)
			set.add(labels[0] + ".nosuchns.svc." + zone)
		}
		if strings.HasSuffix(n, ".pod."+zone) && len(labels) == 5 {
			set.add(labels[0] + "." + nsEmpty + ".pod." + zone)
			set.add(labels[0] + ".nosuchns.pod." + zone)
		}
	}
	set.add(long255())
	set.add(`w\101b.` + nsA + ".svc." + zone)
	set.add(`web\.` + nsA + ".svc." + zone)
	set.add("1-2-3." + nsA + ".pod." + zone)
	set.add("10-99-99-99." + nsA + ".pod." + zone)
	set.add("fd00--1." + nsA + ".pod." + zone)
	set.add("*." + nsA + ".svc." + zone)
	return set.list
}

// long255 is a legal 255-octet name inside the cluster zone, every octet
// of its first labels written as \DDD: over 900 characters of text.
func long255() string {
	var b strings.Builder
	label := func(n int) {
		for range n {
			b.WriteString(`\097`)
		}
		b.WriteByte('.')
	}
	// 3 labels of 63 octets (64 on the wire each), one of 47 (48), and
	// cluster.local. (15): 255.
	label(63)
	label(63)
	label(63)
	label(47)
	b.WriteString(zone)
	return b.String()
}

func mixedCase(n string) string {
	b := []byte(n)
	for i := 0; i < len(b); i += 2 {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// escapeFirst writes the first octet of the name as \DDD.
func escapeFirst(n string) string {
	if n == "" || n[0] == '\\' {
		return n
	}
	return fmt.Sprintf(`\%03d`, n[0]) + n[1:]
}

// nameSet keeps names unique, in the order first added.
type nameSet struct {
	seen map[string]bool
	list []string
}

func newNameSet() *nameSet { return &nameSet{seen: map[string]bool{}} }

func (s *nameSet) add(n string) {
	if !s.seen[n] {
		s.seen[n] = true
		s.list = append(s.list, n)
	}
}

// query is one question to ask both servers.
type query struct {
	name  string
	qtype uint16
	net   string // "udp" or "tcp"
	from  string // source address, "" for the kernel's choice
}

func (q query) String() string {
	s := fmt.Sprintf("%s %s %s", q.net, q.name, dns.TypeToString[q.qtype])
	if q.from != "" {
		s += " from " + q.from
	}
	return s
}

// questions are names × qtypes × both transports.
func questions(names []string, from string) []query {
	var qs []query
	for _, n := range names {
		for _, t := range qtypes {
			for _, net := range []string{"udp", "tcp"} {
				qs = append(qs, query{name: n, qtype: t, net: net, from: from})
			}
		}
	}
	return qs
}

// externalNames are the names of the k8s_external zone for the same
// objects: <svc>.<ns>.<zone> and, for headless services, the endpoints
// under them, with the apex and a few that do not exist.
func externalNames(names []string) []string {
	set := newNameSet()
	for _, n := range []string{"", "dns-version.", "ns.dns.", "nothere.", "nosuchns."} {
		set.add(n + externalZone)
	}
	for _, n := range names {
		if rest, ok := strings.CutSuffix(n, ".svc."+zone); ok {
			set.add(rest + "." + externalZone)
		}
	}
	return set.list
}

// clientAddrs are the IPv4 addresses of the autopath client pods, by
// namespace.
func (w world) clientAddrs() map[string]string {
	addrs := map[string]string{}
	for _, p := range w.pods {
		if p.Name == "client" && p.Status.PodIP != "" {
			addrs[p.Namespace] = p.Status.PodIP
		}
	}
	return addrs
}

// autopathQueries are what a pod's resolver asks first with ndots:5: each
// name with the pod's first search domain appended, sent from the pod.
func autopathQueries(clients map[string]string) []query {
	var qs []query
	nss := make([]string, 0, len(clients))
	for ns := range clients {
		nss = append(nss, ns)
	}
	slices.Sort(nss)
	short := []string{"web", "web." + nsA, "web." + nsA + ".svc", "api", "api." + nsB, "www.example.test", "nx.example.test", "servfail.example.test", "ext-out", "nothere"}
	for _, ns := range nss {
		for _, n := range short {
			for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV} {
				for _, net := range []string{"udp", "tcp"} {
					qs = append(qs, query{name: n + "." + ns + ".svc." + zone, qtype: t, net: net, from: clients[ns]})
				}
			}
		}
	}
	return qs
}

// notReadyServices are the names of the Services with
// publishNotReadyAddresses, in the cluster zone and in k8s_external's.
func (w world) notReadyServices() []string {
	var out []string
	for _, s := range w.services {
		if s.Spec.PublishNotReadyAddresses {
			out = append(out, s.Name+"."+s.Namespace+".svc."+zone, s.Name+"."+s.Namespace+"."+externalZone)
		}
	}
	return out
}

// existingNames are the apexes, dns-version.<zone>, ns.dns.<zone>, and
// the reverse names of the addresses the cluster's Services and endpoints
// have (not those of pods alone, nor of external addresses).
func (w world) existingNames() map[string]bool {
	names := map[string]bool{zone: true, "dns-version." + zone: true, "ns.dns." + zone: true, "in-addr.arpa.": true, "ip6.arpa.": true}
	var ips []string
	for _, s := range w.services {
		ips = append(ips, s.Spec.ClusterIPs...)
	}
	for _, sl := range w.slices {
		for _, ep := range sl.Endpoints {
			if !multiClusterSlice(sl) {
				ips = append(ips, ep.Addresses...)
			}
		}
	}

	for _, ip := range ips {
		if r, err := dns.ReverseAddr(ip); err == nil {
			names[r] = true
		}
	}
	return names
}
