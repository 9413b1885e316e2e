package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/clusterdns/clusterdns/test/cluster"
	"github.com/clusterdns/clusterdns/test/manifests"
	"github.com/clusterdns/clusterdns/test/testkit"
)

// deployKustomizations are every kustomization under deploy/ with what it
// must produce in the cluster. A new overlay needs a row here.
var deployKustomizations = []struct {
	dir string
	// clusterIP the kube-dns Service must get ("" for replace-coredns:
	// the existing Service's, which the overlay leaves alone).
	clusterIP string
	// extraKinds are the kinds the overlay adds to the base's.
	extraKinds []string
}{
	{dir: "deploy"},
	{dir: "deploy/overlays/pods-verified"},
	{dir: "deploy/overlays/multicluster"},
	{dir: "deploy/overlays/hpa", extraKinds: []string{"HorizontalPodAutoscaler"}},
	{dir: "deploy/overlays/proportional", extraKinds: []string{"Role", "RoleBinding"}},
	{dir: "deploy/overlays/replace-coredns"},
}

// TestDeployRender checks what kustomize makes of deploy/ without a cluster:
// every kustomization builds, the Corefile in its ConfigMap is the shipped
// corefiles/Corefile, and everything namespaced lands in kube-system.
func TestDeployRender(t *testing.T) {
	t.Parallel()
	shipped, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "corefiles", "Corefile"))
	if err != nil {
		t.Fatal(err)
	}
	baseKinds := map[string]bool{}
	for _, o := range manifests.Render(t, "deploy") {
		baseKinds[o.GetKind()] = true
	}
	for _, k := range deployKustomizations {
		t.Run(filepath.Base(k.dir), func(t *testing.T) {
			t.Parallel()
			kinds := map[string]bool{}
			var corefile string
			for _, o := range manifests.Render(t, k.dir) {
				kinds[o.GetKind()] = true
				clusterScoped := o.GetKind() == "ClusterRole" || o.GetKind() == "ClusterRoleBinding"
				if ns := o.GetNamespace(); !clusterScoped && ns != metav1.NamespaceSystem {
					t.Errorf("%s %s in namespace %q, want kube-system", o.GetKind(), o.GetName(), ns)
				}
				if o.GetKind() == "ConfigMap" && o.GetName() == "clusterdns" {
					corefile, _, _ = unstructured.NestedString(o.Object, "data", "Corefile")
				}
			}
			if corefile != string(shipped) {
				t.Errorf("ConfigMap clusterdns's Corefile differs from corefiles/Corefile:\n%s", corefile)
			}
			for kind := range baseKinds {
				if !kinds[kind] {
					t.Errorf("no %s, the base has one", kind)
				}
			}
			for _, kind := range k.extraKinds {
				if !kinds[kind] {
					t.Errorf("no %s", kind)
				}
			}
		})
	}
}

