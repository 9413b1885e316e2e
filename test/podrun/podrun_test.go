// Package podrun runs the shipped pod the way a node does: the image `make
// image` builds, unpacked as a runtime's snapshotter would, under runc (the
// runtime under containerd and CRI-O) with the OCI configuration the kubelet
// and containerd derive from deploy/'s rendered Deployment, in a network
// namespace of its own, against the test bed's real API server with a
// ServiceAccount token bound by deploy/'s RBAC. kwok never starts a
// container, so without this nothing would run deploy/'s pod spec.
//
// Needs root (network namespaces, runc) and runc on PATH (.ci/prereqs).
package podrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/clusterdns/clusterdns/test/cluster"
	"github.com/clusterdns/clusterdns/test/manifests"
)

const (
	// startTimeout bounds the container's start until Ready: the informers'
	// first sync against a test bed on busy cores.
	startTimeout = time.Minute
	// queryTimeout bounds one dig run.
	queryTimeout = 10 * time.Second
	// unprivilegedPortStart is the sysctl that lets a non-root process
	// bind ports below its value's.
	unprivilegedPortStart = "net.ipv4.ip_unprivileged_port_start"
)

// needRoot skips where the test cannot run at all, and fails where it
// could but a tool is missing: `make test` runs as root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces and runc")
	}
	for _, tool := range []string{"runc", "ip", "dig"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v (.ci/prereqs installs it)", tool, err)
		}
	}
}

