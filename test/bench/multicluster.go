package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/typed/apis/v1alpha1"
)

// The multicluster variant (KEP-1645): at the sizes -multicluster names,
// the benchmark plays an MCS controller for mcClusters member clusters and
// writes one ServiceImport per importsPerServices Services, with one
// EndpointSlice per member cluster for each, then measures both servers
// with `multicluster clusterset.local` on. Import j is in Service j's
// namespace; the odd ones are headless, the even ones have a ClusterSetIP.
const (
	importsPerServices  = 10
	endpointsPerCluster = 3
	clustersetZone      = "clusterset.local"
	// mcProgrammingSamples writes per server, alternating a new
	// ClusterSetIP import and a new slice of a headless import, spaced as
	// the Service programming samples are.
	mcProgrammingSamples = 20
)

var mcClusters = []string{"cluster-a", "cluster-b", "cluster-c"}

// programmedLabel marks the objects of the programming samples, removed
// after each server's so that the next server measures the same cluster.
const programmedLabel = "bench.clusterdns.io/programming"

var programmedLabels = map[string]string{programmedLabel: "true"}

// Multicluster is the multicluster variant at one size.
type Multicluster struct {
	Imports  int // ServiceImports, Headless of them headless
	Headless int
	Clusters int
	// Slices and Endpoints are the multi-cluster EndpointSlices and the
	// endpoints in them.
	Slices, Endpoints int
	// LoadTime is how long writing the imports and slices took.
	LoadTime time.Duration
	Servers  []MulticlusterServer
}

// MulticlusterServer is one server's figures with `multicluster` on, its
// Corefile the bench Corefile plus the clusterset zone.
type MulticlusterServer struct {
	Name         string
	Ready        time.Duration // median of ReadySamples, as Server's
	ReadySamples []time.Duration
	RSSSynced    uint64
	// Load is the clusterset mix, uncached.
	Load Load
	// ProgrammingImport is, per new ClusterSetIP ServiceImport, the time
	// from the create call's return to the first answer with its IP;
	// ProgrammingSlice the same for a new member cluster's endpoint of a
	// headless import, asked by its <host>.<clusterid>.<svc> name.
	ProgrammingImport, ProgrammingSlice []time.Duration
}

// MixClusterset is the clusterset mix (clustersetQueries).
const MixClusterset = "clusterset"

func importName(j int) string   { return fmt.Sprintf("mc-%d", j) }
func importHeadless(j int) bool { return j%2 == 1 }

// importNamespace is Service j's: an exported Service's import lives in
// the namespace it was exported from.
func importNamespace(j int) string { return namespaceOf(j) }

// clustersetIP is import j's ClusterSetIP, in 10.32.0.0/12, clear of the
// Services' ClusterIPs and the other objects' addresses.
func clustersetIP(j int) netip.Addr { return addrFrom(netip.MustParseAddr("10.32.0.0"), uint32(j)) }

// mcEndpointAddr is endpoint k of member cluster c for import j, in
// 10.48.0.0/12.
func mcEndpointAddr(j, c, k int) netip.Addr {
	return addrFrom(netip.MustParseAddr("10.48.0.0"), uint32((j*len(mcClusters)+c)*endpointsPerCluster+k))
}

func mcHostname(k int) string { return fmt.Sprintf("host-%d", k) }

func clustersetName(j int) string {
	return importName(j) + "." + importNamespace(j) + ".svc." + clustersetZone
}

// clustersetQueries is the clusterset mix, drawn with a fixed seed from
// imports [0, imports): out of every 20 queries, 7 A of a ClusterSetIP
// import, 3 SRV of one, 4 A of a headless import (endpoints from every
// member cluster), 3 A of one endpoint's <host>.<clusterid>.<svc> name and
// 3 names that do not exist (NXDOMAIN).
func clustersetQueries(imports int) []string {
	rng := rand.New(rand.NewPCG(3, uint64(imports)))
	clusterSetIP := func() int { return rng.IntN((imports+1)/2) * 2 }
	headless := func() int { return rng.IntN(imports/2)*2 + 1 }
	return drawMix(
		share{7, func() string { return clustersetName(clusterSetIP()) + " A" }},
		share{3, func() string { return "_http._tcp." + clustersetName(clusterSetIP()) + " SRV" }},
		share{4, func() string { return clustersetName(headless()) + " A" }},
		share{3, func() string {
			host := mcHostname(rng.IntN(endpointsPerCluster)) + "." + mcClusters[rng.IntN(len(mcClusters))]
			return host + "." + clustersetName(headless()) + " A"
		}},
		share{3, func() string { return "missing-" + clustersetName(rng.IntN(imports)) + " A" }},
	)
}

// serviceImport is import j as an MCS controller writes it.
func serviceImport(j int) *mcsv1alpha1.ServiceImport {
	si := &mcsv1alpha1.ServiceImport{
		ObjectMeta: metav1.ObjectMeta{Name: importName(j), Namespace: importNamespace(j)},
		Spec: mcsv1alpha1.ServiceImportSpec{
			Type:  mcsv1alpha1.ClusterSetIP,
			Ports: []mcsv1alpha1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}},
		},
	}
	if importHeadless(j) {
		si.Spec.Type = mcsv1alpha1.Headless
	} else {
		si.Spec.IPs = []string{clustersetIP(j).String()}
	}
	return si
}