// TestDeployApply server-side applies every kustomization under deploy/ to
// the test bed's real kube-apiserver, one after the other on one cluster
// (each removed again before the next), and checks what a cluster makes of
// it: the kube-dns Service has its clusterIP, the clusterdns pods are
// scheduled onto the kwok nodes and Running, and the Service's
// EndpointSlices list them ready.
func TestDeployApply(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	nodes := c.AddNodes(2)
	d := &deployBed{c: c, nodes: nodes}
	var err error
	if d.dyn, err = dynamic.NewForConfig(c.Config); err != nil {
		t.Fatal(err)
	}
	d.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery()))

	for _, k := range deployKustomizations {
		t.Run(filepath.Base(k.dir), func(t *testing.T) {
			var existing *corev1.Service
			if strings.HasSuffix(k.dir, "replace-coredns") {
				existing = d.installCoreDNS(t)
			}
			objs := manifests.Render(t, k.dir)
			d.apply(t, objs)
			t.Cleanup(func() { d.remove(t, objs) })

			svc := d.waitService(t, k.clusterIP)
			if existing != nil {
				if svc.UID != existing.UID || svc.Spec.ClusterIP != existing.Spec.ClusterIP {
					t.Errorf("kube-dns Service replaced: uid %s clusterIP %s, want the existing %s %s",
						svc.UID, svc.Spec.ClusterIP, existing.UID, existing.Spec.ClusterIP)
				}
				if svc.Labels["kubernetes.io/name"] != "CoreDNS" || svc.Labels["app.kubernetes.io/name"] != "clusterdns" {
					t.Errorf("kube-dns Service labels %v: want kubeadm's kept and clusterdns's added", svc.Labels)
				}
			}
			switch filepath.Base(k.dir) {
			case "hpa":
				// The manifest leaves replicas to the HPA, which raises the
				// Deployment's default of 1 to minReplicas 2 (with no metrics
				// API, that is all it does).
				d.waitPods(t, "app.kubernetes.io/name=clusterdns", 2)
			case "proportional":
				// Nothing runs the autoscaler's image under kwok: its pod is
				// Running, the Deployment keeps the default of 1 replica.
				d.waitPods(t, "app.kubernetes.io/name=clusterdns-autoscaler", 1)
				d.waitPods(t, "app.kubernetes.io/name=clusterdns", 1)
			default:
				d.waitPods(t, "app.kubernetes.io/name=clusterdns", 2)
			}
			// CoreDNS's pods too, during a replacement: the Service selects
			// both, so DNS keeps answering throughout the switch.
			d.waitEndpoints(t, d.waitPods(t, "k8s-app=kube-dns", -1))
		})
	}
}

type deployBed struct {
	c      *cluster.Cluster
	nodes  []string
	dyn    dynamic.Interface
	mapper meta.ResettableRESTMapper
}

const deployTimeout = 2 * time.Minute

func (d *deployBed) resource(t *testing.T, o *unstructured.Unstructured) dynamic.ResourceInterface {
	t.Helper()
	gvk := o.GroupVersionKind()
	m, err := d.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		d.mapper.Reset()
		if m, err = d.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := o.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		return d.dyn.Resource(m.Resource).Namespace(ns)
	}
	return d.dyn.Resource(m.Resource)
}

// apply is `kubectl apply --server-side` without --force-conflicts: a field
// another manager owns with a different value fails the test. A previous
// case's Service may still hold 10.96.0.10 for a moment after its deletion,
// so the whole apply is retried until deployTimeout.
func (d *deployBed) apply(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deployTimeout)
	defer cancel()
	cluster.Eventually(t, ctx, "server-side apply", func() error {
		for _, o := range objs {
			data, err := json.Marshal(o)
			if err != nil {
				return err
			}
			_, err = d.resource(t, o).Patch(ctx, o.GetName(), types.ApplyPatchType, data,
				metav1.PatchOptions{FieldManager: "clusterdns-test"})
			if err != nil {
				return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
			}
		}
		return nil
	})
}

// remove deletes what apply applied, and installCoreDNS's Deployment if
// there, and waits until they and their pods are gone.
func (d *deployBed) remove(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deployTimeout)
	defer cancel()
	background := metav1.DeletePropagationBackground
	err := d.c.Client.AppsV1().Deployments(metav1.NamespaceSystem).Delete(ctx, "coredns", metav1.DeleteOptions{PropagationPolicy: &background})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete Deployment coredns: %v", err)
	}
	for _, o := range slices.Backward(objs) {
		err := d.resource(t, o).Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	cluster.Eventually(t, ctx, "objects and pods gone", func() error {
		for _, o := range objs {
			if _, err := d.resource(t, o).Get(ctx, o.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s %s still there (%v)", o.GetKind(), o.GetName(), err)
			}
		}
		pods, err := d.c.Client.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if n := len(pods.Items); n > 0 {
			return fmt.Errorf("%d pods left in kube-system, first %s", n, pods.Items[0].Name)
		}
		return nil
	})
}

