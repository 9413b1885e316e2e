package cluster

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// The address families the test bed serves: Services get a ClusterIP from
// each range (dual-stack), kwok nodes get a pod CIDR from each.
const (
	ServiceCIDRv4 = "10.96.0.0/16"
	ServiceCIDRv6 = "fd00:10:96::/112"
)

// layout names every file a cluster keeps in its temp dir.
type layout struct {
	dir string
}

func (l layout) path(name string) string    { return filepath.Join(l.dir, name) }
func (l layout) logPath(name string) string { return filepath.Join(l.logsDir(), name+".log") }
func (l layout) etcdData() string           { return l.path("etcd-data") }
func (l layout) certDir() string            { return l.path("apiserver-certs") }
func (l layout) servingCert() string        { return filepath.Join(l.certDir(), "apiserver.crt") }
func (l layout) tokenFile() string          { return l.path("tokens.csv") }
func (l layout) saKey() string              { return l.path("service-account.key") }
func (l layout) saPub() string              { return l.path("service-account.pub") }
func (l layout) adminKubeconfig() string    { return l.path("admin.kubeconfig") }
func (l layout) schedulerConfig() string    { return l.path("kube-scheduler.yaml") }
func (l layout) kwokHome() string           { return l.path("kwok-home") }
func (l layout) logsDir() string            { return l.path("logs") }
func (l layout) rootCA() string             { return l.path("ca.crt") }

// ports are the loopback ports a cluster listens on, picked free at start.
type ports struct {
	etcdClient, etcdPeer, apiserver int
}

func (p ports) etcdURL() string      { return "http://127.0.0.1:" + strconv.Itoa(p.etcdClient) }
func (p ports) etcdPeerURL() string  { return "http://127.0.0.1:" + strconv.Itoa(p.etcdPeer) }
func (p ports) apiserverURL() string { return "https://127.0.0.1:" + strconv.Itoa(p.apiserver) }

func (p ports) String() string {
	return fmt.Sprintf("etcd %d (peer %d), kube-apiserver %d", p.etcdClient, p.etcdPeer, p.apiserver)
}

// etcdArgs: a one-member etcd on loopback whose data lives and dies with the
// test.
func etcdArgs(l layout, p ports) []string {
	return []string{
		"--name=testbed",
		"--data-dir=" + l.etcdData(),
		"--listen-client-urls=" + p.etcdURL(),
		"--advertise-client-urls=" + p.etcdURL(),
		// etcd listens for peers even as a single member, on 2380 unless told
		// otherwise: a fixed port would collide between parallel test binaries.
		"--listen-peer-urls=" + p.etcdPeerURL(),
		"--initial-advertise-peer-urls=" + p.etcdPeerURL(),
		"--initial-cluster=testbed=" + p.etcdPeerURL(),
		// Nothing here needs to survive a crash of the machine, and fsync per
		// write is most of etcd's latency on a busy 2-core disk.
		"--unsafe-no-fsync",
		"--log-level=warn",
	}
}

