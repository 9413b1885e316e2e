package test

import (
	"bufio"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/cluster"
	"github.com/clusterdns/clusterdns/test/testkit"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// e2eTimeout bounds every "eventually": the controller-manager, kwok and
// the watch all have to act, on a busy 2-core machine.
const e2eTimeout = 60 * time.Second

// e2e is the shared state of the end-to-end scenarios: one control plane,
// and clusterdns servers authenticated as the ServiceAccount of deploy/.
type e2e struct {
	c          *cluster.Cluster
	kubeconfig string // the clusterdns ServiceAccount's
	ctx        context.Context
	pki        clientPKI
	// zones of the server block clusterdns serves; nil: cluster.local and
	// the reverse zones.
	zones []string
}

// apiOnlyE2E starts an API-only test bed with opts, installs deploy/'s
// RBAC, and returns the scenarios' state on it.
func apiOnlyE2E(t *testing.T, opts cluster.Options) *e2e {
	t.Helper()
	opts.APIOnly = true
	c := cluster.Start(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &e2e{c: c, ctx: ctx}
	e.kubeconfig = e.installRBAC(t)
	return e
}

// TestEndToEnd runs clusterdns, as its built binary, against a real
// kube-apiserver, etcd, controller-manager, scheduler and kwok on loopback.
// Each scenario is a subtest; they share the cluster (starting one costs
// more than all the scenarios together) and use namespaces of their own.
func TestEndToEnd(t *testing.T) {
	// A client CA, so that clusterdns can also authenticate with a client
	// certificate (the endpoint and tls options).
	pki := newClientPKI(t)
	c := cluster.Start(t, cluster.Options{APIServerArgs: []string{"--client-ca-file=" + pki.ca}})
	c.AddNodes(2)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &e2e{c: c, ctx: ctx, pki: pki}
	e.kubeconfig = e.installRBAC(t)

	t.Run("deployment behind ClusterIP and headless services", e.deploymentServices)
	t.Run("endpoint readiness changes", e.readiness)
	t.Run("statefulset and pod hostname with subdomain", e.statefulSet)
	t.Run("externalname, dual-stack, publishNotReadyAddresses", e.serviceKinds)
	t.Run("create, update and delete", e.crud)
	t.Run("namespaces and labels filters", e.filters)
	t.Run("pods verified and endpoint_pod_names", e.podsVerified)
	t.Run("metrics through the API source", e.metrics)
	t.Run("dig and nslookup", e.clients)
	t.Run("in-cluster config", e.inCluster)
	t.Run("endpoint and tls", e.endpointTLS)
	t.Run("RBAC is list and watch only", e.rbacForbidden)
	t.Run("Corefile reloads leak no informers", e.reloads)
	t.Run("fresh through the shipped Corefile's cache", e.fresh)
	t.Run("explain", e.explain)
	// Last: it restarts the API server under the others' feet.
	t.Run("API server stopped and restarted", e.apiRestart)
}

// baseRBAC are the RBAC files of deploy/ the end-to-end tests run with:
// the base and the pods-verified overlay.
var baseRBAC = []string{"deploy/base/clusterrole.yaml", "deploy/base/clusterrolebinding.yaml", "deploy/overlays/pods-verified/clusterrole-pods.yaml"}

// installRBAC creates the ServiceAccount and the ClusterRoles and bindings
// of baseRBAC and of the overlays' files (of deploy/) and returns a kubeconfig with that
// ServiceAccount's token: what clusterdns may do in the tests is exactly
// what the shipped RBAC allows.
func (e *e2e) installRBAC(t *testing.T, overlays ...string) string {
	t.Helper()
	for _, f := range append(slices.Clone(baseRBAC), overlays...) {
		docs := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(testkit.RepoFile(t, f))))
		for {
			doc, err := docs.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			switch meta.Kind {
			case "":
				continue // an empty document
			case "ClusterRole":
				err = createFrom(e.ctx, doc, e.c.Client.RbacV1().ClusterRoles().Create)
			case "ClusterRoleBinding":
				err = createFrom(e.ctx, doc, e.c.Client.RbacV1().ClusterRoleBindings().Create)
			default:
				err = fmt.Errorf("unexpected kind %q", meta.Kind)
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
	}
	return e.c.WriteKubeconfig(e.c.ServiceAccountToken("kube-system", "clusterdns"))
}

// createFrom decodes doc strictly into a new T and creates it with create,
// a typed client's Create.
func createFrom[T any](ctx context.Context, doc []byte, create func(context.Context, *T, metav1.CreateOptions) (*T, error)) error {
	obj := new(T)
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return err
	}
	_, err := create(ctx, obj, metav1.CreateOptions{})
	return err
}

// startClusterdns runs the binary against the cluster, with extra options
// in the clusterdns block, and waits until it has synced.
func (e *e2e) startClusterdns(t *testing.T, options ...string) *server {
	t.Helper()
	port, ready, metrics := testkit.FreePort(t), testkit.FreePort(t), testkit.FreePort(t)
	zones := e.zones
	if zones == nil {
		zones = []string{"cluster.local", "in-addr.arpa", "ip6.arpa"}
	}
	keys := make([]string, len(zones))
	for i, z := range zones {
		keys[i] = fmt.Sprintf("%s:%d", z, port)
	}
	corefile := fmt.Sprintf(`%[6]s {
    bind 127.0.0.1
    errors
    ready 127.0.0.1:%[2]d
    prometheus 127.0.0.1:%[5]d
    clusterdns {
        kubeconfig %[3]s
        %[4]s
    }
}
`, port, ready, e.kubeconfig, strings.Join(options, "\n        "), metrics, strings.Join(keys, " "))
	s := startServer(t, corefile)
	s.Metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics)
	deadline := time.Now().Add(e2eTimeout)
	for {
		if code, _ := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/ready", ready)); code == 200 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("clusterdns never became ready")
		}
		time.Sleep(testkit.PollInterval)
	}
}

