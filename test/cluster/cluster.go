// Package cluster starts a real Kubernetes control plane on loopback for
// end-to-end tests (DESIGN.md, "The test bed"): etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok, which fakes nodes and the
// pods on them. Deployments become pods with IPs, Services get ClusterIPs from
// both address families, and the controller-manager writes EndpointSlices, as
// in a real cluster; no kubelet, container runtime or network is involved.
//
// The binaries come from `make testbed` (test/bin, or $CLUSTERDNS_TESTBIN).
// Every component listens on a free 127.0.0.1 port, keeps its files and log
// in the test's temp dir and is stopped, by pid, when the test ends.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/testkit"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options tune Start. The zero value starts the whole test bed.
type Options struct {
	// APIOnly starts etcd and kube-apiserver only: enough for tests that
	// write Services and EndpointSlices themselves, at half the CPU. No
	// pods get scheduled or run, and AddNodes fails.
	APIOnly bool
	// StartTimeout bounds Start and StartAPIServer. Default 2 minutes: a
	// cold API server takes about 10 s on 2 idle cores, far longer when the
	// cores are busy with other test binaries.
	StartTimeout time.Duration
	// APIServerArgs are appended to kube-apiserver's flags; a flag given
	// twice takes the later value.
	APIServerArgs []string
}

// Cluster is a running test bed. Its methods call t.Fatal on error, so they
// belong on the test's goroutine.
type Cluster struct {
	// Client is an admin client (group system:masters) with a high rate
	// limit, for setting up and inspecting the cluster.
	Client *kubernetes.Clientset
	// Config is the admin client's configuration.
	Config *rest.Config
	// Kubeconfig is the path of the admin kubeconfig.
	Kubeconfig string
	// Server is the API server's URL, https://127.0.0.1:PORT.
	Server string
	// EtcdURL is etcd's client URL, http://127.0.0.1:PORT, for writing
	// objects in bulk behind the API server's back (its watch cache sees
	// them as any other write).
	EtcdURL string
	// Dir is the temp dir holding the cluster's data, certificates,
	// kubeconfigs and logs (logs/<component>.log).
	Dir string

	t       testing.TB
	opts    Options
	bin     string
	files   layout
	ports   ports
	caPEM   []byte
	mu      sync.Mutex
	procs   []*process // in start order; the API server's entry is replaced on restart
	stopped map[*process]bool
	nodes   int // kwok nodes added so far, for unique names and pod CIDRs
	kcfgs   int // kubeconfigs written by WriteKubeconfig, for unique names
}

// Start starts a cluster and waits until it serves: the API server ready,
// the default namespace there and, unless opts.APIOnly, the default
// ServiceAccount created by the controller-manager. The cluster stops when
// the test ends; if the test failed, the tail of every component's log is
// written to the test log first.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	begin := time.Now()
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	bin, err := testkit.BinDir()
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	if err := checkBinaries(bin); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	c := &Cluster{
		Dir:     t.TempDir(),
		t:       t,
		opts:    opts,
		bin:     bin,
		stopped: map[*process]bool{},
	}
	c.files = layout{dir: c.Dir}
	// Registered before anything starts, so a failed start still stops what
	// it started and shows why it failed.
	t.Cleanup(c.cleanup)

	c.ports = ports{etcdClient: testkit.FreePort(t), etcdPeer: testkit.FreePort(t), apiserver: testkit.FreePort(t)}
	c.Server = c.ports.apiserverURL()
	c.EtcdURL = c.ports.etcdURL()
	token, err := randomToken()
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	for _, d := range []string{c.files.logsDir(), c.files.kwokHome()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("testbed: %v", err)
		}
	}
	if err := errors.Join(
		writeTokenFile(c.files.tokenFile(), token),
		writeServiceAccountKey(c.files.saKey(), c.files.saPub()),
		writeSchedulerConfig(c.files.schedulerConfig(), c.files.adminKubeconfig()),
	); err != nil {
		t.Fatalf("testbed: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
	defer cancel()

	c.run("etcd", etcdArgs(c.files, c.ports), nil)
	c.waitFor(ctx, "etcd healthy", func(ctx context.Context) error { return etcdHealthy(ctx, c.ports.etcdURL()) })

	c.run("kube-apiserver", apiserverArgs(c.files, c.ports, opts.APIServerArgs), nil)
	c.waitAPIServer(ctx, token)
	if err := writeKubeconfig(c.files.adminKubeconfig(), c.Server, c.caPEM, token); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	c.Kubeconfig = c.files.adminKubeconfig()
	c.waitFor(ctx, "namespace default", func(ctx context.Context) error {
		_, err := c.Client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{})
		return err
	})

	if !opts.APIOnly {
		c.run("kube-controller-manager", controllerManagerArgs(c.files), nil)
		c.run("kube-scheduler", schedulerArgs(c.files), nil)
		stages, err := kwokStages(bin)
		if err != nil {
			t.Fatalf("testbed: %v", err)
		}
		c.run("kwok", kwokArgs(c.files, stages), kwokEnv(c.files))
		// The ServiceAccount admission plugin refuses pods until their
		// namespace's default ServiceAccount exists, and the
		// controller-manager creates it: its existence says both that the
		// controllers run and that pods in default can be created.
		c.waitFor(ctx, "serviceaccount default/default", func(ctx context.Context) error {
			_, err := c.Client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
			return err
		})
	}
	t.Logf("testbed: cluster up in %v at %s (%v; dir %s)", time.Since(begin).Round(time.Millisecond), c.Server, c.ports, c.Dir)
	return c
}

