package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/miekg/dns"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// outageDown is how long the API server stays down after the server under
// measurement starts: longer than stock's startup_timeout (5 s), so both
// have started and answered what they could.
const outageDown = 10 * time.Second

// outage restarts a server while the API server is down: the time to its
// first right answer for a Service it knew, what it answers until the API
// server returns, and how soon after that it serves a Service created
// while it was stopped. clusterdns runs with a snapshot, as the shipped
// Corefile does.
func (m *measurer) outage(name, bin, plugin string) *Outage {
	tb := m.tb
	ctx := context.Background()
	cfg := benchConfig{plugin: plugin, podsMode: m.pods, kubeconfig: m.cluster.Kubeconfig, upstream: m.upstream.dns}
	if plugin == "clusterdns" {
		cfg.snapshot = filepath.Join(m.work, fmt.Sprintf("%s-%s.snapshot", name, m.size))
	}
	known := serviceName(0) + "." + namespaceOf(0) + ".svc.cluster.local."
	svc, err := m.client.CoreV1().Services(namespaceOf(0)).Get(ctx, serviceName(0), metav1.GetOptions{})
	if err != nil {
		tb.Fatal(err)
	}

	// A run with the API server up leaves the snapshot behind.
	p := freePorts(tb)
	s := startServer(tb, m.work, fmt.Sprintf("%s-%s-outage-before", name, m.size), bin, benchCorefile(cfg, p), p)
	s.waitReady(tb, readyTimeout)
	if cfg.snapshot != "" {
		deadline := time.Now().Add(time.Minute)
		for _, err := os.Stat(cfg.snapshot); err != nil; _, err = os.Stat(cfg.snapshot) {
			if time.Now().After(deadline) {
				tb.Fatalf("%s wrote no snapshot: %v", name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	s.Stop()

	// While it is stopped, a Service is created; then the API server goes.
	added, err := m.client.CoreV1().Services(namespaceOf(0)).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "outage-" + name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	defer m.client.CoreV1().Services(namespaceOf(0)).Delete(ctx, added.Name, metav1.DeleteOptions{})
	addedName := added.Name + "." + namespaceOf(0) + ".svc.cluster.local."
	m.cluster.StopAPIServer()

	res := &Outage{}
	p = freePorts(tb)
	s = startServer(tb, m.work, fmt.Sprintf("%s-%s-outage", name, m.size), bin, benchCorefile(cfg, p), p)
	until := s.started.Add(outageDown)
	for time.Now().Before(until) {
		rcode, ok := askA(s.dns, known, svc.Spec.ClusterIP)
		res.Rcode = rcode
		if ok && res.FirstAnswer == 0 {
			res.FirstAnswer = time.Since(s.started)
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.Down = time.Since(s.started)

	m.cluster.StartAPIServer()
	ready := time.Now()
	deadline := ready.Add(2 * time.Minute)
	for {
		if _, ok := askA(s.dns, addedName, added.Spec.ClusterIP); ok {
			res.LiveAfterReady = time.Since(ready)
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %s not answered 2 minutes after the API server returned", name, addedName)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Stop()
	tb.Logf("%s %s outage: first answer %v, answering %s at the end of %v down, live %v after ready",
		m.size, name, res.FirstAnswer.Round(time.Millisecond), res.Rcode, res.Down.Round(time.Millisecond), res.LiveAfterReady.Round(time.Millisecond))
	return res
}

// askA asks addr for name's A records and tells the rcode ("timeout" when
// no reply came) and whether the answer is exactly ip.
func askA(addr, name, ip string) (string, bool) {
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	r, _, err := c.Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), addr)
	if err != nil {
		return "timeout", false
	}
	var got []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			got = append(got, a.A.String())
		}
	}
	return dns.RcodeToString[r.Rcode], r.Rcode == dns.RcodeSuccess && slices.Equal(got, []string{ip})
}
