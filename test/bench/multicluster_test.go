package bench

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clustersetQuery is one line of the clusterset mix, taken apart.
var clustersetQuery = regexp.MustCompile(`^(missing-|_http\._tcp\.|(host-\d+)\.(cluster-[abc])\.)?mc-(\d+)\.(bench-\d)\.svc\.clusterset\.local (A|SRV)$`)

func TestClustersetQueries(t *testing.T) {
	const imports = 1_000
	lines := clustersetQueries(imports)
	if len(lines) < queryLines {
		t.Fatalf("%d lines, want at least %d", len(lines), queryLines)
	}
	if !slices.Equal(lines, clustersetQueries(imports)) {
		t.Error("two calls drew different mixes: the seed is not fixed")
	}
	kinds := map[string]int{}
	for _, line := range lines {
		m := clustersetQuery.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%q is none of the mix's names", line)
		}
		j, _ := strconv.Atoi(m[4])
		if j >= imports {
			t.Fatalf("%q: import %d of %d", line, j, imports)
		}
		if m[5] != importNamespace(j) {
			t.Fatalf("%q: import %d is in %s", line, j, importNamespace(j))
		}
		var kind string
		switch {
		case m[1] == "missing-":
			kind = "nxdomain"
		case m[1] == "_http._tcp.":
			kind = "srv"
		case m[2] != "":
			kind = "endpoint"
			if k, _ := strconv.Atoi(strings.TrimPrefix(m[2], "host-")); k >= endpointsPerCluster {
				t.Fatalf("%q: cluster slices hold %d endpoints", line, endpointsPerCluster)
			}
		case importHeadless(j):
			kind = "headless"
		default:
			kind = "clustersetip"
		}
		// Every name but a missing one is of the right kind of import.
		if wantHeadless := kind == "endpoint" || kind == "headless"; kind != "nxdomain" && importHeadless(j) != wantHeadless {
			t.Fatalf("%q (%s) names import %d, headless %v", line, kind, j, importHeadless(j))
		}
		if wantType := map[bool]string{true: "SRV", false: "A"}[kind == "srv"]; m[6] != wantType {
			t.Fatalf("%q: type %s, want %s", line, m[6], wantType)
		}
		kinds[kind]++
	}
	want := map[string]int{"clustersetip": 7, "srv": 3, "headless": 4, "endpoint": 3, "nxdomain": 3}
	for kind, per20 := range want {
		if got := kinds[kind] * 20; got != per20*len(lines) {
			t.Errorf("%s: %d of %d lines, want %d in 20", kind, kinds[kind], len(lines), per20)
		}
	}
}

// TestImportObjects checks the objects the MCS controller of the bench
// writes: what the servers read them by, and no address shared.
func TestImportObjects(t *testing.T) {
	const imports = 1_000
	seen := map[string]string{}
	claim := func(addr, owner string) {
		t.Helper()
		if prev, ok := seen[addr]; ok {
			t.Fatalf("%s is both %s and %s", addr, prev, owner)
		}
		seen[addr] = owner
	}
	for i := range 10_000 {
		for k := range endpointsPerHeadless {
			claim(headlessAddr(i, k).String(), fmt.Sprintf("service %d endpoint %d", i, k))
		}
	}
	for j := range imports {
		si := serviceImport(j)
		if got := len(si.Spec.IPs) == 0; got != importHeadless(j) {
			t.Fatalf("import %d: no IPs %v, headless %v", j, got, importHeadless(j))
		}
		for _, ip := range si.Spec.IPs {
			claim(ip, si.Name)
		}
		slices := importSlices(j)
		if len(slices) != len(mcClusters) {
			t.Fatalf("import %d: %d slices", j, len(slices))
		}
		for c, es := range slices {
			if es.Labels["multicluster.kubernetes.io/service-name"] != si.Name ||
				es.Labels["multicluster.kubernetes.io/source-cluster"] != mcClusters[c] || es.Namespace != si.Namespace {
				t.Fatalf("import %d slice %s: labels %v in %s", j, es.Name, es.Labels, es.Namespace)
			}
			if _, ok := es.Labels["kubernetes.io/service-name"]; ok {
				t.Fatalf("slice %s carries a cluster-local service name", es.Name)
			}
			for k, ep := range es.Endpoints {
				if *ep.Hostname != mcHostname(k) {
					t.Fatalf("slice %s endpoint %d: hostname %s", es.Name, k, *ep.Hostname)
				}
				claim(ep.Addresses[0], es.Name)
			}
		}
	}
}

func syntheticMulticluster() *Multicluster {
	server := func(name string, scale float64, rss uint64) MulticlusterServer {
		var imports, slices []time.Duration
		for i := 1; i <= 10; i++ {
			imports = append(imports, time.Duration(float64(i)*scale)*time.Millisecond)
			slices = append(slices, time.Duration(float64(2*i)*scale)*time.Millisecond)
		}
		return MulticlusterServer{
			Name: name, Ready: time.Duration(scale * float64(time.Second)), RSSSynced: rss << 20,
			Load:              syntheticLoad(loadKind{mix: MixClusterset}, 40_000/scale, time.Duration(scale*20_000), 100*time.Microsecond),
			ProgrammingImport: imports, ProgrammingSlice: slices,
		}
	}
	return &Multicluster{Imports: 1_000, Headless: 500, Clusters: 3, Slices: 3_000, Endpoints: 9_000, LoadTime: 40 * time.Second,
		Servers: []MulticlusterServer{server(Stock, 2, 150), server(ClusterDNS, 1, 60)}}
}

func TestWriteMulticluster(t *testing.T) {
	size := syntheticSize("10k", 10_000, 1.25)
	size.Multicluster = syntheticMulticluster()
	var md markdown
	writeMulticluster(&md, size)
	got := md.String()
	base := map[string]float64{}
	for _, s := range size.Servers {
		base[s.Name] = mebibytes(s.RSSSynced)
	}
	for _, want := range []string{
		"### Multicluster (clusterset.local)",
		"1 000 ServiceImports (500 headless, the rest with a ClusterSetIP) from 3 member clusters: 3 000 multi-cluster EndpointSlices with 9 000 endpoints",
		"| QPS, clusterset mix | 40 000 | 20 000 | 2× |",
		"| CPU per query (µs) | 20 | 40 | 0.5× |",
		"| RSS after sync (MiB) | 60 | 150 | 0.4× |",
		fmt.Sprintf("| RSS over the same server without multicluster (MiB) | %s | %s | %s× |",
			figure(60-base[ClusterDNS]), figure(150-base[Stock]), figure((60-base[ClusterDNS])/(150-base[Stock]))),
		"| Ready (s) | 1 | 2 | 0.5× |",
		"| Programming, new import p50 (ms) | 5 | 10 | 0.5× |",
		"| Programming, new slice max (ms) | 20 | 40 | 0.5× |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("section lacks %q:\n%s", want, got)
		}
	}

	// Stock missing: its cells and the ratios show as missing.
	size.Multicluster.Servers = size.Multicluster.Servers[1:]
	md = markdown{}
	writeMulticluster(&md, size)
	if want := "| QPS, clusterset mix | 40 000 | – | – |"; !strings.Contains(md.String(), want) {
		t.Errorf("section lacks %q:\n%s", want, md.String())
	}

	// Not measured: no section.
	size.Multicluster = nil
	md = markdown{}
	writeMulticluster(&md, size)
	if md.Len() != 0 {
		t.Errorf("a size without the variant wrote %q", md.String())
	}
}
