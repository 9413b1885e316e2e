package bench

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// programmingSamples Services are created per server and Corefile,
	// programmingSpacing apart, each watched by its own goroutine.
	programmingSamples = 30
	programmingSpacing = 100 * time.Millisecond
	// programmingTimeout ends the wait for one name: beyond cache 30's
	// longest negative TTL.
	programmingTimeout = 45 * time.Second
	programmingNS      = "bench-programming"
)

// programming measures DNS programming latency through the server at addr:
// for each sample, query the Service's name (NXDOMAIN: it does not exist
// yet, and a pod that is waiting for it asks just so), create the Service,
// and poll until the server answers its ClusterIP. The latency is from the
// create call's return to that answer. Names carry prefix, unique per run,
// so no earlier run's cache entry or object is in the way.
func programming(tb testing.TB, client kubernetes.Interface, addr, prefix string) []time.Duration {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), programmingTimeout+programmingSamples*programmingSpacing+30*time.Second)
	defer cancel()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: programmingNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		tb.Fatal(err)
	}
	var (
		mu      sync.Mutex
		samples []time.Duration
		errs    []error
		wg      sync.WaitGroup
	)
	for k := range programmingSamples {
		name := fmt.Sprintf("%s-%d", prefix, k)
		wg.Go(func() {
			d, err := programOne(ctx, client, addr, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			samples = append(samples, d)
		})
		time.Sleep(programmingSpacing)
	}
	wg.Wait()
	for _, err := range errs {
		tb.Logf("programming %s: %v", prefix, err)
	}
	return samples
}

func programOne(ctx context.Context, client kubernetes.Interface, addr, name string) (time.Duration, error) {
	qname := name + "." + programmingNS + ".svc.cluster.local."
	return timeWrite(ctx, addr, qname, func() (net.IP, error) {
		svc, err := client.CoreV1().Services(programmingNS).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
		}, metav1.CreateOptions{})
		if err != nil {
			return nil, err
		}
		return net.ParseIP(svc.Spec.ClusterIP), nil
	})
}

// timeWrite asks qname (NXDOMAIN: it does not exist yet), calls write,
// and polls the server at addr until it answers qname with the address
// write returns: the time from write's return to that answer.
func timeWrite(ctx context.Context, addr, qname string, write func() (net.IP, error)) (time.Duration, error) {
	c := &dns.Client{Timeout: time.Second}
	m := new(dns.Msg)
	m.SetQuestion(qname, dns.TypeA)
	if r, _, err := c.ExchangeContext(ctx, m, addr); err != nil {
		return 0, fmt.Errorf("%s before the write: %w", qname, err)
	} else if r.Rcode != dns.RcodeNameError {
		return 0, fmt.Errorf("%s before the write: rcode %s, want NXDOMAIN", qname, dns.RcodeToString[r.Rcode])
	}
	want, err := write()
	if err != nil {
		return 0, err
	}
	written := time.Now()
	// Poll fast at first, where the answer usually is, and slower later,
	// where only a cache's TTL is left to wait out: resolution stays within
	// a few percent of the latency measured.
	for wait := time.Millisecond; ; wait = min(wait*2, 50*time.Millisecond) {
		r, _, err := c.ExchangeContext(ctx, m.Copy(), addr)
		if err == nil && r.Rcode == dns.RcodeSuccess {
			for _, rr := range r.Answer {
				if a, ok := rr.(*dns.A); ok && a.A.Equal(want) {
					return time.Since(written), nil
				}
			}
		}
		if time.Since(written) > programmingTimeout {
			return 0, fmt.Errorf("%s: no answer %s within %v", qname, want, programmingTimeout)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(wait):
		}
	}
}