// WriteKubeconfig writes a kubeconfig for the API server that authenticates
// with token (a ServiceAccount's, say), and returns its path.
func (c *Cluster) WriteKubeconfig(token string) string {
	c.t.Helper()
	c.mu.Lock()
	c.kcfgs++
	path := c.files.path(fmt.Sprintf("token-%d.kubeconfig", c.kcfgs))
	c.mu.Unlock()
	if err := writeKubeconfig(path, c.Server, c.caPEM, token); err != nil {
		c.t.Fatalf("testbed: %v", err)
	}
	return path
}

// KubernetesService returns the default namespace's kubernetes Service,
// waiting for it until ctx ends: the API server's bootstrap controller
// creates it after the server is up, so a test that reads it at once
// may find it missing.
func (c *Cluster) KubernetesService(ctx context.Context) (*corev1.Service, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		svc, err := c.Client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
		if err == nil || !apierrors.IsNotFound(err) {
			return svc, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the kubernetes Service: %w", err)
		case <-tick.C:
		}
	}
}

// ServiceAccountToken returns a bound token (TokenRequest, valid one hour)
// of the ServiceAccount namespace/name, creating the ServiceAccount if it is
// missing. What the token may do is up to the RBAC objects the test creates.
func (c *Cluster) ServiceAccountToken(namespace, name string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if _, err := c.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		c.t.Fatalf("testbed: create serviceaccount %s/%s: %v", namespace, name, err)
	}
	expiry := int64(3600)
	tr, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("testbed: token for serviceaccount %s/%s: %v", namespace, name, err)
	}
	return tr.Status.Token
}

// StopAPIServer stops kube-apiserver (SIGTERM, as in a rolling restart) and
// returns once it has exited. etcd and the other components keep running;
// clients see refused connections until StartAPIServer.
func (c *Cluster) StopAPIServer() {
	c.t.Helper()
	c.end("StopAPIServer", "kube-apiserver", (*testkit.Process).Stop)
}

// StartAPIServer starts kube-apiserver again, on the same port, certificates
// and etcd, and waits until it is ready.
func (c *Cluster) StartAPIServer() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	c.restart("StartAPIServer", "kube-apiserver", "StopAPIServer")
	c.waitFor(ctx, "kube-apiserver /readyz after restart", func(ctx context.Context) error { return readyz(ctx, c.Client) })
}

// KillAPIServer kills kube-apiserver with SIGKILL, as the OOM killer or a
// node failure does, and returns once it is gone: no draining, no goodbye on
// open watches, which clients see cut mid-stream. StartAPIServer starts it
// again.
func (c *Cluster) KillAPIServer() {
	c.t.Helper()
	c.end("KillAPIServer", "kube-apiserver", (*testkit.Process).Kill)
}

// StopEtcd stops etcd (SIGTERM) and returns once it has exited, which takes
// several seconds: etcd drains the API server's open gRPC streams first.
// The API server keeps running, serving watches from its cache and failing
// what needs etcd, until StartEtcd.
func (c *Cluster) StopEtcd() {
	c.t.Helper()
	c.end("StopEtcd", "etcd", (*testkit.Process).Stop)
}

// StartEtcd starts etcd again, on the same ports and data dir (the cluster's
// objects survive), and waits until it is healthy and the API server, which
// reconnects by itself, is ready again.
func (c *Cluster) StartEtcd() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	c.restart("StartEtcd", "etcd", "StopEtcd")
	c.waitFor(ctx, "etcd healthy after restart", func(ctx context.Context) error { return etcdHealthy(ctx, c.ports.etcdURL()) })
	if api := c.proc("kube-apiserver"); api != nil {
		if done, _ := api.Exited(); !done {
			c.waitFor(ctx, "kube-apiserver /readyz after etcd restart", func(ctx context.Context) error { return readyz(ctx, c.Client) })
		}
	}
}

// end ends a running component with how (Stop or Kill), marked as stopped
// on purpose so that its exit is not reported as a crash; caller names the
// public method in errors.
func (c *Cluster) end(caller, name string, how func(*testkit.Process) error) {
	c.t.Helper()
	p := c.proc(name)
	if p == nil {
		c.t.Fatalf("testbed: %s: %s is not running", caller, name)
	}
	c.mu.Lock()
	c.stopped[p] = true
	c.mu.Unlock()
	if err := how(p.Process); err != nil {
		c.t.Logf("testbed: %v", err)
	}
}

