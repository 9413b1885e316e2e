package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/cluster"

	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/typed/apis/v1alpha1"
)

// measureMulticluster writes the imports for services Services, measures both
// servers with `multicluster` on, and removes the imports again.
func (m *measurer) measureMulticluster(services int, bins bins, mcs mcsclient.MulticlusterV1alpha1Interface, ld *loader) *Multicluster {
	tb := m.tb
	n := services / importsPerServices
	res := &Multicluster{Imports: n, Headless: n / 2, Clusters: len(mcClusters), Slices: n * len(mcClusters)}
	res.Endpoints = res.Slices * endpointsPerCluster
	begin := time.Now()
	if err := ld.loadImports(context.Background(), mcs, n); err != nil {
		tb.Fatalf("%s multicluster: load: %v", m.size, err)
	}
	res.LoadTime = time.Since(begin)
	tb.Logf("%s multicluster: %d ServiceImports, %d slices in %v", m.size, n, res.Slices, res.LoadTime.Round(time.Millisecond))
	// The sizes after this one measure what they did before the variant
	// existed.
	defer func() {
		if err := ld.removeImports(context.Background(), mcs, ""); err != nil {
			tb.Fatalf("%s multicluster: remove the imports: %v", m.size, err)
		}
		tb.Logf("%s multicluster: done in %v", m.size, time.Since(begin).Round(time.Second))
	}()
	file := filepath.Join(m.work, m.size+"-clusterset.queries")
	if err := writeQueryFile(file, clustersetQueries(n)); err != nil {
		tb.Fatal(err)
	}
	m.files[MixClusterset] = file

	mc := *m
	mc.multicluster = true
	mc.size = m.size + "-mc"
	mc.waitQuiet()
	runs := []readyRun{{ClusterDNS, bins.clusterdns, "clusterdns"}, {Stock, bins.stock, "kubernetes"}}
	ready := mc.readyTimes(runs)
	for i, r := range runs {
		sv := MulticlusterServer{Name: r.name, ReadySamples: ready[r.name]}
		sv.Ready = median(sv.ReadySamples)
		cfg := benchConfig{plugin: r.plugin, podsMode: m.pods, kubeconfig: m.cluster.Kubeconfig, upstream: m.upstream.dns, multicluster: true}
		p := freePorts(tb)
		s := startServer(tb, m.work, r.name+"-"+mc.size, r.bin, benchCorefile(cfg, p), p)
		s.waitReady(tb, readyTimeout)
		s.waitAnswering(tb)
		time.Sleep(settle)
		sv.RSSSynced = mc.mustRSS(s)
		sv.Load = mc.load(s, MixClusterset, false)
		prefix := fmt.Sprintf("p%d-%s", i, mc.size)
		sv.ProgrammingImport, sv.ProgrammingSlice = mcProgramming(tb, mcs, ld, s.dns, prefix, i, n)
		mc.tb.Logf("%s %s: programming p50 import %.3g ms, slice %.3g ms", mc.size, r.name,
			programmingPercentile(sv.ProgrammingImport, 0.5), programmingPercentile(sv.ProgrammingSlice, 0.5))
		if got := len(sv.ProgrammingImport) + len(sv.ProgrammingSlice); got < mcProgrammingSamples {
			mc.note("%s %s: programming latency: %d of %d samples answered (log: %s)", mc.size, r.name, got, mcProgrammingSamples, s.logPath)
		}
		s.Stop()
		if err := ld.removeImports(context.Background(), mcs, programmedLabel); err != nil {
			tb.Fatalf("%s multicluster: remove the programming samples: %v", m.size, err)
		}
		res.Servers = append(res.Servers, sv)
	}
	return res
}

// mcsClient installs the ServiceImport CRD of the pinned mcs-api module on
// the test bed and returns a client for ServiceImports without client-side
// rate limiting, as fastClient.
func mcsClient(tb testing.TB, c *cluster.Cluster) mcsclient.MulticlusterV1alpha1Interface {
	tb.Helper()
	c.InstallServiceImportCRD()
	client, err := mcsclient.NewForConfig(fastConfig(c))
	if err != nil {
		tb.Fatal(err)
	}
	return client
}