// apiserverArgs: the smallest kube-apiserver that behaves like a real
// cluster's for what clusterdns reads (Services, EndpointSlices, Namespaces,
// Pods) and for RBAC as a ServiceAccount sees it.
func apiserverArgs(l layout, p ports, extra []string) []string {
	args := []string{
		"--etcd-servers=" + p.etcdURL(),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.apiserver),
		// Without it the API server looks for the host's default route to
		// pick an address to advertise, and this machine may have none.
		"--advertise-address=127.0.0.1",
		// Self-signed serving certificate (and its CA) generated into the
		// cert dir on first start and reused on restart, so clients keep
		// trusting the same CA across StopAPIServer/StartAPIServer.
		"--cert-dir=" + l.certDir(),
		"--token-auth-file=" + l.tokenFile(),
		// RBAC alone: the Node authorizer serves kubelets, which kwok does
		// not need, and keeps a graph of every pod and secret.
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + l.saPub(),
		"--service-account-signing-key-file=" + l.saKey(),
		"--service-cluster-ip-range=" + ServiceCIDRv4 + "," + ServiceCIDRv6,
		// The endpoint reconciler would write 127.0.0.1 into the kubernetes
		// Service's endpoints, which validation rejects (loopback) in a loop.
		// The Service itself (10.96.0.1) is created all the same.
		"--endpoint-reconciler-type=none",
		// New nodes would carry node.kubernetes.io/not-ready:NoSchedule until
		// the node-lifecycle controller removes it, and that controller is
		// off (kwok nodes have no kubelet leases it would trust).
		"--disable-admission-plugins=TaintNodesByCondition",
		// Priority and fairness creates its configuration objects at start
		// and queues requests: slower to start, and it would throttle the
		// burst of writes of a scale test.
		"--enable-priority-and-fairness=false",
		// SIGTERM (StopAPIServer) stops the listener at once, but the HTTP
		// server then waits for its connections to go idle, up to the 60 s
		// request timeout, and open watches keep them busy. Draining the
		// watches (closed cleanly, clients re-watch and find the server gone)
		// lets it exit in about a second, like an apiserver pod rolled by a
		// kubelet rather than one killed after its grace period.
		"--shutdown-watch-termination-grace-period=1s",
		"--profiling=false",
	}
	return append(args, extra...)
}

// controllerManagerArgs: the controllers that turn Deployments into pods and
// Services into EndpointSlices, as in a real cluster.
func controllerManagerArgs(l layout) []string {
	return []string{
		"--kubeconfig=" + l.adminKubeconfig(),
		// No serving endpoint: nothing scrapes it, and it would need its own
		// free port and delegated authn/authz kubeconfigs.
		"--secure-port=0",
		"--leader-elect=false",
		// nodeipam: the harness gives kwok nodes their pod CIDRs itself.
		// nodelifecycle: kwok nodes hold no kubelet leases; the controller
		// would mark them unreachable, taint them and evict their pods.
		"--controllers=*,-nodeipam,-nodelifecycle",
		// Signs the token Secrets of ServiceAccounts (legacy tokens);
		// TokenRequest tokens are signed by the API server's key, the same one.
		"--service-account-private-key-file=" + l.saKey(),
		// The CA alone: by default the controller-manager takes its
		// kubeconfig's CA data, which is fine, but this names the file that
		// the kube-root-ca.crt ConfigMaps and the API server's
		// ClusterTrustBundle are published from.
		"--root-ca-file=" + l.rootCA(),
		// The default 20 QPS would make the EndpointSlice controller take
		// minutes over thousands of Services in a scale test.
		"--kube-api-qps=500",
		"--kube-api-burst=1000",
	}
}

func schedulerArgs(l layout) []string {
	return []string{
		"--config=" + l.schedulerConfig(),
		// As for the controller-manager: no serving endpoint.
		"--secure-port=0",
	}
}

// kwokAnnotation marks the nodes kwok fakes: it manages only those, so a test
// can still create nodes that nothing makes Ready.
const kwokAnnotation = "kwok.x-k8s.io/node"

// kwokArgs: kwok v0.8.0 reads Stages either from --config files or, with
// --enable-crds=Stage, from Stage objects in the API (which needs its CRDs
// installed first). Config files need no CRDs and no apply step, so the
// Stages copied from the kwok module are handed over as --config files.
func kwokArgs(l layout, stages []string) []string {
	return []string{
		"--kubeconfig=" + l.adminKubeconfig(),
		"--config=" + strings.Join(stages, ","),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokAnnotation + "=fake",
	}
}

// kwokEnv: kwok also loads ~/.kwok/kwok.yaml when it exists; an empty HOME
// in the temp dir keeps the machine's file out.
func kwokEnv(l layout) []string {
	return []string{"HOME=" + l.kwokHome()}
}