// restart starts an ended component again with its arguments; stopper names
// the method that must have ended it.
func (c *Cluster) restart(caller, name, stopper string) {
	c.t.Helper()
	p := c.proc(name)
	if p == nil {
		c.t.Fatalf("testbed: %s: no %s to restart", caller, name)
	}
	if done, _ := p.Exited(); !done {
		c.t.Fatalf("testbed: %s: %s is running; call %s first", caller, name, stopper)
	}
	c.run(name, p.args, p.env)
}

// run starts a component, or fails the test. A component of the same name
// that ran before (the API server after StopAPIServer) is replaced.
func (c *Cluster) run(name string, args, env []string) *process {
	c.t.Helper()
	p := &process{name: name, path: filepath.Join(c.bin, name), args: args, env: env, logPath: c.files.logPath(name)}
	if err := p.start(); err != nil {
		c.t.Fatalf("testbed: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, old := range c.procs {
		if old.name == name {
			c.procs[i] = p
			return p
		}
	}
	c.procs = append(c.procs, p)
	return p
}

func (c *Cluster) proc(name string) *process {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// waitFor polls check until it succeeds, failing the test at ctx's deadline
// with check's last error, or as soon as a component has exited.
func (c *Cluster) waitFor(ctx context.Context, what string, check func(context.Context) error) {
	c.t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := check(callCtx)
		cancel()
		if err == nil {
			return
		}
		if dead := c.exitedEarly(); dead != "" {
			c.t.Fatalf("testbed: waiting for %s: %s", what, dead)
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("testbed: %s not reached within %v: %v", what, c.opts.StartTimeout, err)
		case <-tick.C:
		}
	}
}

// exitedEarly describes the first component that exited without being told
// to, or returns "".
func (c *Cluster) exitedEarly() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if done, err := p.Exited(); done && !c.stopped[p] {
			return fmt.Sprintf("%s exited (%v); log: %s", p.name, err, p.logPath)
		}
	}
	return ""
}

// waitAPIServer waits for the API server's self-signed certificate, then for
// /readyz, and sets up the admin client. The certificate file is read again on
// every try: it may be caught half written.
func (c *Cluster) waitAPIServer(ctx context.Context, token string) {
	c.t.Helper()
	c.waitFor(ctx, "kube-apiserver /readyz", func(ctx context.Context) error {
		bundle, err := os.ReadFile(c.files.servingCert())
		if err != nil {
			return err
		}
		caPEM, err := caCertificates(bundle)
		if err != nil {
			return err
		}
		cfg := &rest.Config{
			Host:            c.Server,
			BearerToken:     token,
			TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
			// client-go's default of 5 QPS would pace tests that create
			// many objects; the API server here serves one test.
			QPS:   1000,
			Burst: 2000,
		}
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		if err := readyz(ctx, client); err != nil {
			return err
		}
		c.caPEM, c.Config, c.Client = caPEM, cfg, client
		return nil
	})
	if err := os.WriteFile(c.files.rootCA(), c.caPEM, 0o644); err != nil {
		c.t.Fatalf("testbed: %v", err)
	}
}

// readyz asks the API server's /readyz, which passes once etcd answers and
// the post-start hooks (RBAC bootstrap roles, the default namespace's
// controller, the service IP allocators) are done.
func readyz(ctx context.Context, client kubernetes.Interface) error {
	body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(body)))
	}
	return nil
}

// etcdHealthy asks etcd's /health, which passes once the member has a leader.
func etcdHealthy(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("etcd /health: %s: %s", resp.Status, body)
	}
	return nil
}

// cleanup shows the logs of a failed test, then stops every component: kwok,
// the scheduler and the controller-manager together, then the API server,
// then etcd, so no server goes away under a client that would log about it.
func (c *Cluster) cleanup() {
	c.mu.Lock()
	procs := append([]*process(nil), c.procs...)
	c.mu.Unlock()
	if dead := c.exitedEarly(); dead != "" {
		c.t.Logf("testbed: %s", dead)
	}
	if c.t.Failed() {
		for _, p := range procs {
			c.t.Logf("testbed: last lines of %s:\n%s", p.logPath, p.tail(40))
		}
	}
	var clients, servers []*process
	for _, p := range procs {
		if p.name == "etcd" || p.name == "kube-apiserver" {
			servers = append([]*process{p}, servers...) // reverse start order
		} else {
			clients = append(clients, p)
		}
	}
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, p := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Stop()
		}()
	}
	wg.Wait()
	for _, p := range servers {
		errs = append(errs, p.Stop())
	}
	if err := errors.Join(errs...); err != nil {
		c.t.Logf("testbed: %v", err)
	}
}

// Eventually polls check until it passes or ctx ends, then fails the test
// with check's last error: the way to wait for controllers and kwok.
func Eventually(t testing.TB, ctx context.Context, what string, check func() error) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached: %v", what, err)
		case <-tick.C:
		}
	}
}