func (e *e2e) namespace(t *testing.T, name string, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := e.c.Client.CoreV1().Namespaces().Create(e.ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// answers returns the sorted data of the answer records of type qtype, and
// the rcode.
func answers(t *testing.T, s *server, name string, qtype uint16) ([]string, int) {
	t.Helper()
	r := query(t, s.Addr, "udp", name, qtype)
	if r.Truncated {
		r = query(t, s.Addr, "tcp", name, qtype)
	}
	return answerValues(r, qtype), r.Rcode
}

// eventually polls name until its answers are want (nil want: NXDOMAIN).
func eventually(t *testing.T, s *server, name string, qtype uint16, want func() []string) {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	var (
		got   []string
		rcode int
		exp   []string
	)
	for {
		exp = want()
		sort.Strings(exp)
		got, rcode = answers(t, s, name, qtype)
		if exp == nil && rcode == dns.RcodeNameError {
			return
		}
		if exp != nil && rcode == dns.RcodeSuccess && slices.Equal(got, exp) {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if exp == nil {
		t.Fatalf("%s %s: got %s %v, want NXDOMAIN", name, dns.TypeToString[qtype], dns.RcodeToString[rcode], got)
	}
	t.Fatalf("%s %s: got %s %v, want %v", name, dns.TypeToString[qtype], dns.RcodeToString[rcode], got, exp)
}

// is wants exactly values; is() wants NODATA (NOERROR, no records).
func is(values ...string) func() []string {
	return func() []string { return append([]string{}, values...) }
}

var nxdomain = func() []string { return nil }

// readyAddresses reads, from the API, the ready IPv4 endpoint addresses of
// a service: what its headless A records must be.
func (e *e2e) readyAddresses(t *testing.T, ns, svc string) []string {
	t.Helper()
	list, err := e.c.Client.DiscoveryV1().EndpointSlices(ns).List(e.ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, es := range list.Items {
		if es.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				out = append(out, ep.Addresses...)
			}
		}
	}
	return out
}

func (e *e2e) runningPods(t *testing.T, ns, selector string) []corev1.Pod {
	t.Helper()
	list, err := e.c.Client.CoreV1().Pods(ns).List(e.ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// waitPods waits until n pods match selector, Running with an IP, and
// their addresses are the service's ready endpoints.
func (e *e2e) waitPods(t *testing.T, ns, selector, svc string, n int) []corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	for {
		pods := e.runningPods(t, ns, selector)
		eps := e.readyAddresses(t, ns, svc)
		if len(pods) == n && len(eps) == n {
			return pods
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d running pods and %d ready endpoints, want %d", selector, len(pods), len(eps), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// headlessDeployment creates a Deployment of replicas pods labelled
// app=name and a headless Service of the same name that selects them
// (waitPods waits for them).
func (e *e2e) headlessDeployment(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	if _, err := e.c.Client.AppsV1().Deployments(ns).Create(e.ctx, deploymentOf(name, replicas, labels), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Client.CoreV1().Services(ns).Create(e.ctx, serviceOf(name, true, labels), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func deploymentOf(name string, replicas int32, labels map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       podSpec(),
			},
		},
	}
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app", Image: "registry.invalid/app:1",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
	}}}
}

func serviceOf(name string, headless bool, selector map[string]string) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
	if headless {
		s.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return s
}

func (e *e2e) deploymentServices(t *testing.T) {
	ns := e.namespace(t, "e2e-deploy", nil)
	client := e.c.Client
	labels := map[string]string{"app": "web"}
	if _, err := client.AppsV1().Deployments(ns).Create(e.ctx, deploymentOf("web", 3, labels), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := client.CoreV1().Services(ns).Create(e.ctx, serviceOf("web", false, labels), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Services(ns).Create(e.ctx, serviceOf("web-hl", true, labels), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := e.waitPods(t, ns, "app=web", "web-hl", 3)
	s := e.startClusterdns(t, "pods insecure")

	base := "web." + ns + ".svc.cluster.local."
	eventually(t, s, base, dns.TypeA, is(svc.Spec.ClusterIP))
	eventually(t, s, base, dns.TypeAAAA, is()) // IPv4-only service: NODATA
	eventually(t, s, "_http._tcp."+base, dns.TypeSRV, is("80 "+base))
	ptr, err := dns.ReverseAddr(svc.Spec.ClusterIP)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, s, ptr, dns.TypePTR, is(base))

	hl := "web-hl." + ns + ".svc.cluster.local."
	eventually(t, s, hl, dns.TypeA, func() []string { return e.readyAddresses(t, ns, "web-hl") })
	eventually(t, s, "_http._tcp."+hl, dns.TypeSRV, func() []string {
		var out []string
		for _, ip := range e.readyAddresses(t, ns, "web-hl") {
			out = append(out, "8080 "+testkit.Dashed(ip)+"."+hl)
		}
		return out
	})
	// An endpoint by its dashed address, and its PTR: one per service that
	// selects the pod.
	ip := pods[0].Status.PodIP
	eventually(t, s, testkit.Dashed(ip)+"."+hl, dns.TypeA, is(ip))
	podPTR, _ := dns.ReverseAddr(ip)
	eventually(t, s, podPTR, dns.TypePTR, is(testkit.Dashed(ip)+"."+base, testkit.Dashed(ip)+"."+hl))
	eventually(t, s, testkit.Dashed(ip)+"."+ns+".pod.cluster.local.", dns.TypeA, is(ip))

	// Scale down and up: the headless answers follow the EndpointSlices.
	for _, n := range []int32{1, 4} {
		// A patch, not get+update: the controllers write the Deployment
		// meanwhile, and an update would conflict with them.
		patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
		if _, err := client.AppsV1().Deployments(ns).Patch(e.ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitPods(t, ns, "app=web", "web-hl", int(n))
		eventually(t, s, hl, dns.TypeA, func() []string { return e.readyAddresses(t, ns, "web-hl") })
	}
}

// manualSlice is an EndpointSlice for a service without selector, written
// by the test as an external controller would.
func manualSlice(svc string, ready map[string]bool) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-manual", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	ips := make([]string, 0, len(ready))
	for ip := range ready {
		ips = append(ips, ip)
	}
	sort.Strings(ips)
	for _, ip := range ips {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready[ip])}})
	}
	return es
}

func (e *e2e) readiness(t *testing.T) {
	ns := e.namespace(t, "e2e-ready", nil)
	client := e.c.Client
	if _, err := client.CoreV1().Services(ns).Create(e.ctx, serviceOf("manual", true, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	es, err := client.DiscoveryV1().EndpointSlices(ns).Create(e.ctx, manualSlice("manual", map[string]bool{"10.200.0.1": true, "10.200.0.2": true}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := e.startClusterdns(t)
	name := "manual." + ns + ".svc.cluster.local."
	eventually(t, s, name, dns.TypeA, is("10.200.0.1", "10.200.0.2"))

	// One endpoint becomes not ready, then the other too: NXDOMAIN.
	next := manualSlice("manual", map[string]bool{"10.200.0.1": true, "10.200.0.2": false})
	next.ResourceVersion = es.ResourceVersion
	if es, err = client.DiscoveryV1().EndpointSlices(ns).Update(e.ctx, next, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, name, dns.TypeA, is("10.200.0.1"))
	next = manualSlice("manual", map[string]bool{"10.200.0.1": false, "10.200.0.2": false})
	next.ResourceVersion = es.ResourceVersion
	if _, err = client.DiscoveryV1().EndpointSlices(ns).Update(e.ctx, next, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, name, dns.TypeA, nxdomain)
	// Ready again, then the slice deleted.
	if err := client.DiscoveryV1().EndpointSlices(ns).Delete(e.ctx, next.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DiscoveryV1().EndpointSlices(ns).Create(e.ctx, manualSlice("manual", map[string]bool{"10.200.0.3": true}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, name, dns.TypeA, is("10.200.0.3"))
	if err := client.DiscoveryV1().EndpointSlices(ns).Delete(e.ctx, next.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, name, dns.TypeA, nxdomain)
}

func (e *e2e) statefulSet(t *testing.T) {
	ns := e.namespace(t, "e2e-sts", nil)
	client := e.c.Client
	labels := map[string]string{"app": "db"}
	if _, err := client.CoreV1().Services(ns).Create(e.ctx, serviceOf("db", true, labels), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			ServiceName:         "db",
			Replicas:            ptr.To[int32](2),
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: labels},
			Template:            corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec()},
		},
	}
	if _, err := client.AppsV1().StatefulSets(ns).Create(e.ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A bare pod with hostname and subdomain joins the same headless
	// service's names.
	solo := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "solo-pod", Labels: labels}, Spec: podSpec()}
	solo.Spec.Hostname, solo.Spec.Subdomain = "solo", "db"
	if _, err := client.CoreV1().Pods(ns).Create(e.ctx, solo, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := e.waitPods(t, ns, "app=db", "db", 3)
	s := e.startClusterdns(t)
	for _, p := range pods {
		host := p.Spec.Hostname
		if host == "" {
			host = p.Name // StatefulSet pods are named by their hostname
		}
		eventually(t, s, host+".db."+ns+".svc.cluster.local.", dns.TypeA, is(p.Status.PodIP))
	}
	eventually(t, s, "solo.db."+ns+".svc.cluster.local.", dns.TypeA, func() []string {
		p, err := client.CoreV1().Pods(ns).Get(e.ctx, "solo-pod", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return []string{p.Status.PodIP}
	})
	eventually(t, s, "db-0.db."+ns+".svc.cluster.local.", dns.TypeA, func() []string {
		p, err := client.CoreV1().Pods(ns).Get(e.ctx, "db-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return []string{p.Status.PodIP}
	})
}

func (e *e2e) serviceKinds(t *testing.T) {
	ns := e.namespace(t, "e2e-kinds", nil)
	client := e.c.Client
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "www.example.org"}}
	if _, err := client.CoreV1().Services(ns).Create(e.ctx, ext, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dual := serviceOf("dual", false, map[string]string{"app": "none"})
	dual.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyRequireDualStack)
	dual, err := client.CoreV1().Services(ns).Create(e.ctx, dual, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pnr := serviceOf("pnr", true, nil)
	pnr.Spec.PublishNotReadyAddresses = true
	if _, err := client.CoreV1().Services(ns).Create(e.ctx, pnr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DiscoveryV1().EndpointSlices(ns).Create(e.ctx, manualSlice("pnr", map[string]bool{"10.201.0.1": false}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := e.startClusterdns(t)
	eventually(t, s, "ext."+ns+".svc.cluster.local.", dns.TypeCNAME, is("www.example.org."))
	var v4, v6 []string
	for _, ip := range dual.Spec.ClusterIPs {
		if netip.MustParseAddr(ip).Is4() {
			v4 = append(v4, ip)
		} else {
			v6 = append(v6, netip.MustParseAddr(ip).String())
		}
	}
	if len(v4) != 1 || len(v6) != 1 {
		t.Fatalf("dual-stack service got cluster IPs %v", dual.Spec.ClusterIPs)
	}
	eventually(t, s, "dual."+ns+".svc.cluster.local.", dns.TypeA, is(v4...))
	eventually(t, s, "dual."+ns+".svc.cluster.local.", dns.TypeAAAA, is(v6...))
	ptr6, _ := dns.ReverseAddr(v6[0])
	eventually(t, s, ptr6, dns.TypePTR, is("dual."+ns+".svc.cluster.local."))
	eventually(t, s, "pnr."+ns+".svc.cluster.local.", dns.TypeA, is("10.201.0.1"))
}

func (e *e2e) crud(t *testing.T) {
	ns := e.namespace(t, "e2e-crud", nil)
	client := e.c.Client
	s := e.startClusterdns(t)
	name := "later." + ns + ".svc.cluster.local."
	eventually(t, s, name, dns.TypeA, nxdomain)
	svc, err := client.CoreV1().Services(ns).Create(e.ctx, serviceOf("later", false, map[string]string{"app": "none"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, s, name, dns.TypeA, is(svc.Spec.ClusterIP))
	eventually(t, s, "_http._tcp."+name, dns.TypeSRV, is("80 "+name))
	svc.Spec.Ports[0].Port = 8443
	svc.Spec.Ports[0].Name = "https"
	if _, err := client.CoreV1().Services(ns).Update(e.ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, "_https._tcp."+name, dns.TypeSRV, is("8443 "+name))
	eventually(t, s, "_http._tcp."+name, dns.TypeSRV, nxdomain)
	if err := client.CoreV1().Services(ns).Delete(e.ctx, "later", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, name, dns.TypeA, nxdomain)

	// The create and the update were timed from their managedFields to
	// the index serving them.
	_, body := httpGet(t, s.Metrics)
	var count []string
	for _, l := range metricLines(body, "coredns_clusterdns_dns_programming_duration_seconds_count") {
		if strings.Contains(l, `service_kind="cluster_ip"`) {
			count = append(count, l)
		}
	}
	if len(count) != 1 || strings.HasSuffix(count[0], " 0") {
		t.Errorf("programming latency of cluster_ip services not observed: %v", count)
	}
}

func (e *e2e) filters(t *testing.T) {
	shown := e.namespace(t, "e2e-shown", map[string]string{"dns": "on"})
	hidden := e.namespace(t, "e2e-hidden", map[string]string{"dns": "off"})
	client := e.c.Client
	ips := map[string]string{}
	for _, ns := range []string{shown, hidden} {
		for _, name := range []string{"public", "private"} {
			svc := serviceOf(name, false, map[string]string{"app": "none"})
			svc.Labels = map[string]string{"visibility": name}
			created, err := client.CoreV1().Services(ns).Create(e.ctx, svc, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ips[name+"."+ns] = created.Spec.ClusterIP
		}
	}
	for _, tt := range []struct {
		name    string
		options []string
		visible []string
	}{
		{name: "namespaces", options: []string{"namespaces " + shown}, visible: []string{"public." + shown, "private." + shown}},
		{name: "namespace_labels", options: []string{"namespace_labels dns=on"}, visible: []string{"public." + shown, "private." + shown}},
		{name: "labels", options: []string{"labels visibility=public"}, visible: []string{"public." + shown, "public." + hidden}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := e.startClusterdns(t, tt.options...)
			for key, ip := range ips {
				name := key + ".svc.cluster.local."
				if slices.Contains(tt.visible, key) {
					eventually(t, s, name, dns.TypeA, is(ip))
				} else {
					eventually(t, s, name, dns.TypeA, nxdomain)
				}
			}
		})
	}
}

func (e *e2e) podsVerified(t *testing.T) {
	ns := e.namespace(t, "e2e-pods", nil)
	client := e.c.Client
	e.headlessDeployment(t, ns, "api", 2)
	pods := e.waitPods(t, ns, "app=api", "api", 2)
	s := e.startClusterdns(t, "pods verified", "endpoint_pod_names")
	for _, p := range pods {
		eventually(t, s, testkit.Dashed(p.Status.PodIP)+"."+ns+".pod.cluster.local.", dns.TypeA, is(p.Status.PodIP))
		// The pod's IPv6 address too (kwok gives dual-stack pod IPs).
		for _, ip := range p.Status.PodIPs {
			if a := netip.MustParseAddr(ip.IP); a.Is6() {
				eventually(t, s, testkit.Dashed(ip.IP)+"."+ns+".pod.cluster.local.", dns.TypeAAAA, is(a.String()))
			}
		}
		// In another namespace, or at an address no pod has: NXDOMAIN.
		eventually(t, s, testkit.Dashed(p.Status.PodIP)+".default.pod.cluster.local.", dns.TypeA, nxdomain)
		eventually(t, s, p.Name+".api."+ns+".svc.cluster.local.", dns.TypeA, is(p.Status.PodIP))
	}
	eventually(t, s, "10-255-255-254."+ns+".pod.cluster.local.", dns.TypeA, nxdomain)
	// A deleted pod stops resolving. A bare pod: a Deployment's replacement
	// could get the freed address back.
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare", Labels: map[string]string{"app": "bare"}}, Spec: podSpec()}
	if _, err := client.CoreV1().Pods(ns).Create(e.ctx, bare, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ip string
	deadline := time.Now().Add(e2eTimeout)
	for ip == "" {
		if running := e.runningPods(t, ns, "app=bare"); len(running) == 1 {
			ip = running[0].Status.PodIP
		} else if time.Now().After(deadline) {
			t.Fatal("the bare pod never ran")
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	eventually(t, s, testkit.Dashed(ip)+"."+ns+".pod.cluster.local.", dns.TypeA, is(ip))
	if err := client.CoreV1().Pods(ns).Delete(e.ctx, "bare", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, testkit.Dashed(ip)+"."+ns+".pod.cluster.local.", dns.TypeA, nxdomain)
}

func (e *e2e) clients(t *testing.T) {
	ns := e.namespace(t, "e2e-dig", nil)
	svc, err := e.c.Client.CoreV1().Services(ns).Create(e.ctx, serviceOf("web", false, map[string]string{"app": "none"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := e.startClusterdns(t)
	name := "web." + ns + ".svc.cluster.local"
	eventually(t, s, name+".", dns.TypeA, is(svc.Spec.ClusterIP))
	host, port, _ := strings.Cut(s.Addr, ":")
	if got := strings.TrimSpace(runClient(t, "dig", "@"+host, "-p", port, "+short", name)); got != svc.Spec.ClusterIP {
		t.Errorf("dig: %q, want %s", got, svc.Spec.ClusterIP)
	}
	if got := strings.TrimSpace(runClient(t, "dig", "@"+host, "-p", port, "+short", "-x", svc.Spec.ClusterIP)); got != name+"." {
		t.Errorf("dig -x: %q, want %s.", got, name)
	}
	out := runClient(t, "nslookup", "-port="+port, name, host)
	if !strings.Contains(out, "Address: "+svc.Spec.ClusterIP) {
		t.Errorf("nslookup does not show %s:\n%s", svc.Spec.ClusterIP, out)
	}
}

// rbacForbidden shows the shipped role is no more than list and watch:
// the ServiceAccount clusterdns runs as cannot read secrets nor write.
func (e *e2e) rbacForbidden(t *testing.T) {
	cfg, err := clientcmd.BuildConfigFromFlags("", e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.CoreV1().Services("").List(e.ctx, metav1.ListOptions{Limit: 1}); err != nil {
		t.Fatalf("list services: %v, want allowed", err)
	}
	for what, call := range map[string]func() error{
		"get a service": func() error {
			_, err := sa.CoreV1().Services("default").Get(e.ctx, "kubernetes", metav1.GetOptions{})
			return err
		},
		"list secrets": func() error { _, err := sa.CoreV1().Secrets("").List(e.ctx, metav1.ListOptions{}); return err },
		"create a service": func() error {
			_, err := sa.CoreV1().Services("default").Create(e.ctx, serviceOf("nope", false, nil), metav1.CreateOptions{})
			return err
		},
		"list configmaps": func() error { _, err := sa.CoreV1().ConfigMaps("").List(e.ctx, metav1.ListOptions{}); return err },
	} {
		if err := call(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want Forbidden", what, err)
		}
	}
}

func (e *e2e) apiRestart(t *testing.T) {
	ns := e.namespace(t, "e2e-restart", nil)
	client := e.c.Client
	svc, err := client.CoreV1().Services(ns).Create(e.ctx, serviceOf("steady", false, map[string]string{"app": "none"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := e.startClusterdns(t)
	name := "steady." + ns + ".svc.cluster.local."
	eventually(t, s, name, dns.TypeA, is(svc.Spec.ClusterIP))
	// The informers sync by watch-list streaming (client-go's default since
	// 1.35), not by a list: the API server counts watch-list requests.
	if n := e.watchLists(t, "services"); n == 0 {
		t.Error("no watch-list request for services: the informers listed instead of streaming")
	}

	e.c.StopAPIServer()
	// Known names keep answering, for longer than a watch takes to notice.
	until := time.Now().Add(3 * time.Second)
	for time.Now().Before(until) {
		got, rcode := answers(t, s, name, dns.TypeA)
		if rcode != dns.RcodeSuccess || !slices.Equal(got, []string{svc.Spec.ClusterIP}) {
			t.Fatalf("with the API server down: %s %v, want the last known answer", dns.RcodeToString[rcode], got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.c.StartAPIServer()
	// The watch reconnects: changes made after the restart show up.
	later, err := client.CoreV1().Services(ns).Create(e.ctx, serviceOf("after", false, map[string]string{"app": "none"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, s, "after."+ns+".svc.cluster.local.", dns.TypeA, is(later.Spec.ClusterIP))
	eventually(t, s, name, dns.TypeA, is(svc.Spec.ClusterIP))
}

// reloads changes the Corefile of a running server a few times: each
// reload starts a new instance's informers and must stop the old one's, so
// the goroutine count comes back to where it was.
func (e *e2e) reloads(t *testing.T) {
	ns := e.namespace(t, "e2e-reload", nil)
	if _, err := e.c.Client.CoreV1().Services(ns).Create(e.ctx, serviceOf("web", false, map[string]string{"app": "none"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	port, metrics := testkit.FreePort(t), testkit.FreePort(t)
	corefile := func(ttl int) string {
		return fmt.Sprintf(`cluster.local:%d {
    bind 127.0.0.1
    reload 2s 1s
    prometheus 127.0.0.1:%d
    clusterdns {
        kubeconfig %s
        ttl %d
    }
}
`, port, metrics, e.kubeconfig, ttl)
	}
	s := startServer(t, corefile(10))
	name := "web." + ns + ".svc.cluster.local."
	waitTTL := func(ttl uint32) {
		t.Helper()
		deadline := time.Now().Add(e2eTimeout)
		for {
			r := query(t, s.Addr, "udp", name, dns.TypeA)
			if r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 && r.Answer[0].Header().Ttl == ttl {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("TTL %d never served: %v", ttl, r)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	goroutines := func() float64 {
		t.Helper()
		_, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics))
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
				var n float64
				fmt.Sscan(v, &n)
				return n
			}
		}
		t.Fatal("no go_goroutines metric")
		return 0
	}
	waitTTL(10)
	baseline := goroutines()
	for i, ttl := range []int{11, 12, 13, 14} {
		if err := os.WriteFile(s.Corefile, []byte(corefile(ttl)), 0o644); err != nil {
			t.Fatal(err)
		}
		waitTTL(uint32(ttl))
		t.Logf("reload %d: %v goroutines (baseline %v)", i+1, goroutines(), baseline)
	}
	// Each instance runs three informer factories (a few dozen goroutines);
	// a leak of even one instance per reload would add over a hundred here.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := goroutines()
		if n <= baseline+10 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v goroutines after 4 reloads, %v before: the old instances' informers were not stopped", n, baseline)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// fresh runs the shipped Corefile (cache 30 included) against the cluster
// and measures, over many changes, the time from the API write returning to
// the first query that sees it: with the cache in front of cluster names a
// created Service would stay NXDOMAIN for the negative TTL.
func (e *e2e) fresh(t *testing.T) {
	ns := e.namespace(t, "e2e-fresh", nil)
	l := newLocal(t)
	l.Upstream = startUpstream(t)
	s := startServer(t, localize(t, shippedCorefile(t), l), withEnv("KUBECONFIG="+e.kubeconfig))
	client := e.c.Client
	name := "fresh." + ns + ".svc.cluster.local."

	// Each probe first puts the current answer in any cache, then changes
	// the cluster and polls: a stale answer shows as the old one.
	seen := func(what string, want func(r *dns.Msg) bool) time.Duration {
		t.Helper()
		begin := time.Now()
		deadline := begin.Add(5 * time.Second)
		for {
			r := query(t, s.Addr, "udp", name, dns.TypeA)
			if want(r) {
				return time.Since(begin)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still %s %v after 5 s", what, dns.RcodeToString[r.Rcode], r.Answer)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	var latencies []time.Duration
	for i := 0; i < 25; i++ {
		if r := query(t, s.Addr, "udp", name, dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Fatalf("before create %d: %s", i, dns.RcodeToString[r.Rcode])
		}
		svc, err := client.CoreV1().Services(ns).Create(e.ctx, serviceOf("fresh", false, map[string]string{"app": "none"}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		latencies = append(latencies, seen("create", func(r *dns.Msg) bool {
			return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == svc.Spec.ClusterIP
		}))
		if err := client.CoreV1().Services(ns).Delete(e.ctx, "fresh", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		latencies = append(latencies, seen("delete", func(r *dns.Msg) bool { return r.Rcode == dns.RcodeNameError }))
	}
	slices.Sort(latencies)
	p50, p99 := latencies[len(latencies)/2], latencies[len(latencies)*99/100]
	t.Logf("change -> answer through the shipped Corefile, %d changes: p50 %v, p99 %v, max %v",
		len(latencies), p50.Round(time.Microsecond), p99.Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond))
	// A cache in front of cluster names would hold the old answer for its
	// TTL (30 s): a second is far beyond any watch delay and far below it.
	if max := latencies[len(latencies)-1]; max > time.Second {
		t.Errorf("a change took %v to be answered: stale answers served", max)
	}
}

// inCluster runs clusterdns as in a pod: no kubeconfig option, the API
// server in KUBERNETES_SERVICE_HOST/PORT and the ServiceAccount's token and
// CA at /var/run/secrets/kubernetes.io/serviceaccount. The secrets are
// mounted in a private mount namespace (a tmpfs over /run there), so the
// host's filesystem is not touched.
func (e *e2e) inCluster(t *testing.T) {
	for _, tool := range []string{"unshare", "mount", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (util-linux, mount): %v", tool, err)
		}
	}
	ns := e.namespace(t, "e2e-incluster", nil)
	svc, err := e.c.Client.CoreV1().Services(ns).Create(e.ctx, serviceOf("web", false, map[string]string{"app": "none"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secrets := t.TempDir()
	token := e.c.ServiceAccountToken("kube-system", "clusterdns")
	for name, data := range map[string][]byte{
		"token":     []byte(token),
		"ca.crt":    e.c.Config.TLSClientConfig.CAData,
		"namespace": []byte("kube-system"),
	} {
		if err := os.WriteFile(filepath.Join(secrets, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if len(e.c.Config.TLSClientConfig.CAData) == 0 {
		t.Fatal("the test bed's client config has no CA data to mount as ca.crt")
	}
	u, err := url.Parse(e.c.Server)
	if err != nil {
		t.Fatal(err)
	}
	const sa = "/run/secrets/kubernetes.io/serviceaccount"
	script := "mount -t tmpfs tmpfs /run && mkdir -p " + sa + " && mount --bind \"$SECRETS\" " + sa + ` && exec "$@"`
	port := testkit.FreePort(t)
	corefile := fmt.Sprintf(`cluster.local:%d {
    bind 127.0.0.1
    errors
    clusterdns
}
`, port)
	s := startServer(t, corefile,
		withWrapper("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"),
		withEnv("SECRETS="+secrets, "KUBERNETES_SERVICE_HOST="+u.Hostname(), "KUBERNETES_SERVICE_PORT="+u.Port()))
	eventually(t, s, "web."+ns+".svc.cluster.local.", dns.TypeA, is(svc.Spec.ClusterIP))
}

// clientPKI is a client CA the API server trusts and a certificate it
// signed for the clusterdns ServiceAccount's user name, which RBAC binds
// like the ServiceAccount itself.
type clientPKI struct {
	ca, cert, key string // file paths
}

func newClientPKI(t *testing.T) clientPKI {
	t.Helper()
	ca := testkit.NewCertificate(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "clusterdns-test-client-ca"},
		IsCA:    true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil)
	client := testkit.NewCertificate(t, &x509.Certificate{
		Subject:  pkix.Name{CommonName: "system:serviceaccount:kube-system:clusterdns"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca)
	dir := t.TempDir()
	p := clientPKI{ca: filepath.Join(dir, "client-ca.crt"), cert: filepath.Join(dir, "client.crt"), key: filepath.Join(dir, "client.key")}
	for path, data := range map[string][]byte{p.ca: ca.PEM(), p.cert: client.PEM(), p.key: client.KeyPEM(t)} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// endpointTLS connects with the endpoint and tls options: the API server's
// URL, a client certificate and the CA of the server's certificate.
func (e *e2e) endpointTLS(t *testing.T) {
	ns := e.namespace(t, "e2e-tls", nil)
	svc, err := e.c.Client.CoreV1().Services(ns).Create(e.ctx, serviceOf("web", false, map[string]string{"app": "none"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	serverCA := filepath.Join(t.TempDir(), "server-ca.crt")
	if err := os.WriteFile(serverCA, e.c.Config.TLSClientConfig.CAData, 0o600); err != nil {
		t.Fatal(err)
	}
	port := testkit.FreePort(t)
	corefile := fmt.Sprintf(`cluster.local:%d {
    bind 127.0.0.1
    errors
    clusterdns {
        endpoint %s
        tls %s %s %s
    }
}
`, port, e.c.Server, e.pki.cert, e.pki.key, serverCA)
	s := startServer(t, corefile)
	eventually(t, s, "web."+ns+".svc.cluster.local.", dns.TypeA, is(svc.Spec.ClusterIP))
}

// watchLists returns how many watch-list requests (streamed initial
// state) the API server has served for resource.
func (e *e2e) watchLists(t *testing.T, resource string) float64 {
	t.Helper()
	body, err := e.c.Client.RESTClient().Get().AbsPath("/metrics").DoRaw(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, line := range metricLines(string(body), "apiserver_watch_list_duration_seconds_count") {
		if !strings.Contains(line, `resource="`+resource+`"`) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			total += v
		}
	}
	return total
}