// mcSlice is member cluster c's EndpointSlice of the import service in
// namespace ns, its endpoints at addrs named by hostnames.
func mcSlice(ns, service, name, cluster string, hostnames []string, addrs []netip.Addr) *discoveryv1.EndpointSlice {
	es := endpointSlice(ns, service, name, addrs)
	es.Labels = map[string]string{
		mcsv1alpha1.LabelServiceName:   service,
		mcsv1alpha1.LabelSourceCluster: cluster,
		discoveryv1.LabelManagedBy:     "bench.clusterdns.io",
	}
	for k := range es.Endpoints {
		es.Endpoints[k].Hostname = ptr.To(hostnames[k])
	}
	return es
}

// importSlices are import j's slices, one per member cluster.
func importSlices(j int) []*discoveryv1.EndpointSlice {
	out := make([]*discoveryv1.EndpointSlice, len(mcClusters))
	for c, cluster := range mcClusters {
		hosts := make([]string, endpointsPerCluster)
		addrs := make([]netip.Addr, endpointsPerCluster)
		for k := range addrs {
			hosts[k], addrs[k] = mcHostname(k), mcEndpointAddr(j, c, k)
		}
		out[c] = mcSlice(importNamespace(j), importName(j), importName(j)+"-"+cluster, cluster, hosts, addrs)
	}
	return out
}

// loadImports writes imports [0, n) and their slices.
func (l *loader) loadImports(ctx context.Context, mcs mcsclient.MulticlusterV1alpha1Interface, n int) error {
	return parallel(ctx, 0, n, func(ctx context.Context, j int) error {
		si := serviceImport(j)
		if err := create(ctx, mcs.ServiceImports(si.Namespace).Create, si); err != nil {
			return err
		}
		for _, es := range importSlices(j) {
			if err := create(ctx, l.client.DiscoveryV1().EndpointSlices(es.Namespace).Create, es); err != nil {
				return err
			}
		}
		return nil
	})
}

// removeImports deletes, in the benchmark's namespaces, the ServiceImports
// and multi-cluster slices selector selects ("" for every import).
// Collections: the API-only test bed runs no namespace controller to
// delete namespaces.
func (l *loader) removeImports(ctx context.Context, mcs mcsclient.MulticlusterV1alpha1Interface, selector string) error {
	slices := selector
	if slices == "" {
		slices = mcsv1alpha1.LabelSourceCluster
	}
	for n := range namespaces {
		ns := fmt.Sprintf("bench-%d", n)
		if err := mcs.ServiceImports(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: selector}); err != nil {
			return err
		}
		if err := l.client.DiscoveryV1().EndpointSlices(ns).DeleteCollection(ctx, metav1.DeleteOptions{},
			metav1.ListOptions{LabelSelector: slices}); err != nil {
			return err
		}
	}
	return nil
}

// mcProgramming writes mcProgrammingSamples changes through the API server,
// programmingSpacing apart, alternating a new ClusterSetIP import and a new
// member cluster's slice of a headless import, and times each to the
// server's first right answer. round numbers the server, so that its
// imports' IPs are its own.
func mcProgramming(tb testing.TB, mcs mcsclient.MulticlusterV1alpha1Interface, ld *loader, addr, prefix string, round, imports int) (imp, slice []time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), programmingTimeout+mcProgrammingSamples*programmingSpacing+30*time.Second)
	defer cancel()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for k := range mcProgrammingSamples {
		name := fmt.Sprintf("%s-%d", prefix, k)
		ip := addrFrom(netip.MustParseAddr("10.47.0.0"), uint32(round*mcProgrammingSamples+k))
		wg.Go(func() {
			var (
				d   time.Duration
				err error
			)
			if k%2 == 0 {
				d, err = programImport(ctx, mcs, addr, name, ip)
			} else {
				j := (k*7919)%(imports/2)*2 + 1 // a headless import
				d, err = programSlice(ctx, ld, addr, name, j, ip)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case k%2 == 0:
				imp = append(imp, d)
			default:
				slice = append(slice, d)
			}
		})
		time.Sleep(programmingSpacing)
	}
	wg.Wait()
	for _, err := range errs {
		tb.Logf("multicluster programming %s: %v", prefix, err)
	}
	return imp, slice
}

// programImport creates a ClusterSetIP import named name in bench-0 and
// times the first answer with ip.
func programImport(ctx context.Context, mcs mcsclient.MulticlusterV1alpha1Interface, addr, name string, ip netip.Addr) (time.Duration, error) {
	const ns = "bench-0"
	qname := name + "." + ns + ".svc." + clustersetZone + "."
	return timeWrite(ctx, addr, qname, func() (net.IP, error) {
		_, err := mcs.ServiceImports(ns).Create(ctx, &mcsv1alpha1.ServiceImport{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: programmedLabels},
			Spec: mcsv1alpha1.ServiceImportSpec{Type: mcsv1alpha1.ClusterSetIP, IPs: []string{ip.String()},
				Ports: []mcsv1alpha1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
		}, metav1.CreateOptions{})
		return ip.AsSlice(), err
	})
}

// programSlice adds a member cluster named name to headless import j, with
// one endpoint at ip whose hostname is name too, and times the first
// answer for <name>.<name>.<svc>.
func programSlice(ctx context.Context, ld *loader, addr, name string, j int, ip netip.Addr) (time.Duration, error) {
	ns := importNamespace(j)
	qname := name + "." + name + "." + clustersetName(j) + "."
	es := mcSlice(ns, importName(j), importName(j)+"-"+name, name, []string{name}, []netip.Addr{ip})
	es.Labels[programmedLabel] = "true"
	return timeWrite(ctx, addr, qname, func() (net.IP, error) {
		_, err := ld.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, es, metav1.CreateOptions{})
		return ip.AsSlice(), err
	})
}