// installCoreDNS stands in for a kubeadm cluster's CoreDNS: its Deployment
// and its kube-dns Service (kubeadm's labels, annotations and ports), on a
// clusterIP other than the base's, created with plain creates as kubeadm
// does. It returns the Service; remove deletes them.
func (d *deployBed) installCoreDNS(t *testing.T) *corev1.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deployTimeout)
	defer cancel()
	ns := metav1.NamespaceSystem
	labels := map[string]string{"k8s-app": "kube-dns"}
	dep := deploymentOf("coredns", 2, map[string]string{"k8s-app": "kube-dns", "app": "coredns"})
	if _, err := d.c.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kube-dns",
			Labels: map[string]string{
				"k8s-app":                       "kube-dns",
				"kubernetes.io/cluster-service": "true",
				"kubernetes.io/name":            "CoreDNS",
			},
			Annotations: map[string]string{"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
		},
		Spec: corev1.ServiceSpec{
			Selector:  labels,
			ClusterIP: "10.96.0.53",
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
				{Name: "metrics", Port: 9153, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9153)},
			},
		},
	}
	got, err := d.c.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.waitPods(t, "app=coredns", 2)
	return got
}

// waitService waits for kube-dns to have a clusterIP, want if given, and
// returns it.
func (d *deployBed) waitService(t *testing.T, want string) *corev1.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deployTimeout)
	defer cancel()
	var svc *corev1.Service
	cluster.Eventually(t, ctx, "kube-dns clusterIP", func() error {
		var err error
		svc, err = d.c.Client.CoreV1().Services(metav1.NamespaceSystem).Get(ctx, "kube-dns", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
			return fmt.Errorf("clusterIP %q", svc.Spec.ClusterIP)
		}
		if want != "" && svc.Spec.ClusterIP != want {
			return fmt.Errorf("clusterIP %s, want %s", svc.Spec.ClusterIP, want)
		}
		return nil
	})
	return svc
}

// waitPods waits until exactly n pods (any number when n < 0, at least one)
// in kube-system match selector and all are Running and Ready on kwok
// nodes, and returns them.
func (d *deployBed) waitPods(t *testing.T, selector string, n int) []corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deployTimeout)
	defer cancel()
	var pods []corev1.Pod
	cluster.Eventually(t, ctx, fmt.Sprintf("%d pods %s Running", n, selector), func() error {
		list, err := d.c.Client.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		pods = list.Items
		if (n >= 0 && len(pods) != n) || len(pods) == 0 {
			return fmt.Errorf("%d pods", len(pods))
		}
		for _, p := range pods {
			if !slices.Contains(d.nodes, p.Spec.NodeName) {
				return fmt.Errorf("pod %s on node %q, not scheduled onto a kwok node", p.Name, p.Spec.NodeName)
			}
			if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || p.DeletionTimestamp != nil {
				return fmt.Errorf("pod %s: phase %s, IP %q", p.Name, p.Status.Phase, p.Status.PodIP)
			}
			if !podReady(&p) {
				return fmt.Errorf("pod %s not Ready", p.Name)
			}
		}
		return nil
	})
	return pods
}

// waitEndpoints waits until kube-dns's IPv4 EndpointSlices list exactly
// the pods' IPs, ready, with the ports dns/UDP, dns-tcp/TCP and metrics.
func (d *deployBed) waitEndpoints(t *testing.T, pods []corev1.Pod) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deployTimeout)
	defer cancel()
	var want []string
	for _, p := range pods {
		want = append(want, p.Status.PodIP)
	}
	slices.Sort(want)
	cluster.Eventually(t, ctx, "kube-dns EndpointSlices", func() error {
		ready, err := cluster.ReadyAddresses(ctx, d.c.Client, metav1.NamespaceSystem, "kube-dns", func(s *discoveryv1.EndpointSlice) error {
			var ports []string
			for _, p := range s.Ports {
				ports = append(ports, fmt.Sprintf("%s/%s/%d", *p.Name, *p.Protocol, *p.Port))
			}
			slices.Sort(ports)
			if len(s.Endpoints) > 0 && !slices.Equal(ports, []string{"dns-tcp/TCP/53", "dns/UDP/53", "metrics/TCP/9153"}) {
				return fmt.Errorf("slice %s ports %v", s.Name, ports)
			}
			return nil
		})
		if err != nil {
			return err
		}
		slices.Sort(ready)
		if !slices.Equal(ready, want) {
			return fmt.Errorf("ready addresses %v, want %v", ready, want)
		}
		return nil
	})
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