// TestPodRuns runs deploy/base's pod under runc and holds it to what the
// kubelet would: DNS on its port over UDP and TCP, both probes, the
// snapshot in its emptyDir, answers through the lameduck after SIGTERM and
// a clean exit within the grace period. The other cases take one of the
// two ways of binding :53 away each (the image's file capability, the pod's
// sysctl), and both: without either the non-root server cannot bind :53.
func TestPodRuns(t *testing.T) {
	needRoot(t)
	c := cluster.Start(t, cluster.Options{APIOnly: true})
	objs := manifests.Render(t, "deploy/base")
	pod := shipped(t, objs)
	createRBAC(t, c, objs)
	token := c.ServiceAccountToken(pod.namespace, pod.spec.ServiceAccountName)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kubernetes, err := c.KubernetesService(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, cf := loadImage(t, pod.container.Image)
	rootfs := map[bool]string{}
	for _, keep := range []bool{true, false} {
		rootfs[keep] = filepath.Join(t.TempDir(), "rootfs")
		unpack(t, img, rootfs[keep], keep)
	}

	run := func(t *testing.T, pod *shippedPod, keepXattrs bool) (*podNet, *node, *container) {
		n := newPodNet(t)
		n.serviceProxy(t, kubernetes.Spec.ClusterIP, int(kubernetes.Spec.Ports[0].Port), strings.TrimPrefix(c.Server, "https://"))
		nd := &node{
			dir:      t.TempDir(),
			token:    token,
			caPEM:    c.Config.TLSClientConfig.CAData,
			apiHost:  kubernetes.Spec.ClusterIP,
			apiPort:  int(kubernetes.Spec.Ports[0].Port),
			netns:    n.path(n.pod),
			resolv:   "nameserver " + nodeAddr.String() + "\n",
			hostname: "clusterdns-podrun",
		}
		spec := ociSpec(t, pod, cf, rootfs[keepXattrs], nd)
		return n, nd, runContainer(t, spec)
	}

	t.Run("shipped", func(t *testing.T) {
		n, nd, ctr := run(t, pod, true)
		ready(t, n, pod, ctr)
		for _, tcp := range []bool{false, true} {
			if err := lookupKubernetes(n, pod, tcp, kubernetes.Spec.ClusterIP); err != nil {
				t.Errorf("%v\n%s", err, ctr.log())
			}
		}
		probe(t, n, pod, pod.container.LivenessProbe, "liveness")
		snapshotWritten(t, pod, nd, ctr)
		lameduck(t, n, pod, ctr, kubernetes.Spec.ClusterIP)
	})
	t.Run("file capability alone", func(t *testing.T) {
		noSysctl := *pod
		noSysctl.spec.SecurityContext = pod.spec.SecurityContext.DeepCopy()
		noSysctl.spec.SecurityContext.Sysctls = slices.DeleteFunc(noSysctl.spec.SecurityContext.Sysctls,
			func(s corev1.Sysctl) bool { return s.Name == unprivilegedPortStart })
		n, _, ctr := run(t, &noSysctl, true)
		ready(t, n, &noSysctl, ctr)
	})
	t.Run("sysctl alone", func(t *testing.T) {
		// A snapshotter that drops xattrs.
		n, _, ctr := run(t, pod, false)
		ready(t, n, pod, ctr)
	})
	t.Run("neither", func(t *testing.T) {
		noSysctl := *pod
		noSysctl.spec.SecurityContext = pod.spec.SecurityContext.DeepCopy()
		noSysctl.spec.SecurityContext.Sysctls = nil
		_, _, ctr := run(t, &noSysctl, false)
		select {
		case <-ctr.done:
		case <-time.After(startTimeout):
			t.Fatal("bound :53 without the file capability or the sysctl: the runtime setup is not a node's")
		}
		if !strings.Contains(ctr.log(), "bind: permission denied") {
			t.Errorf("exited without the bind error (%v):\n%s", ctr.err, ctr.log())
		}
	})
}

// createRBAC creates the manifests' ServiceAccounts and RBAC objects: the
// pod's token can do what deploy/ grants, no more.
func createRBAC(t *testing.T, c *cluster.Cluster, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, o := range objs {
		var err error
		switch o.GetKind() {
		case "ServiceAccount":
			var x corev1.ServiceAccount
			typed(t, o, &x)
			_, err = c.Client.CoreV1().ServiceAccounts(x.Namespace).Create(ctx, &x, metav1.CreateOptions{})
		case "ClusterRole":
			var x rbacv1.ClusterRole
			typed(t, o, &x)
			_, err = c.Client.RbacV1().ClusterRoles().Create(ctx, &x, metav1.CreateOptions{})
		case "ClusterRoleBinding":
			var x rbacv1.ClusterRoleBinding
			typed(t, o, &x)
			_, err = c.Client.RbacV1().ClusterRoleBindings().Create(ctx, &x, metav1.CreateOptions{})
		case "Role", "RoleBinding":
			t.Fatalf("%s %s: add it to createRBAC", o.GetKind(), o.GetName())
		}
		if err != nil {
			t.Fatalf("create %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
}

// container is runc running the pod's container in the foreground, as
// `runc run` does under a shim.
type container struct {
	logPath string
	done    chan struct{} // closed when runc has exited; err is then set
	err     error
	cmd     *exec.Cmd
}

func runContainer(t *testing.T, spec *specs.Spec) *container {
	t.Helper()
	bundle := t.TempDir()
	b, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// runc's state of this test's containers only.
	root := filepath.Join(bundle, "runc")
	id := fmt.Sprintf("podrun-%d", os.Getpid())
	ctr := &container{logPath: filepath.Join(bundle, "container.log"), done: make(chan struct{})}
	logFile, err := os.Create(ctr.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	ctr.cmd = exec.Command("runc", "--root", root, "run", "--bundle", bundle, id)
	ctr.cmd.Stdout, ctr.cmd.Stderr = logFile, logFile
	if err := ctr.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		ctr.err = ctr.cmd.Wait()
		close(ctr.done)
	}()
	t.Cleanup(func() {
		select {
		case <-ctr.done:
		default:
			// runc run deletes the container when its process exits.
			if out, err := exec.Command("runc", "--root", root, "kill", id, "KILL").CombinedOutput(); err != nil {
				t.Errorf("runc kill %s: %v: %s", id, err, out)
			}
			<-ctr.done
		}
		if t.Failed() {
			t.Logf("container log:\n%s", ctr.log())
		}
	})
	return ctr
}

func (c *container) log() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

// whileRunning is a context that ends with the container: a wait for it
// fails at once, with the log, when it has exited.
func (c *container) whileRunning(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func (c *container) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("container exited (%v):\n%s", c.err, c.log())
	default:
		return nil
	}
}

// ready waits until the readiness probe passes, as the kubelet's would
// before the pod joins the Service.
func ready(t *testing.T, n *podNet, p *shippedPod, ctr *container) {
	t.Helper()
	ctx, cancel := ctr.whileRunning(startTimeout)
	defer cancel()
	cluster.Eventually(t, ctx, "readiness probe", func() error {
		return errors.Join(ctr.exited(), get(n, p, p.container.ReadinessProbe))
	})
}

func probe(t *testing.T, n *podNet, p *shippedPod, pr *corev1.Probe, what string) {
	t.Helper()
	if err := get(n, p, pr); err != nil {
		t.Errorf("%s probe: %v", what, err)
	}
}

// get is an httpGet probe from the node's namespace.
func get(n *podNet, p *shippedPod, pr *corev1.Probe) error {
	if pr == nil || pr.HTTPGet == nil {
		return errors.New("no httpGet probe")
	}
	port, err := containerPort(p, pr.HTTPGet.Port)
	if err != nil {
		return err
	}
	client := &http.Client{
		Transport: &http.Transport{DialContext: n.dialNode, DisableKeepAlives: true},
		Timeout:   time.Duration(max(pr.TimeoutSeconds, 1)) * time.Second,
	}
	u := url.URL{Scheme: "http", Host: podAddr.String() + ":" + strconv.Itoa(port), Path: pr.HTTPGet.Path}
	resp, err := client.Get(u.String())
	if err != nil {
		return err
	}
	resp.Body.Close()
	// The kubelet's success: 200 to 399.
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: %s", u.String(), resp.Status)
	}
	return nil
}

// containerPort resolves a probe's port, a number or a port's name.
func containerPort(p *shippedPod, port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, cp := range p.container.Ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("no container port %q", port.StrVal)
}

// dnsPort is the container's UDP port, which serves TCP too.
func dnsPort(p *shippedPod) int {
	for _, cp := range p.container.Ports {
		if cp.Protocol == corev1.ProtocolUDP {
			return int(cp.ContainerPort)
		}
	}
	return 0
}

// lookupKubernetes asks the pod with dig, from the node's namespace, for
// the kubernetes Service, which must answer with its clusterIP.
func lookupKubernetes(n *podNet, p *shippedPod, tcp bool, want string) error {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	args := []string{"netns", "exec", n.node, "dig", "@" + podAddr.String(), "-p", strconv.Itoa(dnsPort(p)),
		"+short", "+time=1", "+tries=1", "kubernetes.default.svc.cluster.local", "A"}
	proto := "UDP"
	if tcp {
		args, proto = append(args, "+tcp"), "TCP"
	}
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != want {
		return fmt.Errorf("dig over %s: %q (%v), want %s", proto, got, err, want)
	}
	return nil
}

// snapshotWritten waits for the snapshot file the Corefile names in the
// emptyDir it is mounted from.
func snapshotWritten(t *testing.T, p *shippedPod, nd *node, ctr *container) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*snapshot\s+(\S+)`).FindStringSubmatch(corefileOf(t, p))
	if m == nil {
		t.Fatal("the Corefile has no snapshot")
	}
	var host string
	for mount, dir := range nd.emptyDirs {
		if rel, err := filepath.Rel(mount, m[1]); err == nil && !strings.HasPrefix(rel, "..") {
			host = filepath.Join(dir, rel)
		}
	}
	if host == "" {
		t.Fatalf("snapshot %s is on no emptyDir: the read-only root would refuse it", m[1])
	}
	ctx, cancel := ctr.whileRunning(startTimeout)
	defer cancel()
	cluster.Eventually(t, ctx, "snapshot "+m[1], func() error {
		fi, err := os.Stat(host)
		if err == nil && fi.Size() == 0 {
			err = errors.New("empty")
		}
		return errors.Join(ctr.exited(), err)
	})
}

// corefileOf is the Corefile the pod mounts at /etc/coredns/Corefile.
func corefileOf(t testing.TB, p *shippedPod) string {
	t.Helper()
	for _, cm := range p.configMaps {
		if s, ok := cm.Data["Corefile"]; ok {
			return s
		}
	}
	t.Fatal("no ConfigMap with a Corefile")
	return ""
}

// lameduck sends SIGTERM, as the kubelet does to a pod being deleted, and
// asks over UDP until the server exits: every query sent within the
// Corefile's lameduck must be answered, and the exit must be clean and
// within the pod's grace period.
func lameduck(t *testing.T, n *podNet, p *shippedPod, ctr *container, want string) {
	t.Helper()
	m := regexp.MustCompile(`lameduck\s+(\S+)`).FindStringSubmatch(corefileOf(t, p))
	if m == nil {
		t.Fatal("the Corefile has no lameduck")
	}
	duck, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	grace := time.Duration(corev1.DefaultTerminationGracePeriodSeconds) * time.Second
	if s := p.spec.TerminationGracePeriodSeconds; s != nil {
		grace = time.Duration(*s) * time.Second
	}
	term := time.Now()
	if err := ctr.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	answered := 0
	for {
		sent := time.Since(term)
		err := lookupKubernetes(n, p, false, want)
		select {
		case <-ctr.done:
			if ctr.err != nil {
				t.Errorf("exit after SIGTERM: %v", ctr.err)
			}
			if elapsed := time.Since(term); elapsed < duck {
				t.Errorf("exited %v after SIGTERM, before the lameduck of %v", elapsed, duck)
			}
			if answered == 0 {
				t.Error("no query answered after SIGTERM")
			}
			t.Logf("%d queries answered in the lameduck; exit %v after SIGTERM", answered, time.Since(term).Round(time.Millisecond))
			return
		case <-deadline.C:
			t.Fatalf("still running %v after SIGTERM, the pod's grace period: the kubelet kills it", grace)
		default:
		}
		if err == nil {
			answered++
		} else if sent < duck-time.Second {
			// The last second may see the listeners close.
			t.Errorf("%v after SIGTERM, within the lameduck: %v", sent.Round(time.Millisecond), err)
		}
	}
}
