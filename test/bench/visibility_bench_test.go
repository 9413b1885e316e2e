package bench

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/miekg/dns"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// visibility measures the visibility run (visibility.go) at this size:
// clusterdns with the option off, then on, optionPairs times (the first
// pair with latency and RSS), then stock, each under the uncached
// visibility mix sent from the client pod's address.
func (m *measurer) visibility(b bins) *VisibilityCost {
	m.visibilityClientPod()
	vm := *m
	vm.source = visibilityClientAddr
	res := &VisibilityCost{}
	type run struct {
		name, bin, plugin string
		visibility        bool
	}
	measure := func(r run, full bool) (load Load, rss uint64) {
		p := freePorts(m.tb)
		cfg := benchConfig{plugin: r.plugin, podsMode: m.pods, kubeconfig: m.cluster.Kubeconfig, upstream: m.upstream.dns, visibility: r.visibility}
		s := startServer(m.tb, m.work, fmt.Sprintf("%s-%s", r.name, m.size), r.bin, benchCorefile(cfg, p), p)
		defer s.Stop()
		s.waitReady(m.tb, readyTimeout)
		vm.waitClientServed(s)
		if !r.visibility {
			// With the option, Ready waits for the pods; and the last
			// pod's name, asked from the host, is hidden from it.
			m.waitPods(s, r.name)
		}
		if !full {
			return vm.fullSpeed(s, MixVisibility, false), 0
		}
		if r.plugin == "clusterdns" {
			time.Sleep(settle)
			rss = m.mustRSS(s)
		}
		return vm.load(s, MixVisibility, false), rss
	}
	for pair := range optionPairs {
		off, rssOff := measure(run{pairName("clusterdns-visibility-off", pair), b.clusterdns, "clusterdns", false}, pair == 0)
		on, rssOn := measure(run{pairName("clusterdns-visibility-on", pair), b.clusterdns, "clusterdns", true}, pair == 0)
		if pair == 0 {
			res.Off, res.RSSOff, res.On, res.RSSOn = &off, rssOff, &on, rssOn
		}
		res.Pairs = append(res.Pairs, OptionPair{Off: off.CPUPerQuery, On: on.CPUPerQuery})
	}
	stock, _ := measure(run{"coredns-visibility", b.stock, "kubernetes", false}, true)
	res.Stock = &stock
	m.tb.Logf("%s visibility: CPU per query on/off %s%s, RSS on/off %s", m.size, visibilityOnOff(Size{Visibility: res}),
		pairRatios(res.Pairs), visibilityRSS(Size{Visibility: res}))
	return res
}

// visibilityClientPod creates the client pod, Running at
// visibilityClientAddr, unless an earlier size did.
func (m *measurer) visibilityClientPod() {
	ctx := context.Background()
	ns := fmt.Sprintf("bench-%d", visibilityOwn)
	pods := m.client.CoreV1().Pods(ns)
	pod := testkit.RealisticPod(ns, 0)
	pod.Name = visibilityClientPod
	got, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return
	}
	if err != nil {
		m.tb.Fatal(err)
	}
	got.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: visibilityClientAddr, PodIPs: []corev1.PodIP{{IP: visibilityClientAddr}}}
	if _, err := pods.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		m.tb.Fatal(err)
	}
}

// waitClientServed waits until s answers the client pod, from its address,
// with a Service of its own namespace: with the option on, only once s
// knows the pod.
func (m *measurer) waitClientServed(s *server) {
	c := &dns.Client{Timeout: 100 * time.Millisecond, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(visibilityClientAddr)}}}
	q := new(dns.Msg).SetQuestion(serviceName(visibilityOwn*headlessEvery)+"."+namespaceOf(visibilityOwn*headlessEvery)+".svc.cluster.local.", dns.TypeA)
	err := s.Await(readyTimeout, 20*time.Millisecond, func() bool {
		r, _, err := c.Exchange(q, s.dns)
		return err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0
	})
	if err != nil {
		m.tb.Fatalf("%s does not answer the client pod %s: %v; log %s:\n%s", s.name, q.Question[0].Name, err, s.logPath, s.Log().Tail(20))
	}
}

// sources are the source addresses dnsperf is given: none, or m.source.
func (m *measurer) sources() []string {
	if m.source == "" {
		return nil
	}
	return []string{m.source}
}
