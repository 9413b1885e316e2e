package cluster_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/cluster"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestSmoke starts the whole test bed and checks the chain clusterdns relies
// on: Deployment -> pods Running with IPs on kwok nodes -> EndpointSlice with
// ready endpoints; dual-stack ClusterIPs; kubeconfigs for the admin and for a
// ServiceAccount; and an API server restart that keeps the data and the
// controllers working.
func TestSmoke(t *testing.T) {
	begin := time.Now()
	c := cluster.Start(t, cluster.Options{})
	t.Logf("cluster.Start took %v", time.Since(begin).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := c.Client

	nodes := c.AddNodes(2)
	t.Logf("2 kwok nodes Ready after %v", time.Since(begin).Round(time.Millisecond))

	const ns, app = metav1.NamespaceDefault, "web"
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, deployment(app, 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": app},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var podIPs []string
	cluster.Eventually(t, ctx, "3 pods Running with IPs on kwok nodes", func() error {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			return err
		}
		podIPs = podIPs[:0]
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
				return fmt.Errorf("pod %s: phase %s, IP %q", p.Name, p.Status.Phase, p.Status.PodIP)
			}
			if !slices.Contains(nodes, p.Spec.NodeName) {
				return fmt.Errorf("pod %s on node %q, not a kwok node %v", p.Name, p.Spec.NodeName, nodes)
			}
			// The nodes have an IPv4 and an IPv6 pod CIDR: kwok gives each
			// pod an address from both.
			if len(p.Status.PodIPs) != 2 {
				return fmt.Errorf("pod %s: pod IPs %v, want one per family", p.Name, p.Status.PodIPs)
			}
			podIPs = append(podIPs, p.Status.PodIP)
		}
		if len(podIPs) != 3 {
			return fmt.Errorf("%d pods running, want 3", len(podIPs))
		}
		return nil
	})
	t.Logf("pods Running after %v: %v", time.Since(begin).Round(time.Millisecond), podIPs)

	cluster.Eventually(t, ctx, "EndpointSlice with 3 ready endpoints", func() error {
		return readyEndpoints(ctx, client, ns, app, podIPs)
	})
	t.Logf("EndpointSlice complete after %v", time.Since(begin).Round(time.Millisecond))

	t.Run("dual-stack service", func(t *testing.T) {
		policy := corev1.IPFamilyPolicyRequireDualStack
		dual := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: app + "-dual"},
			Spec: corev1.ServiceSpec{
				IPFamilyPolicy: &policy,
				Selector:       map[string]string{"app": app},
				Ports:          []corev1.ServicePort{{Port: 80}},
			},
		}
		got, err := client.CoreV1().Services(ns).Create(ctx, dual, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ranges := []netip.Prefix{netip.MustParsePrefix(cluster.ServiceCIDRv4), netip.MustParsePrefix(cluster.ServiceCIDRv6)}
		if len(got.Spec.ClusterIPs) != 2 {
			t.Fatalf("clusterIPs %v, want an IPv4 and an IPv6 one", got.Spec.ClusterIPs)
		}
		for i, ip := range got.Spec.ClusterIPs {
			addr, err := netip.ParseAddr(ip)
			if err != nil || !ranges[i].Contains(addr) {
				t.Errorf("clusterIPs[%d] = %q, want an address in %v", i, ip, ranges[i])
			}
		}
		if want := []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}; !slices.Equal(got.Spec.IPFamilies, want) {
			t.Errorf("ipFamilies %v, want %v", got.Spec.IPFamilies, want)
		}
	})

	t.Run("kubeconfigs", func(t *testing.T) {
		admin := clientFromKubeconfig(t, c.Kubeconfig)
		if _, err := admin.CoreV1().Services(ns).Get(ctx, app, metav1.GetOptions{}); err != nil {
			t.Errorf("admin kubeconfig: %v", err)
		}
		// A fresh ServiceAccount is authenticated (its token is valid) but
		// has no RBAC grant: Forbidden, not Unauthorized.
		sa := clientFromKubeconfig(t, c.WriteKubeconfig(c.ServiceAccountToken(ns, "clusterdns")))
		_, err := sa.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("ServiceAccount without RBAC listing services: %v, want Forbidden", err)
		}
		bad := clientFromKubeconfig(t, c.WriteKubeconfig("not-a-token"))
		if _, err := bad.CoreV1().Services(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
			t.Errorf("unknown token: %v, want Unauthorized", err)
		}
	})

	t.Run("API server restart", func(t *testing.T) {
		c.StopAPIServer()
		if _, err := client.CoreV1().Services(ns).Get(ctx, app, metav1.GetOptions{}); err == nil {
			t.Fatal("the API server answers after StopAPIServer")
		}
		c.StartAPIServer()
		if _, err := client.CoreV1().Services(ns).Get(ctx, app, metav1.GetOptions{}); err != nil {
			t.Fatalf("service lost across the restart: %v", err)
		}
		// The controllers, scheduler and kwok reconnected: scaling up yields
		// a fourth Running pod and a fourth ready endpoint.
		scale, err := client.AppsV1().Deployments(ns).GetScale(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		scale.Spec.Replicas = 4
		if _, err := client.AppsV1().Deployments(ns).UpdateScale(ctx, app, scale, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		cluster.Eventually(t, ctx, "4 ready endpoints after the restart", func() error {
			return readyEndpoints(ctx, client, ns, app, nil)
		})
	})
}

func deployment(app string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": app}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name: app,
						// Never pulled: kwok only pretends to run it.
						Image: "registry.k8s.io/pause:3.10",
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
					}},
				},
			},
		},
	}
}

// readyEndpoints checks the Service's IPv4 EndpointSlices: as many ready
// endpoints as the Deployment's pods that are Running (want, when given, are
// their IPs; else the count is the Deployment's replicas), all with port 8080.
func readyEndpoints(ctx context.Context, client kubernetes.Interface, ns, svc string, want []string) error {
	if want == nil {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, svc, metav1.GetOptions{})
		if err != nil {
			return err
		}
		want = make([]string, *d.Spec.Replicas)
	}
	ready, err := cluster.ReadyAddresses(ctx, client, ns, svc, func(s *discoveryv1.EndpointSlice) error {
		if len(s.Ports) != 1 || s.Ports[0].Port == nil || *s.Ports[0].Port != 8080 {
			return fmt.Errorf("slice %s: ports %v, want http 8080", s.Name, s.Ports)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(ready) != len(want) {
		return fmt.Errorf("ready endpoint addresses %v, want %d", ready, len(want))
	}
	for _, ip := range want {
		if ip != "" && !slices.Contains(ready, ip) {
			return fmt.Errorf("ready endpoint addresses %v lack pod IP %s", ready, ip)
		}
	}
	return nil
}

func clientFromKubeconfig(t *testing.T, path string) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", path, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}
